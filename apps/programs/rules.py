"""Training load, progression and scheduling rules, as pure functions over plain values.

Loads are `decimal.Decimal` in the machine's unit (see apps.assessments.scoring for the number policy);
a proposed load is always a multiple of the machine increment inside the machine's limits. Datetimes
must be timezone-aware, the caller passes `now`, and every datetime returned is in UTC.

Time arithmetic (DOMAIN.md "Scheduling"): day-based intervals are wall-clock arithmetic in the clinic's
zone, so a due time keeps its local hour across a DST change; the 48 h minimum rest is elapsed time.
A local time that does not exist (spring-forward gap) moves forward by the gap's length, and an
ambiguous one (fall-back) is its first occurrence: that is what `fold=0` means in PEP 495.

Rules and thresholds: DOMAIN.md and research §9.3-9.7.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from apps.assessments.scoring import N_M, as_decimal, convert_torque, fmt, pain_rating

# Loads


def _increment(increment: object) -> Decimal:
    step = as_decimal(increment, "increment")
    if step <= 0:
        raise ValueError(f"The load increment must be positive; got {fmt(step)}.")
    return step


def _to_increment(load: object, increment: object, rounding: str) -> Decimal:
    step = _increment(increment)
    steps = (as_decimal(load, "load") / step).to_integral_value(rounding)
    return max(steps, Decimal(0)) * step


def round_up_to_increment(load: object, increment: object) -> Decimal:
    return _to_increment(load, increment, ROUND_CEILING)


def round_down_to_increment(load: object, increment: object) -> Decimal:
    return _to_increment(load, increment, ROUND_FLOOR)


def round_to_nearest_increment(load: object, increment: object) -> Decimal:
    return _to_increment(load, increment, ROUND_HALF_UP)


def load_limits(increment: object, min_load: object, max_load: object) -> tuple[Decimal, Decimal]:
    """The lowest and highest multiples of the increment inside [min_load, max_load] (and ≥ 0)."""
    lowest = round_up_to_increment(max(as_decimal(min_load, "min_load"), Decimal(0)), increment)
    highest = round_down_to_increment(max_load, increment)
    if lowest > as_decimal(max_load, "max_load"):
        raise ValueError(f"No multiple of {fmt(_increment(increment))} lies between {min_load} and {max_load}.")
    return lowest, highest


def clamp_load(load: object, increment: object, min_load: object, max_load: object) -> Decimal:
    lowest, highest = load_limits(increment, min_load, max_load)
    return min(max(as_decimal(load, "load"), lowest), highest)


# Start load (§9.3)

START_FRACTION = Decimal("0.5")
OVERRIDE_BELOW = Decimal("0.4")
OVERRIDE_ABOVE = Decimal("0.8")


def start_load(
    peak_torque_nm: object, machine_unit: str, increment: object, fraction: object = START_FRACTION
) -> Decimal:
    """fraction x peak torque in the trained ROM, in the machine unit, rounded DOWN to the increment.

    Down, like every other de-load here: a first dynamic exposure never exceeds the prescribed fraction.
    Clamp to the machine's limits with `clamp_load`.
    """
    share = as_decimal(fraction, "fraction")
    if not 0 < share <= 1:
        raise ValueError(f"The start-load fraction must be in (0, 1]; got {fmt(share)}.")
    return round_down_to_increment(convert_torque(peak_torque_nm, N_M, machine_unit) * share, increment)


def start_load_needs_override(load: object, peak_torque_nm: object, unit: str) -> bool:
    """True outside 40-80 % of the peak (inclusive edges), or when there is no peak to compare with."""
    peak = as_decimal(peak_torque_nm, "peak torque")
    if peak <= 0:
        return True
    return not OVERRIDE_BELOW <= convert_torque(load, unit, N_M) / peak <= OVERRIDE_ABOVE


# Next-load proposal (§9.4, §9.6)

INCREASE, HOLD, DECREASE = "increase", "hold", "decrease"
PAIN_HOLD, PAIN_REDUCE, RED_FLAG_STOP = "pain_hold", "pain_reduce", "red_flag_stop"
COMPLETED, STOPPED_EARLY = "completed", "stopped_early"
PAIN_RISE = 2  # the NRS MCID [S45]
PAIN_RED_ZONE = 7
PAIN_REDUCE_FACTOR = Decimal("0.90")
DECREASE_FACTOR = Decimal("0.95")


@dataclass(frozen=True)
class SessionResult:
    reps: int
    time_under_load_s: int
    reached_failure: bool
    pain_before: int
    pain_after: int
    red_flag: bool = False
    status: str = COMPLETED


@dataclass(frozen=True)
class PreviousSession:
    """What the rules need of the previous completed session; store the flags from `is_pain_hold` etc."""

    pain_before: int | None
    pain_hold: bool = False
    below_minimum: bool = False


@dataclass(frozen=True)
class Proposal:
    load: Decimal
    action: str
    reason: str


def _check_session(session: SessionResult) -> None:
    if session.status not in (COMPLETED, STOPPED_EARLY):
        raise ValueError(f"Unknown session status {session.status!r}: use completed or stopped_early.")
    if not 0 <= session.reps <= 50 or not 0 <= session.time_under_load_s <= 300:
        raise ValueError("Reps must be 0-50 and time under load 0-300 s.")
    pain_rating(session.pain_before, "Pain before")
    pain_rating(session.pain_after, "Pain after")


def pain_hold_reasons(session: SessionResult, previous_pain_before: int | None) -> list[str]:
    reasons = []
    if session.pain_after - session.pain_before >= PAIN_RISE:
        reasons.append(f"pain rose from {session.pain_before} to {session.pain_after} during the session")
    if previous_pain_before is not None and session.pain_before >= previous_pain_before + PAIN_RISE:
        reasons.append(f"pain before {session.pain_before} >= last visit's {previous_pain_before} + {PAIN_RISE}")
    return reasons


def is_pain_hold(session: SessionResult, previous: PreviousSession | None) -> bool:
    return bool(pain_hold_reasons(session, previous.pain_before if previous else None))


def below_minimum_reasons(session: SessionResult, rep_range: tuple[int, int], tul_window: tuple[int, int]) -> list[str]:
    """Why a completed set fell short; a set stopped early is not judged (it says nothing about capacity)."""
    if session.status == STOPPED_EARLY:
        return []
    reasons = [f"reps {session.reps} < {rep_range[0]}"] if session.reps < rep_range[0] else []
    if session.time_under_load_s < tul_window[0]:
        reasons.append(f"time under load {session.time_under_load_s} s < {tul_window[0]} s")
    return reasons


def is_below_minimum(session: SessionResult, rep_range: tuple[int, int], tul_window: tuple[int, int]) -> bool:
    return bool(below_minimum_reasons(session, rep_range, tul_window))


def _increase_reasons(session: SessionResult, rep_range: tuple[int, int], tul_window: tuple[int, int]) -> list[str]:
    if not session.reached_failure:
        return []
    reasons = [f"reps {session.reps} > {rep_range[1]}"] if session.reps > rep_range[1] else []
    if session.time_under_load_s > tul_window[1]:
        reasons.append(f"time under load {session.time_under_load_s} s > {tul_window[1]} s")
    return reasons


@dataclass(frozen=True)
class _Limits:
    current: Decimal
    increment: Decimal
    lowest: Decimal
    highest: Decimal

    def propose(self, raw: Decimal, action: str, reason: str) -> Proposal:
        load = min(max(raw, self.lowest), self.highest)
        if load == raw:
            return Proposal(load, action, reason)
        limit = "maximum" if raw > self.highest else "minimum"
        if (action == INCREASE and load <= self.current) or (action == DECREASE and load >= self.current):
            return Proposal(load, HOLD, f"{reason}, but {fmt(load)} is the machine {limit}: hold")
        return Proposal(load, action, f"{reason}, limited to the machine {limit} {fmt(load)}")

    def hold(self, action: str, reason: str) -> Proposal:
        return self.propose(round_down_to_increment(self.current, self.increment), action, reason)

    def scaled_down(self, factor: Decimal, action: str, reason: str) -> Proposal:
        return self.propose(round_down_to_increment(self.current * factor, self.increment), action, reason)


def _pain_rule(session: SessionResult, previous: PreviousSession | None, limits: _Limits) -> Proposal | None:
    holds = pain_hold_reasons(session, previous.pain_before if previous else None)
    worst = max(session.pain_before, session.pain_after)
    reduce = [f"pain {worst} >= {PAIN_RED_ZONE}"] if worst >= PAIN_RED_ZONE else []
    if holds and previous and previous.pain_hold:
        reduce.append(f"pain hold on 2 consecutive sessions ({'; '.join(holds)})")
    if reduce:
        return limits.scaled_down(PAIN_REDUCE_FACTOR, PAIN_REDUCE, f"{'; '.join(reduce)}: -10 %, clinician review")
    if holds:
        return limits.hold(PAIN_HOLD, f"{'; '.join(holds)}: hold load and ROM")
    return None


def propose_next_load(
    *,
    current_load: object,
    increment: object,
    min_load: object,
    max_load: object,
    session: SessionResult,
    previous: PreviousSession | None = None,
    rep_range: tuple[int, int] = (8, 12),
    tul_window: tuple[int, int] = (45, 150),
    step_pct: object = 5,
) -> Proposal:
    """The next load after a session, by the first rule that applies (DOMAIN.md "Initial load ...").

    Order: red flag, pain (hold / reduce), stopped early (hold), increase, below the minimum (hold, then
    decrease the second time running), reps in range (hold), reps above the range without failure (hold).
    """
    step = as_decimal(step_pct, "step %")
    if not 2 <= step <= 10 or not 0 <= rep_range[0] <= rep_range[1] or not 0 <= tul_window[0] <= tul_window[1]:
        raise ValueError("Step must be 2-10 %, and the rep range and time-under-load window min <= max.")
    _check_session(session)
    inc = _increment(increment)
    current = as_decimal(current_load, "current load")
    limits = _Limits(current, inc, *load_limits(inc, min_load, max_load))
    if session.red_flag:
        return limits.hold(RED_FLAG_STOP, "red flag reported: stop; no further sessions until a physician review")
    pain = _pain_rule(session, previous, limits)
    if pain:
        return pain
    if session.status == STOPPED_EARLY:
        return limits.hold(HOLD, "session stopped early: hold")
    if increase := _increase_reasons(session, rep_range, tul_window):
        raw = max(round_up_to_increment(current * (1 + step / 100), inc), round_down_to_increment(current, inc) + inc)
        return limits.propose(raw, INCREASE, f"{' and '.join(increase)} at failure: +{fmt(step)} %")
    if below := " and ".join(below_minimum_reasons(session, rep_range, tul_window)):
        if previous and previous.below_minimum:
            return limits.scaled_down(DECREASE_FACTOR, DECREASE, f"{below}, 2 sessions running below the minimum: -5 %")
        return limits.hold(HOLD, f"{below}: hold (first session below the minimum)")
    if session.reps <= rep_range[1]:
        return limits.hold(HOLD, f"reps {session.reps} within {rep_range[0]}-{rep_range[1]}: hold")
    return limits.hold(HOLD, f"reps {session.reps} > {rep_range[1]} without reaching failure: hold")


# Sanity check: rapid rise (§9.4 item 6)

RAPID_RISE_PCT = Decimal(15)
RAPID_RISE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class RapidRise:
    from_load: Decimal
    to_load: Decimal
    rise_pct: Decimal


def rapid_rise(loads_with_dates: Iterable[tuple[datetime, object]], now: datetime) -> RapidRise | None:
    """The latest load against the lowest load in effect over the 7 days before `now` (elapsed time).

    A load is in effect from its date until the next one, so the load set just before the window counts.
    Rises from a zero load are not judged (no base for a percentage).
    """
    history = sorted((_aware(at, "load date"), as_decimal(load, "load")) for at, load in loads_with_dates)
    history = [(at, load) for at, load in history if at <= _aware(now, "now")]
    if not history:
        return None
    window_start = now - RAPID_RISE_WINDOW
    before = [load for at, load in history if at <= window_start][-1:]
    reference = min(before + [load for at, load in history if at > window_start])
    latest = history[-1][1]
    rise = (latest - reference) / reference * 100 if reference > 0 else Decimal(0)
    return RapidRise(reference, latest, rise.quantize(Decimal("0.1"), ROUND_HALF_UP)) if rise > RAPID_RISE_PCT else None


# Scheduling (§9.5)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware.")
    return moment


def localise(wall_time: datetime, tz: ZoneInfo) -> datetime:
    """A naive clinic-local wall time as a UTC instant: gaps move forward, ambiguous times take fold=0."""
    return wall_time.replace(tzinfo=tz, fold=0).astimezone(UTC)


def add_local(moment: datetime, interval: timedelta, tz: ZoneInfo) -> datetime:
    """`moment` + `interval` on the clinic's wall clock (a day-based interval keeps the local hour)."""
    wall = _aware(moment, "moment").astimezone(tz).replace(tzinfo=None)
    return localise(wall + interval, tz)


