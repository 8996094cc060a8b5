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
    with pytest.raises(ValueError, match="Sessions per week must be 1-3"):
        schedule.next_session_due(local(LA, 2026, 3, 5, 10), per_week, LA)


# Attendance and return after a gap, in local calendar days

LAST = local(LA, 2026, 3, 1, 10)  # a Sunday, the week the US springs forward


@pytest.mark.parametrize(
    ("now", "days", "state", "action", "load"),
    [
        (local(LA, 2026, 2, 28, 10), 0, "on_track", "resume", D(100)),  # `now` before the session: 0 days
        (local(LA, 2026, 3, 8, 23, 59), 7, "on_track", "resume", D(100)),
        (local(LA, 2026, 3, 9, 0, 0), 8, "overdue", "resume", D(100)),
        (local(LA, 2026, 3, 15, 23, 59), 14, "overdue", "resume", D(100)),
        (local(LA, 2026, 3, 16, 0, 0), 15, "lapsed", "resume_reduced", D(90)),
        (local(LA, 2026, 3, 29, 12), 28, "lapsed", "resume_reduced", D(90)),
        (local(LA, 2026, 3, 30, 0, 0), 29, "detrained", "retest", None),
        (local(LA, 2026, 5, 24, 23, 59), 84, "detrained", "retest", None),  # March 1 + 84 days = May 24
        (local(LA, 2026, 5, 25, 0, 0), 85, "new_episode", "new_episode", None),
    ],
)
def test_attendance_and_return_after_a_gap(now, days, state, action, load):
    assert schedule.local_days_since(LAST, now, LA) == days
    assert schedule.attendance_state(LAST, now, LA) == state
    assert schedule.return_after_gap(100, LAST, now, LA, 1) == GapReturn(action, load, days)


def test_days_are_local_calendar_days_not_elapsed_ones():
    last = local(LA, 2026, 3, 1, 23)
    now = local(LA, 2026, 3, 9, 0, 30)  # 7 days and 30 min (less one DST hour) elapsed, but 8 dates on
    assert schedule.attendance_state(last, now, LA) == "overdue"
    assert schedule.attendance_state(last, local(LA, 2026, 3, 8, 23, 59), LA) == "on_track"


def test_a_day_whose_midnight_does_not_exist_starts_at_its_first_instant():
    sao_paulo = ZoneInfo("America/Sao_Paulo")  # 2018-11-04 00:00 -03 jumped to 01:00 -02
    last = local(sao_paulo, 2018, 10, 28, 12)
    assert schedule.local_days_since(last, local(sao_paulo, 2018, 11, 3, 23, 59, 59), sao_paulo) == 6
    assert schedule.local_days_since(last, datetime(2018, 11, 4, 3, 0, tzinfo=UTC), sao_paulo) == 7  # 01:00 -02


def test_a_date_repeated_by_a_fall_back_after_midnight_does_not_turn_the_count_back():
    # Until 2011 Goose Bay fell back at 00:01 ADT to 23:01 AST: 2000-10-29 began, then 2000-10-28 came back
    goose_bay = ZoneInfo("America/Goose_Bay")
    last = local(goose_bay, 2000, 10, 21, 12)
    just_after_midnight = datetime(2000, 10, 29, 3, 0, 30, tzinfo=UTC)  # 00:00:30 ADT on the 29th: day 8
    back_on_the_28th = datetime(2000, 10, 29, 3, 1, 30, tzinfo=UTC)  # 23:01:30 AST on the 28th again
    assert back_on_the_28th.astimezone(goose_bay).day == 28
    assert schedule.local_days_since(last, just_after_midnight, goose_bay) == 8
    assert schedule.local_days_since(last, back_on_the_28th, goose_bay) == 8
    assert schedule.attendance_state(last, back_on_the_28th, goose_bay) == "overdue"


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
