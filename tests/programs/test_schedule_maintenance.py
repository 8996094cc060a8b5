"""Maintenance scheduling rules: hand-computed, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.programs import schedule

LA = ZoneInfo("America/Los_Angeles")  # 2026: spring forward Sun 03-08, fall back Sun 11-01
SYDNEY = ZoneInfo("Australia/Sydney")  # 2026: fall back Sun 04-05 03:00, spring forward Sun 10-04 02:00


@pytest.mark.parametrize(
    ("last", "weeks", "due"),
    [
        (datetime(2026, 3, 5, 10, tzinfo=LA), 2, datetime(2026, 3, 19, 10, tzinfo=LA)),  # 335 h: spring forward
        (datetime(2026, 10, 22, 18, tzinfo=LA), 1, datetime(2026, 10, 29, 18, tzinfo=LA)),
        (datetime(2026, 10, 22, 18, tzinfo=LA), 4, datetime(2026, 11, 19, 18, tzinfo=LA)),  # fall back: +1 h
        (datetime(2026, 3, 30, 9, tzinfo=SYDNEY), 2, datetime(2026, 4, 13, 9, tzinfo=SYDNEY)),
        (datetime(2026, 9, 28, 9, tzinfo=SYDNEY), 3, datetime(2026, 10, 19, 9, tzinfo=SYDNEY)),
    ],
)
def test_the_next_maintenance_session_is_due_at_the_same_local_hour(last, weeks, due):
    assert schedule.maintenance_due(last, weeks, last.tzinfo) == due
    assert schedule.maintenance_due(last, weeks, last.tzinfo).tzinfo is UTC


def test_a_maintenance_fortnight_across_the_spring_forward_is_one_hour_short():
    last = datetime(2026, 3, 5, 10, tzinfo=LA)
    assert schedule.maintenance_due(last, 2, LA) - last == timedelta(weeks=2, hours=-1)


@pytest.mark.parametrize("weeks", [0, 5, -1, 2.5, "2", True, None])
def test_the_maintenance_interval_is_1_to_4_whole_weeks(weeks):
    with pytest.raises(ValueError, match="maintenance interval"):
        schedule.maintenance_due(datetime(2026, 3, 5, 10, tzinfo=LA), weeks, LA)


def test_attendance_counts_from_the_last_session_in_training_and_from_the_due_time_in_maintenance():
    last = datetime(2026, 3, 5, 10, tzinfo=LA)
    assert schedule.attendance_anchor(last, LA) == last
    due = schedule.attendance_anchor(last, LA, maintenance_weeks=2)
    assert due == datetime(2026, 3, 19, 10, tzinfo=LA)
    thresholds = schedule.attendance_thresholds(due, LA)
    assert thresholds[schedule.LAPSED] == datetime(2026, 4, 2, 10, tzinfo=LA)  # due + 14 days (DOMAIN.md)
    assert schedule.attendance_state(last, datetime(2026, 3, 12, 10, tzinfo=LA), LA) == schedule.OVERDUE
    assert schedule.attendance_state(due, datetime(2026, 3, 12, 10, tzinfo=LA), LA) == schedule.ON_TRACK


def test_maintenance_checkups_fall_every_12_weeks_until_the_first_after_now():
    start = datetime(2026, 3, 6, 12, tzinfo=LA)
    assert schedule.maintenance_checkups(start, start, LA) == [datetime(2026, 5, 29, 12, tzinfo=LA)]
    checkups = schedule.maintenance_checkups(start, datetime(2026, 9, 1, tzinfo=UTC), LA)
    assert checkups == [
        datetime(2026, 5, 29, 12, tzinfo=LA),
        datetime(2026, 8, 21, 12, tzinfo=LA),
        datetime(2026, 11, 13, 12, tzinfo=LA),
    ]