def earliest_next_session(last_completed_at: datetime, min_rest_hours: int = 48) -> datetime:
    """Elapsed time: 48 h of recovery are 48 real hours even across a DST change [S29]."""
    if min_rest_hours < 0:
        raise ValueError("The minimum rest cannot be negative.")
    return _aware(last_completed_at, "last_completed_at").astimezone(UTC) + timedelta(hours=min_rest_hours)


def next_session_due(
    last_completed_at: datetime, sessions_per_week: int, tz: ZoneInfo, min_rest_hours: int = 48
) -> datetime:
    """last + 7 days / f on the local wall clock (f = 2 → 3 days 12 h), never before the earliest next session.

    The max only matters when a program's rest exceeds its cadence (f = 3 gives 56 h; rest set to 72 h).
    """
    if not 1 <= sessions_per_week <= 3:
        raise ValueError(f"Sessions per week must be 1-3; got {sessions_per_week}.")
    due = add_local(last_completed_at, timedelta(days=7) / sessions_per_week, tz)
    return max(due, earliest_next_session(last_completed_at, min_rest_hours))


ON_TRACK, OVERDUE, LAPSED, DETRAINED, NEW_EPISODE = "on_track", "overdue", "lapsed", "detrained", "new_episode"
ATTENDANCE_STATES = (ON_TRACK, OVERDUE, LAPSED, DETRAINED, NEW_EPISODE)  # in order of severity
ATTENDANCE_LIMITS = ((84, NEW_EPISODE), (28, DETRAINED), (14, LAPSED), (7, OVERDUE))  # more than N days


