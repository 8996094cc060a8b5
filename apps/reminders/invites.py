"""What the emails about booking carry beyond the due date: suggested slots with a "choose a time" link,
an appointment's time and place with a cancel link, and its iCalendar invite (apps.scheduling.ical).

Minimum necessary still (DOMAIN.md "Reminders"): the clinic's name and address, a time, and links
whose signed tokens name the reminder, never the patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.mime.text import MIMEText
from email.utils import parseaddr

from django.conf import settings
from django.urls import reverse

from apps.clinics.models import Clinic
from apps.programs.models import Program
from apps.reminders import tokens
from apps.reminders.models import Reminder, ReminderKind
from apps.scheduling import ical, selectors
from apps.scheduling.booking import BOOKABLE
from apps.scheduling.models import Appointment

SUGGESTED_SLOTS = 3  # in a due or overdue email (issue 16); the booking page shows more
INVITE_FILENAME = "appointment.ics"


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def book_url(reminder: Reminder) -> str:
    return _absolute(reverse("reminders:book", kwargs={"token": tokens.booking_token(reminder.pk)}))


def cancel_url(reminder: Reminder) -> str:
    return _absolute(reverse("reminders:cancel", kwargs={"token": tokens.cancel_token(reminder.pk)}))


def free_starts(program: Program, *, now: datetime, count: int) -> list[tuple[datetime, object]]:
    """(start, machine id) of the finder's best free slots, or none for a program that takes no bookings."""
    if program.status not in BOOKABLE:
        return []
    return [(slot.start, slot.machine) for slot in selectors.offer_slots(program, now=now, count=count)]


def suggested_slots(program: Program, *, now: datetime) -> list[datetime]:
    return [start for start, _machine in free_starts(program, now=now, count=SUGGESTED_SLOTS)]


def address(clinic: Clinic) -> str:
    """The clinic's name and postal address on one line (the invite's LOCATION)."""
    town = " ".join(part for part in (clinic.postal_code, clinic.city) if part)
    return ", ".join(part for part in (clinic.name, clinic.address_line, town, clinic.country) if part)


def late_cancel_window(clinic: Clinic) -> timedelta:
    return selectors.booking_rules_for(clinic).late_cancel


def late_cancel_hours(clinic: Clinic) -> int:
    return int(late_cancel_window(clinic).total_seconds() // 3600)


def invite(appointment: Appointment, *, now: datetime) -> ical.Invite:
    clinic = appointment.clinic
    return ical.Invite(
        appointment_id=str(appointment.pk),
        sequence=appointment.sequence,
        start=appointment.starts_at,
        end=appointment.ends_at,
        tz=clinic.tzinfo,
        summary=f"Training session at {clinic.sender_name}",
        location=address(clinic),
        organizer_email=clinic.reply_to_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        stamp=now,
    )


def calendar_method(reminder: Reminder) -> str:
    return ical.CANCEL if reminder.kind == ReminderKind.APPOINTMENT_CANCELLED else ical.REQUEST


def calendar_part(reminder: Reminder, *, now: datetime) -> MIMEText:
    """The .ics as an attachment part: `text/calendar; method=REQUEST|CANCEL` (RFC 6047)."""
    method = calendar_method(reminder)
    body = ical.calendar_bytes(invite(reminder.appointment, now=now), method).decode()
    part = MIMEText(body, "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename=INVITE_FILENAME)
    return part
