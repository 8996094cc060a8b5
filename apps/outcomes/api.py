"""The outcomes report on the partner API: `/api/v1/outcomes/`, the aggregates of the token's clinics.

The same readers, filters, figures and small-group rule as the staff page (apps.outcomes.report): a
figure of fewer than 10 programs is `{"too_few": true}` with no number at all, and a small group
beside a shown total hides the next smallest too. No per-program row, no patient: a partner who
needs rows reads the records of its clinics. A clinic outside the token's is a 404.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.permissions import ActionPermission
from apps.audit.models import Action
from apps.clinics.api_base import ScopedAPIView
from apps.outcomes import audit, stats
from apps.outcomes.aggregates import CURVE_BIN, Group
from apps.outcomes.models import OUTCOME_CHOICES
from apps.outcomes.report import AGE_BANDS, ENDED, STARTED, Filters, outcome_report, reader_clinics, report_zone
from apps.patients.models import Region, Sex

ONE_DECIMAL, FOUR_DECIMALS = Decimal("0.1"), Decimal("0.0001")


class OutcomeQuery(serializers.Serializer):
    clinic = serializers.IntegerField(required=False, help_text="One of your clinics (default: all of them).")
    region = serializers.ChoiceField(choices=Region.choices, required=False)
    period = serializers.ChoiceField(
        choices=[(STARTED, "Program start"), (ENDED, "Program end")],
        default=STARTED,
        help_text="Whether `since`/`until` bound the program's start or its end (running programs have none).",
    )
    since = serializers.DateField(required=False, help_text="First day included, the clinic's local date.")
    until = serializers.DateField(required=False, help_text="Last day included, the clinic's local date.")
    status = serializers.ChoiceField(choices=OUTCOME_CHOICES, required=False, help_text="Outcome status.")
    age_band = serializers.ChoiceField(choices=AGE_BANDS, required=False, help_text="Age at the start, 5-year band.")
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": "The end of the period must not be before its start."})
        return attrs


class FigureOutput(serializers.Serializer):
    too_few = serializers.BooleanField(help_text=f"Fewer than {stats.MIN_GROUP} programs: no figure is given.")
    n = serializers.IntegerField(required=False, help_text="Programs behind the figure.")
    median = serializers.FloatField(required=False)
    q1 = serializers.FloatField(required=False, help_text="25th percentile (linear interpolation).")
    q3 = serializers.FloatField(required=False, help_text="75th percentile.")


class RateOutput(serializers.Serializer):
    too_few = serializers.BooleanField(help_text=f"Fewer than {stats.MIN_GROUP} programs: no rate is given.")
    n = serializers.IntegerField(required=False, help_text="Programs the rate is of.")
    successes = serializers.IntegerField(required=False)
    rate = serializers.FloatField(required=False, help_text="0-1.")
    ci_low = serializers.FloatField(required=False, help_text="95 % Wilson interval, low bound (0-1).")
    ci_high = serializers.FloatField(required=False, help_text="95 % Wilson interval, high bound (0-1).")


class HeadlineOutput(serializers.Serializer):
    strength_change_pct = FigureOutput(help_text="Strength-index change, latest vs baseline test, %.")
    odi_change = FigureOutput(help_text="ODI baseline - latest, points (positive is better).")
    ndi_change = FigureOutput(help_text="NDI baseline - latest, points (positive is better).")
    nrs_change = FigureOutput(help_text="Pain NRS baseline - latest, points.")
    adherence_pct = FigureOutput(help_text="Completed / prescribed sessions to date, %.")
    sessions_completed = FigureOutput()
    responders = RateOutput(help_text="A clinically important gain in the primary PROM (ODI or NDI).")
    nrs_responders = RateOutput(help_text="A clinically important fall in pain.")
    dropout = RateOutput(help_text="Lapsed or cancelled before completion, of the programs that have ended.")


class GroupOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The clinic id, or the adherence band.")
    label = serializers.CharField()
    too_few = serializers.BooleanField()
    programs = serializers.IntegerField(required=False)
    strength_change_pct = FigureOutput()
    responders = RateOutput()


class CurveOutput(serializers.Serializer):
    first_session = serializers.IntegerField(help_text="Sessions completed before the retest, from…")
    last_session = serializers.IntegerField(help_text="…to (inclusive).")
    strength_change_pct = FigureOutput()


class DropoutOutput(serializers.Serializer):
    week = serializers.IntegerField(help_text="Week of the program in which it lapsed or was cancelled (1 = first).")
    dropped = serializers.IntegerField()
    share = serializers.FloatField(help_text="Of the group's programs, 0-1.")


class ClinicRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OutcomeReportOutput(serializers.Serializer):
    clinics = ClinicRef(many=True, help_text="The clinics the figures cover.")
    too_few = serializers.BooleanField(
        help_text=f"Fewer than {stats.MIN_GROUP} programs match: every figure is too few."
    )
    programs = serializers.IntegerField(required=False, help_text="Programs matching the filters.")
    counted_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the figures were counted: null when counted for this request; for a large network "
        "reported whole (or by region), the time of its rollup, counted every 5 minutes.",
    )
    headline = HeadlineOutput()
    by_clinic = GroupOutput(many=True)
    by_adherence = GroupOutput(many=True, help_text="Sessions a week done: under 1, 1-2, 2 or more.")
    strength_curve = CurveOutput(many=True)
    dropout_by_week = DropoutOutput(many=True)


def _float(value: Decimal, places: Decimal = ONE_DECIMAL) -> float:
    return float(value.quantize(places, rounding=ROUND_HALF_UP))


def figure(value: stats.Summary | stats.TooFew) -> dict[str, Any]:
    if isinstance(value, stats.TooFew):
        return {"too_few": True}
    return {"too_few": False, "n": value.n, **{k: _float(getattr(value, k)) for k in ("median", "q1", "q3")}}


def rate(value: stats.Rate | stats.TooFew) -> dict[str, Any]:
    if isinstance(value, stats.TooFew):
        return {"too_few": True}
    bounds = {"rate": value.rate, "ci_low": value.low, "ci_high": value.high}
    return {"too_few": False, "n": value.n, "successes": value.successes} | {
        key: _float(number, FOUR_DECIMALS) for key, number in bounds.items()
    }


def _group(group: Group) -> dict[str, Any]:
    counted = {"programs": group.n} if group.shown else {}
    return {"key": str(group.key), "label": group.label, "too_few": not group.shown, **counted} | {
        "strength_change_pct": figure(group.strength),
        "responders": rate(group.responders),
    }


def report_data(report: Any) -> dict[str, Any]:
    head = report.headline
    shown = stats.shown(head.n)
    return {
        "clinics": [{"id": clinic.pk, "name": clinic.name} for clinic in report.clinics],
        "too_few": not shown,
        **({"programs": head.n} if shown else {}),
        "counted_at": report.counted_at.isoformat() if report.counted_at else None,
        "headline": {
            "strength_change_pct": figure(head.strength),
            **{f"{instrument}_change": figure(value) for instrument, value in head.prom.items()},
            "nrs_change": figure(head.nrs),
            "adherence_pct": figure(head.adherence),
            "sessions_completed": figure(head.sessions),
            "responders": rate(head.responders),
            "nrs_responders": rate(head.nrs_responders),
            "dropout": rate(head.dropout),
        },
        "by_clinic": [_group(group) for group in report.by_clinic],
        "by_adherence": [_group(group) for group in report.by_adherence],
        "strength_curve": [
            {"first_session": bin.first_session, "last_session": bin.first_session + CURVE_BIN - 1}
            | {"strength_change_pct": figure(bin.figure)}
            for bin in report.curve
        ],
        "dropout_by_week": [
            {"week": week.week, "dropped": week.dropped, "share": _float(week.share, FOUR_DECIMALS)}
            for week in report.dropout
        ],
    }


@extend_validation_errors(["invalid", "max_string_length"], field_name="clinic", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="region", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="period", methods=["get"])
@extend_validation_errors(["invalid", "datetime"], field_name="since", methods=["get"])
@extend_validation_errors(["invalid", "datetime"], field_name="until", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="status", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="age_band", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="sex", methods=["get"])
class OutcomeReportView(ScopedAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "outcomes.view_report"}

    @extend_schema(
        operation_id="outcomes_report",
        summary="Outcomes of your clinics' programs",
        description=(
            "Medians with interquartile ranges (strength-index change, ODI/NDI and pain change, adherence), "
            "responder and dropout rates with 95 % Wilson intervals and their n, by clinic, by adherence band, "
            "the strength curve by session number and dropout by week. Computed from each program's outcome "
            f"facts, kept current as sessions, tests and questionnaires are recorded. Any figure of fewer "
            f'than {stats.MIN_GROUP} programs is `{{"too_few": true}}` with no number. Filters combine; '
            "dates are local dates of the clinic. Not paginated. A clinic outside your token's is 404; "
            "filters that cannot be met (`since` after `until`, an unknown choice) are 400 on their field."
        ),
        parameters=[OutcomeQuery],
        responses={200: OutcomeReportOutput, 404: ErrorResponse404Serializer},
    )
    def get(self, request: Request) -> Response:
        query = OutcomeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        clinics = reader_clinics(request.user)
        filters = Filters(**query.validated_data)
        with transaction.atomic():  # a clinic not among the token's is the selector's 404
            report = outcome_report(request.user, filters, tz=report_zone(filters, clinics, None), clinics=clinics)
            audit.record_report(
                action=Action.READ, actor=request.user, clinics=report.clinics, path=request.get_full_path()
            )
        return Response(report_data(report))