def _day_starts(day: date, tz: ZoneInfo) -> datetime:
    return localise(datetime.combine(day, time(0)), tz)


def local_days_since(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Local calendar days from the date of `last` to the date of `now` (0 if `now` is earlier).

    A date counts from its first instant, so the count never goes back when a fall-back crosses midnight.
    """
    first = _aware(last_completed_at, "last_completed_at").astimezone(tz).date()
    days = (_aware(now, "now").astimezone(tz).date() - first).days
    while _day_starts(first + timedelta(days=days + 1), tz) <= now:
        days += 1
    return max(days, 0)


def attendance_state(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """From the last COMPLETED session: missed appointments do not lapse a patient by themselves."""
    days = local_days_since(last_completed_at, now, tz)
    return next((state for limit, state in ATTENDANCE_LIMITS if days > limit), ON_TRACK)


RESUME, RESUME_REDUCED, RETEST = "resume", "resume_reduced", "retest"
RETURN_REDUCE_FACTOR = Decimal("0.90")


@dataclass(frozen=True)
class GapReturn:
    action: str  # resume | resume_reduced | retest | new_episode
    load: Decimal | None  # None: derive a new start load from a retest (or a new episode)
    days: int


def return_after_gap(
    last_load: object, last_completed_at: datetime, now: datetime, tz: ZoneInfo, increment: object
) -> GapReturn:
    """§9.7, on the same local-day count as `attendance_state` so the two never disagree.

    Loads come back as multiples of the increment (rounded down), like every proposal.
    """
    days = local_days_since(last_completed_at, now, tz)
    load = as_decimal(last_load, "last load")
    if days <= 14:
        return GapReturn(RESUME, round_down_to_increment(load, increment), days)
    if days <= 28:
        return GapReturn(RESUME_REDUCED, round_down_to_increment(load * RETURN_REDUCE_FACTOR, increment), days)
    return GapReturn(RETEST if days <= 84 else NEW_EPISODE, None, days)


QUESTIONNAIRE_EVERY_DAYS = 14  # Vernon: baseline and every 2 weeks [S48]
PHYSICIAN_REVIEW_EVERY_DAYS = 28  # SpineZone: monthly physician visits [S40]
RETEST_AT_SESSION = 12
RETEST_AT_WEEK = 6


def planned_discharge_at(program_start: datetime, planned_weeks: int, tz: ZoneInfo) -> datetime:
    return add_local(program_start, timedelta(weeks=planned_weeks), tz)


def _every(start: datetime, every_days: int, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    due, number = [], 1
    while (at := add_local(start, timedelta(days=every_days * number), tz)) < discharge_at:
        due.append(at)
        number += 1
    return due


def questionnaire_due_dates(program_start: datetime, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Baseline, every 14 local days before discharge, and discharge (planned or actual) [S48]."""
    start = _aware(program_start, "program_start").astimezone(UTC)
    return [start, *_every(start, QUESTIONNAIRE_EVERY_DAYS, discharge_at, tz), discharge_at.astimezone(UTC)]


def physician_review_due_dates(program_start: datetime, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every 28 local days from the program start, and at discharge [S40]."""
    start = _aware(program_start, "program_start")
    return [*_every(start, PHYSICIAN_REVIEW_EVERY_DAYS, discharge_at, tz), discharge_at.astimezone(UTC)]


def retest_due_at(program_start: datetime, tz: ZoneInfo) -> datetime:
    return add_local(program_start, timedelta(weeks=RETEST_AT_WEEK), tz)


def retest_due(completed_sessions: int, program_start: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """The mid-program retest falls due at session 12 or week 6, whichever comes first."""
    return completed_sessions >= RETEST_AT_SESSION or now >= retest_due_at(program_start, tz)


def next_due(due_dates: Sequence[datetime], now: datetime) -> datetime | None:
    return next((at for at in sorted(due_dates) if at >= now), None)
