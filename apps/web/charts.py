"""The patient chart: every row it shows, read with a fixed number of queries, and the series it draws.

The number of queries does not depend on the length of the history (two years is about 200
sessions, 20 tests and 50 questionnaires): each kind of row is one query (test points one more),
and sessions are read as values, not model instances, because the load chart needs all of them.
The series are plain lists of numbers for `json_script`; the browser only draws them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.db.models import Count, Max
from django.utils.dateformat import format as date_format

from apps.assessments import scoring
from apps.assessments.models import Instrument, QuestionnaireResponse, StrengthTest
from apps.audit.events import events_for
from apps.audit.models import Action
from apps.clinics.models import LoadUnit
from apps.patients.models import Patient, RedFlagScreen, Region
from apps.patients.selectors import training_blocked
from apps.programs.models import OPEN_STATUSES, Flag, Phase, Program, ProposalAction, SessionStatus, TrainingSession
from apps.web.templatetags.web import DAY, every_weeks

VIEWERS_SHOWN = 20
SESSIONS_IN_LOG = 20
SESSION_FIELDS = (
    "id",
    "program_id",
    "performed_at",
    "status",
    "phase",
    "load",
    "load_unit",
    "proposed_load",
    "proposal_action",
    "proposal_reason",
    "override_reason",
    "early_reason",
    "reps",
    "time_under_load_s",
    "reached_failure",
    "pain_before",
    "pain_after",
    "adverse_event",
    "red_flag_reported",
    "supervisor__username",
    "supervisor__first_name",
    "supervisor__last_name",
)
ANGLE_STEP = {Region.LUMBAR: 12, Region.CERVICAL: 18}  # the standard angles' spacing (MACHINE_DEFAULTS)
UNIT_OF_REGION = {Region.LUMBAR: scoring.FT_LBF, Region.CERVICAL: scoring.IN_LBF}
SCORE_AXIS = {Instrument.ODI: ("ODI %", 100), Instrument.NDI: ("NDI (0-50)", 50), Instrument.PAIN_NRS: ("NRS", 10)}


@dataclass(frozen=True)
class SessionRow:
    """One line of the session log, from a `.values()` row."""

    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def unit_label(self) -> str:
        return LoadUnit(self.values["load_unit"]).label

    @property
    def action_label(self) -> str:
        action = self.values["proposal_action"]
        return ProposalAction(action).label if action else ""

    @property
    def overridden(self) -> bool:
        proposed = self.values["proposed_load"]
        return proposed is not None and proposed != self.values["load"]

    @property
    def stopped_early(self) -> bool:
        return self.values["status"] == SessionStatus.STOPPED_EARLY

    @property
    def in_maintenance(self) -> bool:
        return self.values["phase"] == Phase.MAINTENANCE

    @property
    def supervisor(self) -> str:
        name = f"{self.values['supervisor__first_name']} {self.values['supervisor__last_name']}".strip()
        return name or self.values["supervisor__username"]


@dataclass(frozen=True)
class StrengthSummary:
    region: str
    baseline: StrengthTest
    latest: StrengthTest | None  # None until a retest after the baseline
    comparison: scoring.StrengthComparison | None
    unit: str  # the machine unit of the region

    @property
    def unit_label(self) -> str:
        return scoring.UNIT_LABELS[self.unit]

    def in_unit(self, torque_nm: Decimal) -> Decimal:
        return scoring.from_newton_metres(torque_nm, self.unit).quantize(Decimal("0.1"))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Per angle: torque in N·m and in the machine unit, baseline and latest, and the change."""
        if self.comparison is None:
            points = sorted(self.baseline.curve(), reverse=True)
            return [{"angle": a, "before": nm, "before_unit": self.in_unit(nm)} for a, nm in points]
        return [
            {
                "angle": change.angle_deg,
                "before": change.before,
                "before_unit": self.in_unit(change.before),
                "after": change.after,
                "after_unit": self.in_unit(change.after),
                "change_pct": change.change_pct,
            }
            for change in sorted(self.comparison.angles, key=lambda change: change.angle_deg, reverse=True)
        ]


