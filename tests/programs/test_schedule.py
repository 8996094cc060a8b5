"""Scheduling rules: hand-computed tables, DST weekends included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from apps.programs import schedule
from apps.programs.schedule import GapReturn

LA = ZoneInfo("America/Los_Angeles")  # 2026: spring forward Sun 03-08 02:00, fall back Sun 11-01 02:00
LONDON = ZoneInfo("Europe/London")  # 2026: spring forward Sun 03-29 01:00, fall back Sun 10-25 02:00


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


def wall(moment, tz):
    """The local wall time of an instant, without its offset, for comparing hours."""
    return moment.astimezone(tz).replace(tzinfo=None)


# Scheduling across DST


@pytest.mark.parametrize(
    ("last", "per_week", "due_local", "elapsed_hours"),
    [
        # DOMAIN.md: Thursday 10:00 + 3.5 days is Sunday 22:00 local, whatever the offset did
        (local(LA, 2026, 3, 5, 10), 2, datetime(2026, 3, 8, 22), 83),  # spring forward: one hour fewer
        (local(LA, 2026, 10, 29, 10), 2, datetime(2026, 11, 1, 22), 85),  # fall back: one hour more
        (local(LONDON, 2026, 3, 26, 10), 2, datetime(2026, 3, 29, 22), 83),
        (local(LONDON, 2026, 10, 22, 10), 2, datetime(2026, 10, 25, 22), 85),
        (local(LA, 2026, 2, 26, 10), 2, datetime(2026, 3, 1, 22), 84),  # no change in between
        (local(LA, 2026, 3, 5, 10), 1, datetime(2026, 3, 12, 10), 167),
        (local(LA, 2026, 3, 6, 10), 3, datetime(2026, 3, 8, 18), 55),  # 2 days 8 h
        (local(LONDON, 2026, 10, 23, 10), 3, datetime(2026, 10, 25, 18), 57),
    ],
)
def test_next_session_due_keeps_the_local_hour(last, per_week, due_local, elapsed_hours):
    tz = last.tzinfo
    due = schedule.next_session_due(last, per_week, tz)
    assert due.tzinfo is UTC
    assert wall(due, tz) == due_local
    assert due - last == timedelta(hours=elapsed_hours)


def test_the_domain_example_falls_on_a_sunday():
    due = schedule.next_session_due(local(LA, 2026, 3, 5, 10), 2, LA)
    assert (local(LA, 2026, 3, 5, 10).strftime("%A"), due.astimezone(LA).strftime("%A %H:%M")) == (
        "Thursday",
        "Sunday 22:00",
    )


@pytest.mark.parametrize(
    ("last", "earliest_local"),
    [
        (local(LA, 2026, 3, 7, 10), datetime(2026, 3, 9, 11)),  # 48 real hours: 11:00 PDT
        (local(LA, 2026, 10, 31, 10), datetime(2026, 11, 2, 9)),  # 48 real hours: 09:00 PST
        (local(LONDON, 2026, 3, 28, 9), datetime(2026, 3, 30, 10)),
        (local(LONDON, 2026, 10, 24, 9), datetime(2026, 10, 26, 8)),
        (local(LONDON, 2026, 6, 1, 9), datetime(2026, 6, 3, 9)),
    ],
)
def test_earliest_next_session_is_48_elapsed_hours(last, earliest_local):
    earliest = schedule.earliest_next_session(last)
    assert earliest.tzinfo is UTC
    assert earliest - last == timedelta(hours=48)
    assert wall(earliest, last.tzinfo) == earliest_local


def test_due_is_never_before_the_earliest_next_session():
    last = local(LA, 2026, 3, 2, 10)  # f = 3 gives 2 days 8 h = 56 h, but this program rests 72 h
    assert schedule.next_session_due(last, 3, LA, min_rest_hours=72) == local(LA, 2026, 3, 5, 10)
    assert wall(schedule.next_session_due(last, 3, LA), LA) == datetime(2026, 3, 4, 18)


@pytest.mark.parametrize(
    ("start", "days", "expected_wall", "expected_utc"),
    [
        # lands in the spring-forward gap: 02:30 does not exist, so 03:30 PDT (moved forward by the gap)
        (local(LA, 2026, 3, 5, 2, 30), 3, datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 8, 10, 30, tzinfo=UTC)),
        (local(LONDON, 2026, 3, 26, 1, 30), 3, datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        # lands in the repeated fall-back hour: the first occurrence (still summer time)
        (local(LA, 2026, 10, 29, 1, 30), 3, datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        (
            local(LONDON, 2026, 10, 22, 1, 30),
            3,
            datetime(2026, 10, 25, 1, 30),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_local_time_that_does_not_exist_or_repeats_resolves_deterministically(
    start, days, expected_wall, expected_utc
):
    moved = schedule.add_local(start, timedelta(days=days), start.tzinfo)
    assert moved == expected_utc
    assert moved.tzinfo is UTC
    assert wall(moved, start.tzinfo) == expected_wall


def test_scheduling_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.earliest_next_session(datetime(2026, 3, 5, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.attendance_state(LAST, datetime(2026, 3, 5, 10), LA)


@pytest.mark.parametrize("per_week", [0, 4])
def test_sessions_per_week_is_1_to_3(per_week):
    with pytest.raises(ValueError, match="sessions_per_week must be a whole number 1-3"):
        schedule.next_session_due(local(LA, 2026, 3, 5, 10), per_week, LA)


# Attendance and return after a gap: instants on the clinic's wall clock (DOMAIN.md "Scheduling")

LAST = local(LA, 2026, 3, 1, 10)  # a Sunday, the week the US springs forward
SECOND = timedelta(seconds=1)
# Two zones, each across a DST change between the last session and its first threshold.
ZONE_CASES = {
    # Sun 1 Mar 10:00 PST: overdue from Sun 8 Mar 10:00 PDT, 167 h later (spring forward)
    "los_angeles": (LAST, {"overdue": (2026, 3, 8), "lapsed": (2026, 3, 15), "detrained": (2026, 3, 29)}),
    # Thu 22 Oct 10:00 BST: overdue from Thu 29 Oct 10:00 GMT, 169 h later (fall back)
    "london": (
        local(LONDON, 2026, 10, 22, 10),
        {"overdue": (2026, 10, 29), "lapsed": (2026, 11, 5), "detrained": (2026, 11, 19)},
    ),
}
BEFORE = {"overdue": "on_track", "lapsed": "overdue", "detrained": "lapsed"}
THRESHOLD_CASES = [
    pytest.param(zone, state, id=f"{zone}-{state}")
    for zone in ZONE_CASES
    for state in ("overdue", "lapsed", "detrained")
]


@pytest.mark.parametrize(("zone", "state"), THRESHOLD_CASES)
def test_each_attendance_state_begins_at_the_same_local_hour_n_days_later(zone, state):
    last, days = ZONE_CASES[zone]
    tz = last.tzinfo
    at = local(tz, *days[state], 10)
    assert schedule.attendance_thresholds(last, tz)[state] == at
    assert schedule.attendance_state(last, at - SECOND, tz) == BEFORE[state]
    assert schedule.attendance_state(last, at, tz) == state
    assert schedule.attendance_state(last, at + SECOND, tz) == state


def test_a_week_across_a_dst_change_is_not_168_hours():
    assert schedule.attendance_thresholds(LAST, LA)["overdue"] - LAST == timedelta(hours=167)
    london_last = ZONE_CASES["london"][0]
    assert schedule.attendance_thresholds(london_last, LONDON)["overdue"] - london_last == timedelta(hours=169)


def test_the_new_episode_begins_84_days_after_the_last_session():
    at = local(LA, 2026, 5, 24, 10)  # March 1 + 84 days
    assert schedule.attendance_state(LAST, at - SECOND, LA) == "detrained"
    assert schedule.attendance_state(LAST, at, LA) == "new_episode"


def test_a_threshold_in_a_spring_forward_gap_moves_forward_by_the_gap():
    last = local(LA, 2026, 3, 1, 2, 30)  # + 7 days is 02:30 on 8 Mar, which does not exist in Los Angeles
    overdue = schedule.attendance_thresholds(last, LA)["overdue"]
    assert wall(overdue, LA) == datetime(2026, 3, 8, 3, 30)
    assert schedule.attendance_state(last, overdue - SECOND, LA) == "on_track"


def test_a_threshold_in_a_fall_back_fold_is_its_first_occurrence():
    last = local(LONDON, 2026, 10, 18, 1, 30)  # + 7 days is 01:30 on 25 Oct, which London lives twice
    overdue = schedule.attendance_thresholds(last, LONDON)["overdue"]
    assert overdue == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST, not 01:30 GMT an hour later


def at_day(days, **extra):
    return schedule.add_local(LAST, timedelta(days=days), LA) + timedelta(**extra)


@pytest.mark.parametrize(
    ("now", "days", "action", "load"),
    [
        (local(LA, 2026, 2, 28, 10), 0, "resume", D(100)),  # `now` before the session: 0 days
        (at_day(7, seconds=-1), 6, "resume", D(100)),
        (at_day(14), 14, "resume", D(100)),  # "≤ 14 days": the 14th day's instant still resumes
        (at_day(14, seconds=1), 14, "resume_reduced", D(90)),
        (at_day(14, hours=2), 14, "resume_reduced", D(90)),  # DOMAIN.md: 14 days and 2 hours is 15-28
        (at_day(28), 28, "resume_reduced", D(90)),
        (at_day(28, seconds=1), 28, "retest", None),
        (at_day(84), 84, "retest", None),
        (at_day(84, seconds=1), 84, "new_episode", None),
    ],
)
def test_return_after_a_gap_counts_elapsed_wall_clock_days(now, days, action, load):
    assert schedule.whole_days_since(LAST, now, LA) == days
    assert schedule.return_after_gap(100, LAST, now, LA, 1) == GapReturn(action, load, days)


def test_whole_days_settle_on_the_instants_next_to_a_dst_change():
    assert schedule.whole_days_since(LAST, local(LA, 2026, 3, 8, 9, 59, 59), LA) == 6
    assert schedule.whole_days_since(LAST, local(LA, 2026, 3, 8, 10), LA) == 7


def test_return_after_a_gap_rounds_the_reduced_load_down():
    now = local(LA, 2026, 3, 20, 10)  # 19 days
    assert schedule.return_after_gap(99, LAST, now, LA, 3) == GapReturn("resume_reduced", D(87), 19)  # 89.1 -> 87


# Questionnaires, physician reviews and the retest

START = local(LA, 2026, 3, 2, 9)  # Monday 09:00 PST; every later date is 09:00 PDT


def nine_am(month, number):
    return local(LA, 2026, month, number, 9).astimezone(UTC)


def test_planned_discharge_keeps_the_local_hour():
    assert schedule.planned_discharge_at(START, 10, LA) == nine_am(5, 11)  # 70 days


def test_questionnaires_are_due_at_baseline_every_14_days_and_at_discharge():
    discharge = schedule.planned_discharge_at(START, 10, LA)
    assert schedule.questionnaire_due_dates(START, discharge, LA) == [
        nine_am(3, 2),
        nine_am(3, 16),
        nine_am(3, 30),
        nine_am(4, 13),
        nine_am(4, 27),
        nine_am(5, 11),  # day 70 is the discharge itself, not a sixth 14-day date
    ]


def test_an_early_discharge_ends_the_questionnaire_schedule():
    discharge = local(LA, 2026, 4, 1, 15)
    assert schedule.questionnaire_due_dates(START, discharge, LA) == [
        nine_am(3, 2),
        nine_am(3, 16),
        nine_am(3, 30),
        discharge.astimezone(UTC),
    ]


def test_physician_reviews_are_due_every_28_days_from_the_start_and_at_discharge():
    discharge = schedule.planned_discharge_at(START, 9, LA)  # day 63
    assert schedule.physician_review_due_dates(START, discharge, LA) == [nine_am(3, 30), nine_am(4, 27), nine_am(5, 4)]


@pytest.mark.parametrize(
    ("sessions", "now", "due"),
    [
        (11, local(LA, 2026, 4, 13, 8, 59), False),
        (12, local(LA, 2026, 4, 13, 8, 59), True),  # session 12 came first (3 a week)
        (0, local(LA, 2026, 4, 13, 9), True),  # week 6 came first (1 a week)
    ],
)
def test_the_retest_is_due_at_session_12_or_week_6(sessions, now, due):
    assert schedule.retest_due_at(START, LA) == nine_am(4, 13)
    assert schedule.retest_due(sessions, START, now, LA) is due


def test_next_due_is_the_first_date_not_yet_past():
    dates = [nine_am(3, 2), nine_am(3, 16), nine_am(3, 30)]
    assert schedule.next_due(dates, nine_am(3, 16)) == nine_am(3, 16)
    assert schedule.next_due(dates, nine_am(3, 17)) == nine_am(3, 30)
    assert schedule.next_due(dates, nine_am(4, 1)) is None
