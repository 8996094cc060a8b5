"""One program's outcome, from its records (DOMAIN.md "Outcomes"): pure functions over plain values.

No ORM, no clock: `apps.outcomes.facts` feeds them a program's rows and the time, and stores the
result as the program's facts row. The definitions:

- strength change: the strength index of the latest test against the program's baseline test,
  over the angles both share (%), and the same at every retest, by the sessions completed before it;
- PROM change: baseline - latest (positive is better) of ODI (lumbar) or NDI (cervical), the
  program's primary PROM, and of pain NRS, each with whether it is clinically important; a
  responder is a clinically important improvement of the primary PROM;
- adherence: completed sessions / prescribed sessions to date (sessions a week x weeks since the
  start, capped at the plan; at least the first session, due at the start), as %;
- dropout: the program lapsed or was cancelled before completion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from apps.assessments import scoring
from apps.assessments.scoring import Improvement

IN_PROGRESS, COMPLETED, DISCHARGED, DROPPED_OUT = "in_progress", "completed", "discharged", "dropped_out"
OUTCOME_STATUSES = (IN_PROGRESS, COMPLETED, DISCHARGED, DROPPED_OUT)
_OUTCOME_OF = {
    "active": IN_PROGRESS,
    "on_hold": IN_PROGRESS,
    "completed": COMPLETED,
    "discharged": DISCHARGED,
    "lapsed": DROPPED_OUT,
    "cancelled": DROPPED_OUT,
}
PRIMARY_PROM = {"lumbar": scoring.ODI, "cervical": scoring.NDI}
WEEK = timedelta(days=7)
ONE_DECIMAL = Decimal("0.1")


class OutcomeArgumentError(scoring.InvalidScore):
    """A program's inputs that cannot make an outcome (a program never started, an unknown status)."""


@dataclass(frozen=True)
class Test:
    performed_at: datetime
    points: Sequence[tuple[object, object]]  # (angle_deg, N·m)
    sessions_before: int  # completed sessions of the program performed before it


@dataclass(frozen=True)
class Response:
    completed_at: datetime
    score: Decimal


@dataclass(frozen=True)
class ProgramRecord:
    """What the facts are computed from: the program row's values and its records, oldest first."""

    status: str
    region: str
    started_at: datetime
    ended_at: datetime | None  # completed, discharged or cancelled
    lapse_at: datetime | None  # when a lapsed program lapsed
    last_completed_at: datetime | None
    sessions_per_week: int
    planned_weeks: int
    completed_sessions: int
    baseline: Test | None
    retests: Sequence[Test]  # later tests than the baseline, not familiarisation, up to the end
    prom: Sequence[Response]  # the primary PROM's responses in the program's window
    nrs: Sequence[Response]


@dataclass(frozen=True)
class CurvePoint:
    session_number: int  # completed sessions before the retest
    change_pct: Decimal | None


@dataclass(frozen=True)
class Outcome:
    outcome_status: str
    strength_baseline: Decimal | None
    strength_latest: Decimal | None
    strength_change_pct: Decimal | None
    curve: tuple[CurvePoint, ...]
    prom_instrument: str
    prom_baseline: Decimal | None
    prom_latest: Decimal | None
    prom_change: Decimal | None
    prom_important: bool | None
    nrs_baseline: Decimal | None
    nrs_latest: Decimal | None
    nrs_change: Decimal | None
    nrs_important: bool | None
    sessions_completed: int
    sessions_prescribed: int
    adherence_pct: Decimal
    weeks_in_program: Decimal
    sessions_per_week_done: Decimal
    dropout_week: int | None

    @property
    def responder(self) -> bool | None:
        return self.prom_important


def outcome_status(status: str) -> str:
    try:
        return _OUTCOME_OF[status]
    except (KeyError, TypeError):
        raise OutcomeArgumentError(f"A program {status!r} has no outcome: only started programs do.") from None


def program_end(record: ProgramRecord, now: datetime) -> datetime:
    """Where the program's time stops: its end, the lapse, or now while it runs."""
    if record.ended_at is not None:
        return record.ended_at
    if record.status == "lapsed" and record.lapse_at is not None:
        return min(record.lapse_at, now)
    return now


def weeks_between(start: datetime, end: datetime) -> Decimal:
    """Whole and part weeks from `start` to `end` (0 when `end` is not later), to the second."""
    seconds = max(Decimal(0), Decimal((end - start).total_seconds()))
    return seconds / Decimal(WEEK.total_seconds())