@dataclass
class Chart:
    patient: Patient
    programs: list[Program]
    open_flags: list[Flag]
    screens: list[RedFlagScreen]
    training_blocked: bool
    tests: list[StrengthTest]
    responses: list[QuestionnaireResponse]
    sessions: list[dict[str, Any]]
    viewers: list[dict[str, Any]]  # who read the patient's record: label, channel, last time, count
    strength: list[StrengthSummary] = field(default_factory=list)

    @property
    def open_programs(self) -> list[Program]:
        return [program for program in self.programs if program.status in OPEN_STATUSES]

    @property
    def session_log(self) -> list[SessionRow]:
        return [SessionRow(values) for values in reversed(self.sessions[-SESSIONS_IN_LOG:])]


def chart(*, patient: Patient) -> Chart:
    """Everything the chart page shows of a patient the caller got through the gate."""
    tests = (
        StrengthTest.objects.of_patient(patient)
        .select_related("machine")
        .prefetch_related("points")
        .order_by("performed_at", "created_at")
    )
    sessions = TrainingSession.objects.filter(patient=patient).order_by("performed_at", "created_at")
    # `patient_id` as well as the object: the same rows, found through the (patient, time) index.
    reads = events_for(patient).filter(patient_id=patient.pk, action=Action.READ)
    viewers = reads.values("actor_label", "channel").annotate(last_at=Max("occurred_at"), times=Count("id"))
    data = Chart(
        patient=patient,
        programs=list(Program.objects.of_patient(patient).select_related("clinic").order_by("-created_at")),
        open_flags=list(Flag.objects.of_patient(patient).open().order_by("-opened_at")),
        screens=list(RedFlagScreen.objects.filter(patient=patient).select_related("screened_by", "reviewed_by")),
        training_blocked=training_blocked(patient=patient),
        tests=list(tests),
        responses=list(QuestionnaireResponse.objects.of_patient(patient).order_by("completed_at", "created_at")),
        sessions=list(sessions.values(*SESSION_FIELDS)),
        viewers=list(viewers.order_by("-last_at")[:VIEWERS_SHOWN]),
    )
    data.strength = strength_summaries(data.tests)
    return data


# --- Strength ------------------------------------------------------------------------------------


def strength_summaries(tests: list[StrengthTest]) -> list[StrengthSummary]:
    """Per region: the baseline (first test after familiarisation) against the latest retest."""
    summaries = []
    for region in Region.values:
        measured = [test for test in tests if test.region == region and not test.is_familiarization]
        if not measured:
            continue
        baseline, latest = measured[0], (measured[-1] if len(measured) > 1 else None)
        comparison = scoring.compare_tests(baseline.curve(), latest.curve()) if latest else None
        summaries.append(StrengthSummary(region, baseline, latest, comparison, UNIT_OF_REGION[region]))
    return summaries


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _curve(test: StrengthTest) -> dict[str, Any]:
    points = sorted(test.curve())
    return {"at": _epoch_ms(test.performed_at), "points": [[angle, float(nm)] for angle, nm in points]}


def _axis_top(values: Iterable[Decimal], step: int) -> int:
    top = max(values, default=Decimal(step)) * Decimal("1.1") / step
    return int(top.to_integral_value(ROUND_CEILING)) * step


