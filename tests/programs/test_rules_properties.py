"""Properties of the rules over large spaces: any load and session, any IANA zone, any instant 2000-2037."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from apps.programs import progression, schedule
from apps.programs.progression import PreviousSession, SessionResult

ZONES = st.sampled_from(sorted(available_timezones())).map(ZoneInfo)
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC))
INCREMENTS = st.sampled_from([Decimal(1), Decimal(2), Decimal(3), Decimal("0.5"), Decimal("2.5")])
LOADS = st.decimals(min_value=0, max_value=1000, places=2)
PAIN = st.integers(0, 10)

SESSIONS = st.builds(
    SessionResult,
    reps=st.integers(0, 50),
    time_under_load_s=st.integers(0, 300),
    reached_failure=st.booleans(),
    pain_before=PAIN,
    pain_after=PAIN,
    red_flag=st.booleans(),
    status=st.sampled_from([progression.COMPLETED, progression.STOPPED_EARLY]),
)
PREVIOUS = st.none() | st.builds(
    PreviousSession, pain_before=st.none() | PAIN, pain_hold=st.booleans(), below_minimum=st.booleans()
)
ACTIONS = {
    progression.INCREASE,
    progression.HOLD,
    progression.DECREASE,
    progression.PAIN_HOLD,
    progression.PAIN_REDUCE,
    progression.RED_FLAG_STOP,
}


def offset_changes(tz: ZoneInfo, year: int) -> list[datetime]:
    """The instants in `year` where the zone's UTC offset changes (weekly scan, then bisection to the second)."""
    found, start = [], int(datetime(year, 1, 1, tzinfo=UTC).timestamp())

    def offset_at(seconds: int) -> timedelta | None:
        return datetime.fromtimestamp(seconds, UTC).astimezone(tz).utcoffset()

    for low in range(start, start + 366 * 86_400, 7 * 86_400):
        high = low + 7 * 86_400
        if offset_at(low) == offset_at(high):
            continue
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if offset_at(middle) == offset_at(low) else (low, middle)
        found.append(datetime.fromtimestamp(high, UTC))
    return found


@st.composite
def near_an_offset_change(draw, interval: timedelta):
    """(start, tz) such that start + interval on the local wall clock lands within 90 min of a DST change.

    Uniform instants almost never land in a gap or a repeated hour; these always come close, in any zone
    that has a change that year (others fall back to a uniform instant).
    """
    tz, year = draw(ZONES), draw(st.integers(2000, 2037))
    changes = offset_changes(tz, year)
    if not changes:
        return draw(INSTANTS), tz
    change = draw(st.sampled_from(changes))
    before = change - timedelta(seconds=1)
    wall_at_change = before.astimezone(tz).replace(tzinfo=None) + timedelta(seconds=1)
    target = wall_at_change + timedelta(minutes=draw(st.integers(-90, 90)))
    return (target - interval).replace(tzinfo=tz).astimezone(UTC), tz


INTERVALS = st.builds(timedelta, days=st.integers(0, 90), hours=st.sampled_from([0, 12]))


@st.composite
def day_intervals(draw):
    interval = draw(INTERVALS)
    start, tz = draw(near_an_offset_change(interval) | st.tuples(INSTANTS, ZONES))
    return start, tz, interval


@st.composite
def ranges(draw, low, high):
    first, second = draw(st.integers(low, high)), draw(st.integers(low, high))
    return min(first, second), max(first, second)


@settings(derandomize=True, max_examples=200)
@given(
    current=LOADS,
    increment=INCREMENTS,
    min_load=st.decimals(min_value=0, max_value=100, places=1),
    span=st.decimals(min_value=0, max_value=900, places=1),
    session=SESSIONS,
    previous=PREVIOUS,
    rep_range=ranges(0, 50),
    tul_window=ranges(0, 300),
    step=st.decimals(min_value=2, max_value=10, places=1),
)
def test_a_proposal_is_a_multiple_of_the_increment_within_the_machine_limits(
    current, increment, min_load, span, session, previous, rep_range, tul_window, step
):
    max_load = min_load + span
    lowest_multiple = math.ceil(min_load / increment) * increment
    assume(lowest_multiple <= max_load)  # a machine whose limits hold at least one multiple of its increment
    proposal = progression.propose_next_load(
        current_load=current,
        increment=increment,
        min_load=min_load,
        max_load=max_load,
        session=session,
        previous=previous,
        rep_range=rep_range,
        tul_window=tul_window,
        step_pct=step,
    )
    assert proposal.load >= 0
    assert proposal.load % increment == 0
    assert min_load <= proposal.load <= max_load
    assert proposal.action in ACTIONS
    assert proposal.reason
    if proposal.action == progression.INCREASE:
        assert proposal.load > current
    if proposal.action == progression.DECREASE:
        assert proposal.load < current