def prescribed_to_date(sessions_per_week: int, planned_weeks: int, weeks: Decimal) -> int:
    """Sessions a week x weeks since the start, floored, capped at the plan, at least the first session."""
    due = (Decimal(sessions_per_week) * weeks).to_integral_value(ROUND_FLOOR)
    return max(1, min(int(due), sessions_per_week * planned_weeks))


def adherence_pct(completed: int, prescribed: int) -> Decimal:
    if prescribed < 1:
        raise OutcomeArgumentError(f"prescribed sessions must be at least 1; got {prescribed}.")
    return (Decimal(completed) * 100 / prescribed).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def _change(
    instrument: str, responses: Sequence[Response]
) -> tuple[Decimal | None, Decimal | None, Decimal | None, bool | None]:
    if not responses:
        return None, None, None, None
    first, last = responses[0], responses[-1]
    if len(responses) < 2:
        return first.score, None, None, None
    found: Improvement = scoring.improvement(instrument, first.score, last.score)
    return first.score, last.score, found.change, found.important


def _strength(record: ProgramRecord) -> tuple[Decimal | None, Decimal | None, Decimal | None, tuple[CurvePoint, ...]]:
    if record.baseline is None:
        return None, None, None, ()
    base = record.baseline.points
    if not record.retests:
        return scoring.strength_index(base), None, None, ()
    curve = []
    for test in record.retests:
        compared = scoring.compare_tests(base, test.points)
        curve.append(CurvePoint(test.sessions_before, compared.index_change_pct))
    latest = scoring.compare_tests(base, record.retests[-1].points)
    return latest.index_before, latest.index_after, latest.index_change_pct, tuple(curve)


def dropout_week(record: ProgramRecord) -> int | None:
    """The program week (1 = the first) of the last session a dropped-out patient came to."""
    if outcome_status(record.status) != DROPPED_OUT:
        return None
    last = record.last_completed_at or record.started_at
    return int(weeks_between(record.started_at, last).to_integral_value(ROUND_FLOOR)) + 1


@dataclass(frozen=True)
class Attendance:
    """The figures of the program row alone: what a session moves, without reading a test or questionnaire."""

    outcome_status: str
    sessions_completed: int
    sessions_prescribed: int
    adherence_pct: Decimal
    weeks_in_program: Decimal
    sessions_per_week_done: Decimal
    dropout_week: int | None


def attendance(record: ProgramRecord, now: datetime) -> Attendance:
    """Status, sessions, adherence and weeks as of `now` (only `record`'s program-row values are read)."""
    status = outcome_status(record.status)
    weeks = weeks_between(record.started_at, program_end(record, now))
    prescribed = prescribed_to_date(record.sessions_per_week, record.planned_weeks, weeks)
    return Attendance(
        outcome_status=status,
        sessions_completed=record.completed_sessions,
        sessions_prescribed=prescribed,
        adherence_pct=adherence_pct(record.completed_sessions, prescribed),
        weeks_in_program=weeks.quantize(ONE_DECIMAL, ROUND_FLOOR),
        sessions_per_week_done=(Decimal(record.completed_sessions) / max(weeks, Decimal(1))).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        ),
        dropout_week=dropout_week(record),
    )


def program_outcome(record: ProgramRecord, now: datetime) -> Outcome:
    """The program's outcome as of `now` (only the time-dependent figures of a running program move with it)."""
    attended = attendance(record, now)
    if record.region not in PRIMARY_PROM:
        raise OutcomeArgumentError(f"Unknown region {record.region!r}: use lumbar or cervical.")
    instrument = PRIMARY_PROM[record.region]
    strength_before, strength_after, strength_pct, curve = _strength(record)
    prom = _change(instrument, record.prom)
    nrs = _change(scoring.PAIN_NRS, record.nrs)
    return Outcome(
        strength_baseline=strength_before,
        strength_latest=strength_after,
        strength_change_pct=strength_pct,
        curve=curve,
        prom_instrument=instrument,
        prom_baseline=prom[0],
        prom_latest=prom[1],
        prom_change=prom[2],
        prom_important=prom[3],
        nrs_baseline=nrs[0],
        nrs_latest=nrs[1],
        nrs_change=nrs[2],
        nrs_important=nrs[3],
        **asdict(attended),
    )
