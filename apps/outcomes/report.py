"""The outcomes report: who may read it, its filters, and its figures aggregated from the facts.

Clinic admins and physicians read the report of their clinics, organization admins of every clinic
of their organization, a partner token of its partner's clinics; everyone else has none, and a
clinic outside the reader's is a 404 (`report_facts`). Every figure comes from `OutcomeFact` rows
(apps.outcomes.aggregates): medians with quartiles, responder rates with their 95 % Wilson
interval and n, and a group of fewer than `stats.MIN_GROUP` programs shows "too few" instead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from apps.clinics.access import ORGANIZATION_ADMIN, clinic_ids_with_role, restrict, visible_clinic_ids
from apps.clinics.models import Clinic, Role
from apps.outcomes import aggregates, rollups, rules, stats
from apps.outcomes.aggregates import CurveBin, DropoutWeek, Group, Headline, ScatterPoint
from apps.outcomes.models import OutcomeFact
from apps.patients.models import Region, Sex

READER_ROLES = frozenset({Role.CLINIC_ADMIN, Role.PHYSICIAN, ORGANIZATION_ADMIN})
STARTED, ENDED = "start", "end"
PERIODS = {STARTED: "started_at", ENDED: "ended_at"}
AGE_BANDS = tuple(stats.age_band(age) for age in range(0, stats.TOP_AGE_BAND + 1, stats.AGE_BAND_YEARS))


def reader_clinic_ids(user: Any) -> frozenset[int] | None:
    """The clinics whose outcomes this user or token may read (`None`: all of them, a superuser)."""
    if getattr(user, "is_partner", False):
        return visible_clinic_ids(user)
    return clinic_ids_with_role(user, READER_ROLES)


def may_read_outcomes(user: Any) -> bool:
    clinic_ids = reader_clinic_ids(user)
    return clinic_ids is None or bool(clinic_ids)


def reader_clinics(user: Any) -> list[Clinic]:
    return list(restrict(Clinic.objects.select_related("organization"), reader_clinic_ids(user), "id"))


@dataclass(frozen=True)
class Filters:
    """What the report is narrowed to; every field None (the default) is everything the reader sees.

    `since` and `until` are local dates, both included, of the program's start (`period="start"`)
    or end (`period="end"`: programs still running have none and are left out).
    """

    clinic: int | None = None
    region: str | None = None
    period: str = STARTED
    since: date | None = None
    until: date | None = None
    status: str | None = None
    age_band: str | None = None
    sex: str | None = None

    def __post_init__(self) -> None:
        choices = {
            "region": Region.values,
            "period": tuple(PERIODS),
            "status": rules.OUTCOME_STATUSES,
            "age_band": AGE_BANDS,
            "sex": Sex.values,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until.")

    def as_query(self) -> dict[str, str]:
        """The filters as query-string values (for links to exports and the API), the defaults left out."""
        query = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None and value != field.default:
                query[field.name] = value.isoformat() if isinstance(value, date) else str(value)
        return query


@dataclass(frozen=True)
class Report:
    filters: Filters
    clinics: list[Clinic]  # the clinics the report covers (the reader's, or the one filtered)
    headline: Headline
    by_clinic: list[Group]  # label: the clinic's name
    by_adherence: list[Group]  # label: the band, under 1, 1-2 or 2+ sessions a week
    curve: list[CurveBin]
    dropout: list[DropoutWeek]
    scatter: list[ScatterPoint]  # empty when the group is too small to show
    counted_at: datetime | None = None  # when the figures were counted ahead (rollups); None: counted now


def report_zone(filters: Filters, clinics: list[Clinic], working: Clinic | None) -> tzinfo:
    """The zone the filters' dates are local to: the filtered clinic's, else the working clinic's,
    else the first of the reader's clinics' (UTC when they have none)."""
    chosen = next((clinic for clinic in clinics if clinic.pk == filters.clinic), None)
    clinic = chosen or working or (clinics[0] if clinics else None)
    return clinic.tzinfo if clinic is not None else UTC


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def report_facts(
    user: Any, filters: Filters, *, tz: tzinfo, clinics: list[Clinic] | None = None
) -> tuple[QuerySet[OutcomeFact], list[Clinic]]:
    """The facts the reader may see, narrowed by the filters, and the clinics they cover (`clinics`:
    the reader's, when the caller has read them already).

    404 when the reader may read no outcomes at all, or names a clinic outside theirs.
    """
    clinics = reader_clinics(user) if clinics is None else clinics
    if not clinics:
        raise Http404("No outcomes to report.")
    if filters.clinic is not None:
        clinics = [clinic for clinic in clinics if clinic.pk == filters.clinic]
        if not clinics:
            raise Http404("No such clinic.")
    # The facts' own clinic column, not the patient join of the scoped manager: one index range.
    facts = OutcomeFact._base_manager.filter(clinic_id__in=[clinic.pk for clinic in clinics])
    narrowing = {name: getattr(filters, name) for name in ("region", "age_band", "sex")}
    facts = facts.filter(**{name: value for name, value in narrowing.items() if value is not None})
    if filters.status is not None:
        facts = facts.filter(outcome_status=filters.status)
    column = PERIODS[filters.period]
    if filters.since is not None:
        facts = facts.filter(**{f"{column}__gte": _local_midnight(filters.since, tz)})
    if filters.until is not None:
        facts = facts.filter(**{f"{column}__lt": _local_midnight(filters.until + timedelta(days=1), tz)})
    if filters.period == ENDED:
        facts = facts.filter(ended_at__isnull=False)
    return facts, clinics


def _counted_ahead(filters: Filters) -> bool:
    """Whether a report with these filters can be summed from the organizations' rollups: no more than
    the region (and a clinic, which the rollup serves only when it is its organization's only one)."""
    narrowed = (filters.since, filters.until, filters.status, filters.age_band, filters.sex)
    return filters.period == STARTED and all(value is None for value in narrowed)


def outcome_report(
    user: Any, filters: Filters, *, tz: tzinfo, now: datetime | None = None, clinics: list[Clinic] | None = None
) -> Report:
    """The report's figures for the reader, in a fixed few queries whatever their number: its clinics
    (unless given, as `report_facts`), whether a rollup counts them ahead, then three over the facts,
    or the rollups' sums, their curve's and the scatter."""
    facts, clinics = report_facts(user, filters, tz=tz, clinics=clinics)
    names = {clinic.pk: clinic.name for clinic in clinics}
    ahead = rollups.counted(clinics, filters.region, now=now or timezone.now()) if _counted_ahead(filters) else None
    totals = ahead.totals if ahead else aggregates.grouped(facts)
    headline = totals.headline()
    return Report(
        filters=filters,
        clinics=clinics,
        headline=headline,
        by_clinic=aggregates.hide_small([totals.group(("clinic", pk), name) for pk, name in names.items()]),
        by_adherence=aggregates.hide_small(
            [totals.group(("band", band), label) for band, label in aggregates.BAND_LABELS.items()]
        ),
        curve=ahead.curve if ahead else aggregates.curve(facts),
        dropout=totals.dropout(),
        scatter=aggregates.scatter(facts, totals.paired) if stats.shown(headline.n) else [],
        counted_at=ahead.as_of if ahead else None,
    )