@st.composite
def due_cases(draw):
    per_week, min_rest_hours = draw(st.integers(1, 3)), draw(st.integers(0, 96))
    last, tz = draw(near_an_offset_change(timedelta(days=7) / per_week) | st.tuples(INSTANTS, ZONES))
    return last, tz, per_week, min_rest_hours


@settings(derandomize=True, max_examples=200)
@given(case=due_cases())
def test_the_next_session_is_never_due_before_the_earliest_next_session(case):
    last, tz, per_week, min_rest_hours = case
    due = schedule.next_session_due(last, per_week, tz, min_rest_hours)
    earliest = schedule.earliest_next_session(last, min_rest_hours)
    assert due >= earliest
    assert earliest - last == timedelta(hours=min_rest_hours)
    assert due.tzinfo is UTC
    assert earliest.tzinfo is UTC


@settings(derandomize=True, max_examples=200)
@given(case=day_intervals())
def test_day_intervals_keep_the_local_wall_clock_except_across_a_gap(case):
    start, tz, interval = case
    target = start.astimezone(tz).replace(tzinfo=None) + interval
    # PEP 495: in a gap fold=1 reads the offset after the transition, fold=0 the one before; the difference
    # is the gap's length (positive), or minus the repeated hour for an ambiguous time, and 0 otherwise.
    jump = tz.utcoffset(target.replace(fold=1)) - tz.utcoffset(target.replace(fold=0))
    moved = schedule.add_local(start, interval, tz)
    assert moved.tzinfo is UTC
    local_wall = moved.astimezone(tz).replace(tzinfo=None)
    if jump > timedelta(0):
        assert local_wall == target + jump
    else:
        assert local_wall == target
        assert moved == (target - tz.utcoffset(target.replace(fold=0))).replace(tzinfo=UTC)  # the first one


@settings(derandomize=True, max_examples=200)
@given(
    anchor=near_an_offset_change(timedelta(0)) | st.tuples(INSTANTS, ZONES),
    days_back=st.integers(-1, 100),
    seconds=st.integers(-3 * 3600, 3 * 3600),
    later_by=st.integers(0, 4 * 3600) | st.integers(0, 40 * 86_400),
)
# Goose Bay fell back from 00:01 ADT to 23:01 AST until 2011, so 2000-10-28 came back after 10-29 began
@example(
    anchor=(datetime(2000, 10, 29, 3, 0, 30, tzinfo=UTC), ZoneInfo("America/Goose_Bay")),
    days_back=8,
    seconds=0,
    later_by=60,
)
def test_attendance_never_improves_as_time_passes(anchor, days_back, seconds, later_by):
    # `first` sits near a DST change (when the zone has one), where a local date could repeat or skip
    first, tz = anchor
    last = first - timedelta(days=days_back, seconds=seconds)
    second = first + timedelta(seconds=later_by)
    rank = schedule.ATTENDANCE_STATES.index
    assert rank(schedule.attendance_state(last, first, tz)) <= rank(schedule.attendance_state(last, second, tz))
    assert schedule.whole_days_since(last, first, tz) <= schedule.whole_days_since(last, second, tz)


@st.composite
def threshold_cases(draw):
    state, days = draw(st.sampled_from(schedule.ATTENDANCE_THRESHOLDS))
    last, tz = draw(near_an_offset_change(timedelta(days=days)) | st.tuples(INSTANTS, ZONES))
    return last, tz, state, days


@settings(derandomize=True, max_examples=200)
@given(case=threshold_cases())
def test_a_dst_change_never_moves_the_local_hour_of_an_attendance_threshold(case):
    last, tz, state, days = case
    at = schedule.attendance_thresholds(last, tz)[state]
    target = last.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    jump = tz.utcoffset(target.replace(fold=1)) - tz.utcoffset(target.replace(fold=0))
    assert at.astimezone(tz).replace(tzinfo=None) == target + max(jump, timedelta(0))  # a gap's hour does not exist
    assert schedule.attendance_state(last, at - timedelta(seconds=1), tz) != state
    assert schedule.attendance_state(last, at, tz) == state


@settings(derandomize=True, max_examples=100)
@given(last=INSTANTS, tz=ZONES, gap_days=st.integers(0, 120), load=LOADS, increment=INCREMENTS)
def test_a_return_after_a_gap_follows_the_wall_clock_days_and_never_raises_the_load(
    last, tz, gap_days, load, increment
):
    # One second past N days on the wall clock is "more than N days" (DOMAIN.md: 14 days 2 h is 15-28).
    now = schedule.add_local(last, timedelta(days=gap_days), tz) + timedelta(seconds=1)
    result = schedule.return_after_gap(load, last, now, tz, increment)
    assert result.days == gap_days
    assert (result.load is None) is (gap_days >= 28)
    bands = (gap_days >= 14) + (gap_days >= 28) + (gap_days >= 84)
    assert result.action == {0: "resume", 1: "resume_reduced", 2: "retest", 3: "new_episode"}[bands]
    if result.load is not None:
        assert result.load <= load
        assert result.load % increment == 0
