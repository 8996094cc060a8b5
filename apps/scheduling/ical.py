"""iCalendar (RFC 5545) invites for appointments: a booking is a REQUEST, a cancellation a CANCEL.

Plain values in, bytes out (no ORM). The UID is stable per appointment and the SEQUENCE rises with
every change, so a calendar program updates or removes the event it already holds instead of
adding a second one. Times carry the clinic's zone as TZID with its VTIMEZONE (from the zone data,
by `icalendar`), so the invite shows the clinic's wall time wherever it is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError

PRODID = "-//SpineZone//Appointments//EN"
REQUEST, CANCEL = "REQUEST", "CANCEL"
UID_DOMAIN = "appointments.spinezone"


@dataclass(frozen=True)
class Invite:
    appointment_id: str
    sequence: int
    start: datetime
    end: datetime
    tz: ZoneInfo
    summary: str  # "Training session at SpineZone La Jolla": no diagnosis, scores or loads
    location: str  # the clinic's name and address
    organizer_email: str
    stamp: datetime  # when the invite is made (DTSTAMP)


def uid(appointment_id: str) -> str:
    return f"{check.text(appointment_id, 'appointment_id')}@{UID_DOMAIN}"


def _check(invite: object) -> Invite:
    invite = check.instance(invite, "invite", Invite)
    check.whole_number(invite.sequence, "invite.sequence", 0)
    start, end = check.aware_datetime(invite.start, "invite.start"), check.aware_datetime(invite.end, "invite.end")
    if not start < end:
        raise RuleArgumentError(f"invite.end must come after invite.start; got {start}-{end}.")
    check.zone(invite.tz, "invite.tz")
    check.aware_datetime(invite.stamp, "invite.stamp")
    for name in ("summary", "location", "organizer_email"):
        check.text(getattr(invite, name), f"invite.{name}")
    return invite


def calendar_bytes(invite: Invite, method: str) -> bytes:
    """The .ics body: METHOD:REQUEST for a booking or a change, METHOD:CANCEL (STATUS:CANCELLED) to withdraw it."""
    invite, method = _check(invite), check.one_of(method, "method", (REQUEST, CANCEL))
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", uid(invite.appointment_id))
    event.add("sequence", invite.sequence)
    event.add("dtstamp", invite.stamp.astimezone(UTC))
    event.add("dtstart", invite.start.astimezone(invite.tz))
    event.add("dtend", invite.end.astimezone(invite.tz))
    event.add("summary", invite.summary)
    event.add("location", invite.location)
    event.add("organizer", f"mailto:{invite.organizer_email}")
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
