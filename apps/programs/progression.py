"""Load progression rules, as pure functions over plain values: increments, start load, proposals, rapid rise.

Loads are `decimal.Decimal` in the machine's unit (see apps.assessments.scoring for the number policy);
a proposed load is always a multiple of the machine increment inside the machine's limits. Datetimes
must be timezone-aware and the caller passes `now`.

Rules and thresholds: DOMAIN.md "Initial load, progression, pain rules" and research §9.3, §9.4, §9.6.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

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


# Here rather than in schedule, which imports this module for its load rounding.
def require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware.")
    return moment


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
    history = sorted((require_aware(at, "load date"), as_decimal(load, "load")) for at, load in loads_with_dates)
    history = [(at, load) for at, load in history if at <= require_aware(now, "now")]
    if not history:
        return None
    window_start = now - RAPID_RISE_WINDOW
    before = [load for at, load in history if at <= window_start][-1:]
    reference = min(before + [load for at, load in history if at > window_start])
    latest = history[-1][1]
    rise = (latest - reference) / reference * 100 if reference > 0 else Decimal(0)
    return RapidRise(reference, latest, rise.quantize(Decimal("0.1"), ROUND_HALF_UP)) if rise > RAPID_RISE_PCT else None
