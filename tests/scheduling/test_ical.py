"""Appointment invites: RFC 5545 bodies a calendar program reads back as the same event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from apps.clinics.arguments import RuleArgumentError
from apps.scheduling.ical import CANCEL, REQUEST, Invite, calendar_bytes

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 11, 2, 17, tzinfo=LA)  # the Monday after the fall back: 17:00 PST is 01:00 UTC
INVITE = Invite(
    appointment_id="6f1c0e7e-3a51-4c43-9d1d-2f6a8f7f4b10",
    sequence=0,
    start=START,
    end=START + timedelta(minutes=30),
    tz=LA,
    summary="Training session at SpineZone La Jolla",
    location="SpineZone La Jolla, 9850 Genesee Ave, La Jolla, CA",
    organizer_email="lajolla@spinezone.example",
    stamp=datetime(2026, 10, 30, 18, tzinfo=UTC),
)


def parsed(body: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return calendar, events[0]


def test_a_booking_is_a_request_at_the_clinics_wall_time_with_its_timezone():
    body = calendar_bytes(INVITE, REQUEST)
    calendar, event = parsed(body)

    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "6f1c0e7e-3a51-4c43-9d1d-2f6a8f7f4b10@appointments.spinezone"
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2026, 11, 3, 1, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=30)
    assert b"DTSTART;TZID=America/Los_Angeles:20261102T170000" in body
    assert b"DTSTAMP:20261030T180000Z" in body
    zones = [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")]
    assert zones == ["America/Los_Angeles"]
    assert b"20261101T020000" in body.replace(b"\r\n ", b"")  # unfolded: the VTIMEZONE knows this fall back
    assert str(event["ORGANIZER"]) == "mailto:lajolla@spinezone.example"


def test_lines_are_crlf_and_folded_at_75_octets():
    body = calendar_bytes(INVITE, REQUEST)
    lines = body.split(b"\r\n")
    assert body.endswith(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in body.replace(b"\r\n", b"")


def test_a_cancellation_withdraws_the_same_event_with_a_higher_sequence():
    booked = parsed(calendar_bytes(INVITE, REQUEST))[1]
    calendar, cancelled = parsed(calendar_bytes(replace(INVITE, sequence=1), CANCEL))

    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancelled["UID"]) == str(booked["UID"])
    assert int(cancelled["SEQUENCE"]) > int(booked["SEQUENCE"])
    assert str(cancelled["STATUS"]) == "CANCELLED"


@pytest.mark.parametrize(
    ("invite", "method", "name"),
    [
        (INVITE, "PUBLISH", "method"),
        (replace(INVITE, sequence=-1), REQUEST, "invite.sequence"),
        (replace(INVITE, end=START), REQUEST, "invite.end"),
        (replace(INVITE, start=datetime(2026, 11, 2, 17)), REQUEST, "invite.start"),
        (replace(INVITE, tz="America/Los_Angeles"), REQUEST, "invite.tz"),
        (replace(INVITE, summary=""), REQUEST, "invite.summary"),
        ("not an invite", REQUEST, "invite"),
    ],
)
def test_an_invite_it_cannot_mean_is_refused_naming_the_argument(invite, method, name):
    with pytest.raises(RuleArgumentError, match=name.replace(".", r"\.")):
        calendar_bytes(invite, method)
