"""When a progress report falls due: 10 sessions or 30 days since the last report (or the start), and at discharge."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.clinics.arguments import RuleArgumentError
from apps.outcomes.progress_rules import DAYS, DISCHARGE, SESSIONS, report_due

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)  # a Friday, 10:00 local


def due(*, sessions=0, now=START + timedelta(days=1), last_at=None, at_last=0, ended_at=None):
    return report_due(
        started_at=START,
        completed_sessions=sessions,
        last_report_at=last_at,
        sessions_at_last_report=at_last,
        ended_at=ended_at,
        now=now,
        tz=LA,
    )


@pytest.mark.parametrize(("sessions", "expected"), [(0, ()), (9, ()), (10, (SESSIONS,)), (11, (SESSIONS,))])
def test_the_10th_completed_session_since_the_start_makes_it_due(sessions, expected):
    found = due(sessions=sessions)
    assert (found.due, found.reasons, found.sessions_due_at) == (bool(expected), expected, 10)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 28, 10, tzinfo=LA), False),  # 29 days
        (datetime(2026, 3, 29, 9, 59, 59, tzinfo=LA), False),  # an instant, not a calendar day
        (datetime(2026, 3, 29, 10, tzinfo=LA), True),  # 30 days
        (datetime(2026, 3, 30, 10, tzinfo=LA), True),
    ],
)
def test_30_days_after_the_start_make_it_due(now, expected):
    # 30 local days from 27 Feb 10:00 PST is 29 Mar 10:00 PDT: the DST change on 8 Mar keeps the hour.
    found = due(sessions=3, now=now)
    assert found.date_due_at == datetime(2026, 3, 29, 10, tzinfo=LA)
    assert found.due is expected
    assert found.reasons == ((DAYS,) if expected else ())


def test_the_wall_clock_hour_survives_the_dst_change():
    found = due(now=START)
    assert found.date_due_at.astimezone(LA).hour == 10
    assert found.date_due_at - START == timedelta(days=30) - timedelta(hours=1)  # one hour less elapsed


def test_both_reasons_at_once():
    assert due(sessions=12, now=START + timedelta(days=40)).reasons == (SESSIONS, DAYS)


@pytest.mark.parametrize(("sessions", "expected"), [(16, False), (17, True), (18, True)])
def test_a_previous_report_restarts_the_session_count(sessions, expected):
    # Issued early (day 30, session 7): next due at session 17, not at session 20.
    last = START + timedelta(days=30)
    found = due(sessions=sessions, now=last + timedelta(days=5), last_at=last, at_last=7)
    assert (found.due, found.sessions_due_at) == (expected, 17)


@pytest.mark.parametrize(("days", "expected"), [(29, False), (30, True)])
def test_a_previous_report_restarts_the_30_days(days, expected):
    last = datetime(2026, 4, 10, 15, tzinfo=LA)
    found = due(sessions=12, last_at=last, at_last=10, now=last + timedelta(days=days))
    assert found.due is expected
    assert found.date_due_at == datetime(2026, 5, 10, 15, tzinfo=LA)


def test_a_discharge_without_a_report_since_is_due_and_nothing_else_is():
    ended = START + timedelta(days=20)
    found = due(sessions=25, ended_at=ended, now=ended + timedelta(days=90))
    assert (found.due, found.reasons, found.sessions_due_at, found.date_due_at) == (True, (DISCHARGE,), None, None)


def test_a_report_at_or_after_discharge_answers_it_for_good():
    ended = START + timedelta(days=20)
    assert not due(sessions=25, ended_at=ended, last_at=ended, at_last=25, now=ended + timedelta(days=90)).due
    before = ended - timedelta(hours=1)
    assert due(sessions=25, ended_at=ended, last_at=before, at_last=25, now=ended + timedelta(days=1)).due


def test_no_report_is_due_before_the_discharge_instant():
    ended = START + timedelta(days=20)
    assert not due(sessions=3, ended_at=ended, now=ended - timedelta(seconds=1)).due


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"at_last": 2}, "sessions_at_last_report"),  # a count without a report
        ({"sessions": 3, "last_at": START + timedelta(days=1), "at_last": 4}, "sessions_at_last_report"),
        ({"last_at": START - timedelta(days=1)}, "last_report_at"),
        ({"ended_at": START - timedelta(days=1)}, "ended_at"),
    ],
)
def test_it_refuses_a_history_that_cannot_be(arguments, named):
    with pytest.raises(RuleArgumentError, match=named):
        due(**arguments)