def strength_series(summary: StrengthSummary, tests: list[StrengthTest]) -> dict[str, Any]:
    shown = [summary.baseline] + ([summary.latest] if summary.latest else [])
    top = _axis_top((nm for test in shown for _, nm in test.curve()), 10)
    in_region = [test for test in tests if test.region == summary.region]
    return {
        "region": summary.region,
        "title": Region(summary.region).label,
        "unit": summary.unit_label,
        "nmPerUnit": float(scoring.NM_PER_UNIT[summary.unit]),
        "angleStep": ANGLE_STEP[summary.region],
        "yMax": top,
        "baseline": _curve(summary.baseline),
        "latest": _curve(summary.latest) if summary.latest else None,
        "index": [
            [_epoch_ms(test.performed_at), float(test.strength_index_nm_deg), test.is_familiarization]
            for test in in_region
        ],
    }


# --- Scores --------------------------------------------------------------------------------------


def mcid_threshold(instrument: str, baseline: Decimal) -> Decimal | None:
    """The score at or below which the change from `baseline` is clinically important.

    Either criterion of `scoring.improvement` is enough (points, or percent of baseline), so the
    line sits at the smaller of the two drops. None when no score can reach it (a baseline of 0,
    or an NDI baseline under 5 raw points).
    """
    if baseline <= 0:
        return None
    points, percent = scoring.MCID[instrument]
    drop = points if percent is None else min(points, baseline * percent / 100)
    return baseline - drop if baseline >= drop else None


def score_series(responses: list[QuestionnaireResponse]) -> list[dict[str, Any]]:
    series = []
    for instrument in Instrument.values:
        answered = [response for response in responses if response.instrument == instrument]
        if not answered:
            continue
        label, top = SCORE_AXIS[instrument]
        threshold = mcid_threshold(instrument, answered[0].score)
        series.append(
            {
                "instrument": instrument,
                "title": Instrument(instrument).label,
                "axis": label,
                "yMax": top,
                "baseline": float(answered[0].score),
                "threshold": None if threshold is None else float(threshold),
                "points": [[_epoch_ms(response.completed_at), float(response.score)] for response in answered],
            }
        )
    return series


# --- Loads ---------------------------------------------------------------------------------------


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _next_proposal(program: Program) -> list[Any] | None:
    """The load proposed for the next session, at the time it falls due (open programs only)."""
    if program.status not in OPEN_STATUSES or program.proposed_load is None or program.next_due_at is None:
        return None
    return [_epoch_ms(program.next_due_at), float(program.proposed_load)]


def _maintenance(program: Program) -> dict[str, Any] | None:
    """Where the maintenance phase began on the time axis, and its label (None for a training program)."""
    if program.phase != Phase.MAINTENANCE or program.maintenance_started_at is None:
        return None
    started = program.maintenance_started_at
    since = date_format(started.astimezone(program.clinic.tzinfo), DAY)
    return {"from": _epoch_ms(started), "since": since, "every": every_weeks(program.maintenance_interval_weeks)}


def _load_point(row: dict[str, Any]) -> list[Any]:
    return [
        _epoch_ms(row["performed_at"]),
        _number(row["load"]),
        _number(row["proposed_load"]),
        row["status"] == SessionStatus.STOPPED_EARLY,
        row["phase"] == Phase.MAINTENANCE,
    ]


def load_series(programs: list[Program], sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per program, oldest first: [time, load, proposed load, stopped early, in maintenance] of every session,
    and where its maintenance phase began."""
    series = []
    for program in sorted(programs, key=lambda p: p.created_at):
        rows = [row for row in sessions if row["program_id"] == program.pk]
        if not rows:
            continue
        series.append(
            {
                "title": f"{program.get_region_display()} program ({program.get_status_display().lower()})",
                "unit": program.get_load_unit_display(),
                "points": [_load_point(row) for row in rows],
                "next": _next_proposal(program),
                "maintenance": _maintenance(program),
            }
        )
    return series


def chart_series(data: Chart) -> dict[str, Any]:
    """What `static/web/charts.js` draws, passed through `json_script`."""
    return {
        "timeZone": data.patient.clinic.timezone,
        "strength": [strength_series(summary, data.tests) for summary in data.strength],
        "scores": score_series(data.responses),
        "loads": load_series(data.programs, data.sessions),
    }
