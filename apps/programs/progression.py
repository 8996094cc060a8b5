"""Load progression rules, as pure functions over plain values: increments, start load, proposals, rapid rise.

Loads are `decimal.Decimal` in the machine's unit (see apps.assessments.scoring for the number policy);
a proposed load is always a multiple of the machine increment inside the machine's limits. Datetimes
must be timezone-aware and the caller passes `now`. Every function refuses an argument it cannot mean
(a negative load, 12.5 reps, True for a count, a naive datetime) with RuleArgumentError naming it.

Rules and thresholds: DOMAIN.md "Initial load, progression, pain rules" and research §9.3, §9.4, §9.6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from apps.assessments.scoring import N_M, convert_torque, fmt, pain_rating
from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError

# Loads


def _increment(increment: object) -> Decimal:
    return check.positive(increment, "increment")


def _load(value: object, name: str = "load") -> Decimal:
    """A load is never negative: rounded up, a negative one would become a load nobody set."""
    return check.number(value, name, 0)


def _to_increment(load: object, increment: object, rounding: str) -> Decimal:
    step = _increment(increment)
    return (_load(load) / step).to_integral_value(rounding) * step


def round_up_to_increment(load: object, increment: object) -> Decimal:
    return _to_increment(load, increment, ROUND_CEILING)


def round_down_to_increment(load: object, increment: object) -> Decimal:
    return _to_increment(load, increment, ROUND_FLOOR)


def round_to_nearest_increment(load: object, increment: object) -> Decimal:
    return _to_increment(load, increment, ROUND_HALF_UP)


def load_limits(increment: object, min_load: object, max_load: object) -> tuple[Decimal, Decimal]:
    """The lowest and highest multiples of the increment inside [min_load, max_load]."""
    step, low, high = _increment(increment), _load(min_load, "min_load"), _load(max_load, "max_load")
    lowest, highest = round_up_to_increment(low, step), round_down_to_increment(high, step)
    if lowest > high:
        raise RuleArgumentError(
            f"No multiple of the increment {fmt(step)} lies between min_load {fmt(low)} and max_load {fmt(high)}."
        )
    return lowest, highest


def clamp_load(load: object, increment: object, min_load: object, max_load: object) -> Decimal:
    lowest, highest = load_limits(increment, min_load, max_load)
    return min(max(_load(load), lowest), highest)


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
    share = check.positive(fraction, "fraction", 1)
    peak = check.number(peak_torque_nm, "peak_torque_nm", 0)
    return round_down_to_increment(convert_torque(peak, N_M, machine_unit) * share, increment)


def start_load_needs_override(load: object, peak_torque_nm: object, unit: str) -> bool:
    """True outside 40-80 % of the peak (inclusive edges), or when there is no peak to compare with."""
    load_nm = convert_torque(_load(load), unit, N_M)
    peak = check.number(peak_torque_nm, "peak_torque_nm", 0)
    return peak == 0 or not OVERRIDE_BELOW <= load_nm / peak <= OVERRIDE_ABOVE


# Next-load proposal (§9.4, §9.6)

INCREASE, HOLD, DECREASE = "increase", "hold", "decrease"
PAIN_HOLD, PAIN_REDUCE, RED_FLAG_STOP = "pain_hold", "pain_reduce", "red_flag_stop"
COMPLETED, STOPPED_EARLY = "completed", "stopped_early"
PAIN_RISE = 2  # the NRS MCID [S45]
PAIN_RED_ZONE = 7
PAIN_REDUCE_FACTOR = Decimal("0.90")
DECREASE_FACTOR = Decimal("0.95")
MAX_REPS, MAX_TUL_S = 50, 300  # DOMAIN.md "Training session": reps 0-50, time under load 0-300 s
STEP_PCT_RANGE = (2, 10)  # DOMAIN.md "Program": progression step 2-10 %


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


def _check_session(session: object) -> SessionResult:
    check.instance(session, "session", SessionResult)
    check.one_of(session.status, "session.status", (COMPLETED, STOPPED_EARLY))
    check.whole_number(session.reps, "session.reps", 0, MAX_REPS)
    check.whole_number(session.time_under_load_s, "session.time_under_load_s", 0, MAX_TUL_S)
    check.flag(session.reached_failure, "session.reached_failure")
    check.flag(session.red_flag, "session.red_flag")
    pain_rating(session.pain_before, "session.pain_before")
    pain_rating(session.pain_after, "session.pain_after")
    return session


def _check_previous(previous: object) -> PreviousSession | None:
    if previous is None:
        return None
    check.instance(previous, "previous", PreviousSession)
    if previous.pain_before is not None:
        pain_rating(previous.pain_before, "previous.pain_before")
    check.flag(previous.pain_hold, "previous.pain_hold")
    check.flag(previous.below_minimum, "previous.below_minimum")
    return previous


def _window(value: object, name: str, most: int) -> tuple[int, int]:
    """A (min, max) prescription window of whole numbers, min <= max: the rep range or the TUL window."""
    low, high = check.pair(value, name, f"(min, max) of whole numbers 0-{most}")
    low, high = check.whole_number(low, f"{name} min", 0, most), check.whole_number(high, f"{name} max", 0, most)
    if low > high:
        raise RuleArgumentError(f"{name} must run from min to max; got ({low}, {high}).")
    return low, high


def pain_hold_reasons(session: SessionResult, previous_pain_before: int | None) -> list[str]:
    _check_session(session)
    if previous_pain_before is not None:
        pain_rating(previous_pain_before, "previous_pain_before")
    reasons = []
    if session.pain_after - session.pain_before >= PAIN_RISE:
        reasons.append(f"pain rose from {session.pain_before} to {session.pain_after} during the session")
    if previous_pain_before is not None and session.pain_before >= previous_pain_before + PAIN_RISE:
        reasons.append(f"pain before {session.pain_before} >= last visit's {previous_pain_before} + {PAIN_RISE}")
    return reasons


def is_pain_hold(session: SessionResult, previous: PreviousSession | None) -> bool:
    previous = _check_previous(previous)
    return bool(pain_hold_reasons(session, previous.pain_before if previous else None))


def below_minimum_reasons(session: SessionResult, rep_range: tuple[int, int], tul_window: tuple[int, int]) -> list[str]:
    """Why a completed set fell short; a set stopped early is not judged (it says nothing about capacity)."""
    _check_session(session)
    rep_range, tul_window = _window(rep_range, "rep_range", MAX_REPS), _window(tul_window, "tul_window", MAX_TUL_S)
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


def _limits(current_load: object, increment: object, min_load: object, max_load: object) -> _Limits:
    inc = _increment(increment)
    return _Limits(_load(current_load, "current_load"), inc, *load_limits(inc, min_load, max_load))


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
    step = check.number(step_pct, "step_pct", *STEP_PCT_RANGE)
    _check_session(session)
    previous = _check_previous(previous)
    rep_range, tul_window = _window(rep_range, "rep_range", MAX_REPS), _window(tul_window, "tul_window", MAX_TUL_S)
    limits = _limits(current_load, increment, min_load, max_load)
    current, inc = limits.current, limits.increment
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


# Here rather than in schedule, which imports this module for its load rounding.
def require_aware(moment: datetime, name: str) -> datetime:
    return check.aware_datetime(moment, check.text(name, "name"))


@dataclass(frozen=True)
class RapidRise:
    from_load: Decimal
    to_load: Decimal
    rise_pct: Decimal


def _dated_load(entry: object) -> tuple[datetime, Decimal]:
    at, load = check.pair(entry, "Each of loads_with_dates", "(aware datetime, load)")
    return require_aware(at, "A date in loads_with_dates"), _load(load, "A load in loads_with_dates")


def rapid_rise(loads_with_dates: Sequence[tuple[datetime, object]], now: datetime) -> RapidRise | None:
    """The latest load against the lowest load in effect over the 7 days before `now` (elapsed time).

    A load is in effect from its date until the next one, so the load set just before the window counts.
    Rises from a zero load are not judged (no base for a percentage); no loads at all is no rise.
    """
    require_aware(now, "now")
    check.sequence_of(loads_with_dates, "loads_with_dates", "(aware datetime, load) pairs")
    history = sorted(_dated_load(entry) for entry in loads_with_dates)
    history = [(at, load) for at, load in history if at <= now]
    if not history:
        return None
    window_start = now - RAPID_RISE_WINDOW
    before = [load for at, load in history if at <= window_start][-1:]
    reference = min(before + [load for at, load in history if at > window_start])
    latest = history[-1][1]
    rise = (latest - reference) / reference * 100 if reference > 0 else Decimal(0)
    return RapidRise(reference, latest, rise.quantize(Decimal("0.1"), ROUND_HALF_UP)) if rise > RAPID_RISE_PCT else None
