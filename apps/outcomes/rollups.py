"""A network's whole outcomes report, counted ahead in the background.

An organization administrator's report counts every facts row of every clinic: seconds at a million
programs, however the query is written. The rows of that count (`aggregates.grouped_rows`: the cells'
counts and the figures' value counts) add up across regions, so they are kept per organization and
region, counted again every few minutes by a beat task (`refresh_all`), and a report that covers
every clinic of its organizations, filtered by no more than the region, sums those: a few thousand
rows instead of a million. Such a report says when its figures were counted (`Counted.as_of`).

Only organizations with at least `settings.OUTCOMES_ROLLUP_MIN_PROGRAMS` programs are counted ahead:
below it a live count is quick and exact to the moment. A rollup older than
`settings.OUTCOMES_ROLLUP_MAX_AGE`, or counted before a clinic joined the organization, is not used.
Narrower reports (a clinic of several, a period, a status, an age band, a sex) count the facts live.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum

from apps.clinics.models import Clinic, Organization
from apps.outcomes import aggregates
from apps.outcomes.aggregates import CELL_COUNTS, COLUMNS, CurveBin, Totals
from apps.outcomes.models import OutcomeCurveRollup, OutcomeFact, OutcomeRollup, OutcomeRollupState
from apps.patients.models import Region

COUNTS = tuple(name for name, _ in CELL_COUNTS)


@dataclass(frozen=True)
class Counted:
    totals: Totals
    curve: list[CurveBin]
    as_of: datetime  # the oldest of the rollups summed


def min_programs() -> int:
    return settings.OUTCOMES_ROLLUP_MIN_PROGRAMS


def max_age() -> timedelta:
    return timedelta(seconds=settings.OUTCOMES_ROLLUP_MAX_AGE)


# --- Counting ahead ------------------------------------------------------------------------------------


def _rollup_rows(organization_id: int, region: str, rows: Iterable[tuple]) -> list[OutcomeRollup]:
    made = []
    for row in rows:
        columns = dict(zip(COLUMNS, row[1 : 1 + len(COLUMNS)], strict=True))
        for name in ("strength_change_pct", "prom_change", "nrs_change", "adherence_pct"):
            columns[name] = None if columns[name] is None else aggregates.to_decimal(columns[name])
        counts = {name: int(value or 0) for name, value in zip(COUNTS, row[1 + len(COLUMNS) :], strict=True)}
        made.append(OutcomeRollup(organization_id=organization_id, region=region, grouping=row[0], **columns, **counts))
    return made


def refresh(organization_id: int, *, now: datetime) -> OutcomeRollupState | None:
    """Count the organization's facts again, per region, in one transaction (readers keep the previous
    rollup until it commits). None when another refresh of it holds the organization: it does the work."""
    started = time.perf_counter()
    with transaction.atomic():
        # FOR NO KEY UPDATE: refreshes of one organization queue, writers of its patients do not.
        held = Organization.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=organization_id)
        if not held.exists():
            return None
        clinic_ids = sorted(Clinic.objects.filter(organization_id=organization_id).values_list("pk", flat=True))
        OutcomeRollup.objects.filter(organization_id=organization_id).delete()
        OutcomeCurveRollup.objects.filter(organization_id=organization_id).delete()
        programs = 0
        for region in Region.values:
            facts = OutcomeFact._base_manager.filter(clinic_id__in=clinic_ids, region=region)
            rows = _rollup_rows(organization_id, region, aggregates.grouped_rows(facts))
            OutcomeRollup.objects.bulk_create(rows, batch_size=2_000)
            programs += sum(row.n for row in rows if row.grouping == aggregates.CELL_MASK)
            OutcomeCurveRollup.objects.bulk_create(
                (
                    OutcomeCurveRollup(
                        organization_id=organization_id, region=region, bin=number, change_pct=change, n=n
                    )
                    for number, change, n in aggregates.curve_rows(facts)
                ),
                batch_size=2_000,
            )
        state, _ = OutcomeRollupState.objects.update_or_create(
            organization_id=organization_id,
            defaults={
                "refreshed_at": now,
                "clinic_ids": clinic_ids,
                "programs": programs,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
    return state


def refresh_all(*, now: datetime) -> dict[int, int]:
    """Count ahead every organization large enough, and drop the rollups of the others: {id: programs}."""
    sizes = dict(
        OutcomeFact._base_manager.order_by()
        .values_list("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
    large = {organization_id for organization_id, n in sizes.items() if n >= min_programs()}
    small = OutcomeRollupState.objects.exclude(organization_id__in=large).values_list("organization_id", flat=True)
    with transaction.atomic():
        for model in (OutcomeRollup, OutcomeCurveRollup, OutcomeRollupState):
            model.objects.filter(organization_id__in=list(small)).delete()
    done = {}
    for organization_id in sorted(large):
        if (state := refresh(organization_id, now=now)) is not None:
            done[organization_id] = state.programs
    return done


# --- Reading ---------------------------------------------------------------------------------------------


def counted(clinics: list[Clinic], region: str | None, *, now: datetime) -> Counted | None:
    """The report's counts for these clinics from the rollups, when they are every clinic of
    organizations counted ahead, recently enough; otherwise None (count live)."""
    wanted: dict[int, set[int]] = {}
    for clinic in clinics:
        wanted.setdefault(clinic.organization_id, set()).add(clinic.pk)
    states = list(OutcomeRollupState.objects.filter(organization_id__in=wanted))
    if len(states) != len(wanted) or sum(state.programs for state in states) < min_programs():
        return None
    if any(set(state.clinic_ids) != wanted[state.organization_id] for state in states):
        return None
    as_of = min(state.refreshed_at for state in states)
    if as_of < now - max_age():
        return None
    rows = OutcomeRollup.objects.filter(organization_id__in=wanted)
    curve = OutcomeCurveRollup.objects.filter(organization_id__in=wanted)
    if region is not None:
        rows, curve = rows.filter(region=region), curve.filter(region=region)
    summed = rows.values_list("grouping", *COLUMNS).annotate(**{f"{name}_sum": Sum(name) for name in COUNTS})
    bins = curve.values_list("bin", "change_pct").annotate(total=Sum("n"))
    return Counted(Totals(list(summed.order_by())), aggregates.curve_bins(bins.order_by()), as_of)
