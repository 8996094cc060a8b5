"""The pure reminder rules: quiet hours (tables and hypothesis over zones and DST edges), who may be
emailed, SMTP failure classes, retry timing."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.clinics.localtime import localise
from apps.reminders import rules
from apps.reminders.rules import Recipient

LA = ZoneInfo("America/Los_Angeles")
NIGHT = (time(21), time(8))


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)


@pytest.mark.parametrize(
    ("wall", "start", "end", "quiet"),
    [
        (time(20, 59), *NIGHT, False),
        (time(21), *NIGHT, True),
        (time(23, 59), *NIGHT, True),
        (time(0), *NIGHT, True),
        (time(7, 59, 59), *NIGHT, True),
        (time(8), *NIGHT, False),
        (time(12), time(12), time(13), True),  # a quiet lunch hour, not wrapping midnight
        (time(13), time(12), time(13), False),
        (time(3), time(0), time(0), False),  # start == end: no quiet hours
    ],
)
def test_in_quiet_hours_reads_a_window_that_may_wrap_midnight(wall, start, end, quiet):
    assert rules.in_quiet_hours(wall, start, end) is quiet


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        (la(2026, 3, 5, 22), la(2026, 3, 6, 8)),  # Thursday 22:00 → Friday 08:00
        (la(2026, 3, 5, 20, 59), la(2026, 3, 5, 20, 59)),
        (la(2026, 3, 6, 0, 30), la(2026, 3, 6, 8)),  # after midnight: the same day's 08:00
        (la(2026, 3, 6, 8), la(2026, 3, 6, 8)),
        # Saturday 22:00 before the spring-forward night: 08:00 PDT on Sunday, 9 h of real time later.
        (la(2026, 3, 7, 22), la(2026, 3, 8, 8)),
        # Saturday 22:00 before the fall-back night: 08:00 PST on Sunday, 11 h later.
        (la(2026, 10, 31, 22), la(2026, 11, 1, 8)),
    ],
)
def test_a_due_time_in_quiet_hours_goes_when_they_end(due, sent):
    assert rules.next_allowed_send(due, LA, *NIGHT) == sent.astimezone(UTC)


def test_a_quiet_end_inside_the_spring_forward_gap_moves_forward_by_the_gap():
    # 02:30 does not exist on 2026-03-08 in Los Angeles: like every local time here, it becomes 03:30.
    assert rules.next_allowed_send(la(2026, 3, 8, 1), LA, time(21), time(2, 30)) == la(2026, 3, 8, 3, 30)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        rules.next_allowed_send(datetime(2026, 3, 5, 22), LA, *NIGHT)


# --- Hypothesis: clinic zones and DST edges ------------------------------------------------------

ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "America/St_Johns",  # -03:30, DST
    "America/Santiago",  # DST changes at local midnight
    "America/Havana",  # spring-forward 00:00 → 01:00
    "Europe/London",
    "Europe/Berlin",
    "Europe/Dublin",  # "negative" DST in the tz database
    "Africa/Casablanca",  # DST suspended each Ramadan
    "Asia/Kolkata",
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped 30 December 2011 entirely
    "UTC",
)


def _offset(tz: ZoneInfo, moment: datetime) -> timedelta:
    return moment.astimezone(tz).utcoffset()


def _refine(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        low, high = (middle, high) if _offset(tz, middle) == _offset(tz, low) else (low, middle)
    return high


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The instants (to the minute) when the zone's UTC offset changes, in 2011 and 2024-2027."""
    tz, found = ZoneInfo(zone), []
    for year in (2011, 2024, 2025, 2026, 2027):
        day = datetime(year, 1, 1, tzinfo=UTC)
        while day.year == year:
            following = day + timedelta(days=1)
            if _offset(tz, day) != _offset(tz, following):
                found.append(_refine(tz, day, following))
            day = following
    return tuple(found) or (datetime(2026, 6, 1, tzinfo=UTC),)


@st.composite
def near_a_dst_edge(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    zone = draw(st.sampled_from(ZONES))
    edge = draw(st.sampled_from(transitions(zone)))
    return ZoneInfo(zone), edge + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))


wall_times = st.integers(0, 24 * 60 - 1).map(lambda minute: time(minute // 60, minute % 60))


@settings(derandomize=True, max_examples=600, deadline=None)
@given(case=near_a_dst_edge(), start=wall_times, end=wall_times)
def test_no_reminder_is_ever_scheduled_inside_local_quiet_hours(case, start, end):
    tz, due = case
    sent = rules.next_allowed_send(due, tz, start, end)
    local = sent.astimezone(tz)

    assert not rules.in_quiet_hours(local.time(), start, end)
    assert due <= sent <= due + timedelta(hours=26)
    if not rules.in_quiet_hours(due.astimezone(tz).time(), start, end):
        assert sent == due
    else:
        # It goes when quiet hours end: the local end time (a non-existent one moved forward by the gap).
        assert sent in {localise(datetime.combine(local.date() - timedelta(days=d), end), tz) for d in (0, 1)}
    assert rules.next_allowed_send(sent, tz, start, end) == sent


def test_the_zones_tried_include_real_dst_edges():
    assert len(transitions("America/Los_Angeles")) == 10  # two a year, five years
    assert transitions("Pacific/Apia")[0].year == 2011
    assert transitions("Asia/Kolkata") == (datetime(2026, 6, 1, tzinfo=UTC),)  # no DST: any instant


# --- Who may be emailed ---------------------------------------------------------------------------

OK = Recipient(email="ana@example.test", consent=True, unsubscribed=False, deceased=False, deleted=False)


@pytest.mark.parametrize(
    ("changes", "active", "unchanged", "reason"),
    [
        ({}, True, True, None),
        ({"deleted": True, "unsubscribed": True}, True, True, rules.DELETED),
        ({"deceased": True}, True, True, rules.DECEASED),
        ({"unsubscribed": True, "consent": False}, True, True, rules.UNSUBSCRIBED),
        ({"consent": False}, True, True, rules.NO_CONSENT),
        ({"email": ""}, True, True, rules.NO_EMAIL),
        ({}, False, True, rules.PROGRAM_NOT_ACTIVE),
        ({}, True, False, rules.DUE_MOVED),
    ],
)
def test_block_reason_names_the_first_reason_that_applies(changes, active, unchanged, reason):
    recipient = Recipient(**{**OK.__dict__, **changes})

    assert rules.block_reason(recipient, program_active=active, due_unchanged=unchanged) == reason


# --- SMTP outcomes and retries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x.test": (451, b"greylisted")}), 451, False),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"no such user")}), 550, True),
        (smtplib.SMTPDataError(452, b"insufficient storage"), 452, False),
        (smtplib.SMTPDataError(554, b"rejected"), 554, True),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "x@y"), 553, True),
        (smtplib.SMTPServerDisconnected("gone"), None, False),
        (ConnectionRefusedError(111, "refused"), None, False),
    ],
)
def test_5xx_is_permanent_and_4xx_or_no_answer_is_temporary(error, code, permanent):
    assert rules.smtp_reply_code(error) == code
    assert rules.is_permanent_failure(error) is permanent


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (4, 480), (5, 900), (8, 900)])
def test_retries_back_off_exponentially_up_to_a_cap(attempts, seconds):
    assert rules.retry_delay(attempts, 60, 900) == timedelta(seconds=seconds)
