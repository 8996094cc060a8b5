"""What the appointment reminder tests share: a frozen clock, a due program with a machine, booking.

The receiver of `appointment_changed` reads the clock (the signal carries none), so these tests
freeze `django.utils.timezone.now` to a settable instant instead of passing `now` alone.
"""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message

import icalendar
import pytest
from django.utils import timezone

from apps.programs import services as program_services
from apps.programs.models import Program
from apps.reminders.models import Reminder, ReminderKind
from apps.scheduling import booking
from apps.scheduling.booking import BOOKING_LINK
from tests import factories

# Monday 14 Dec 2026, 09:00 in Los Angeles (clinic A); open Mon-Fri 08:00-18:00 by default.
NOW = datetime(2026, 12, 14, 17, 0, tzinfo=UTC)
LAST_SESSION = NOW - timedelta(days=1)  # Sunday 09:00
WED_0900 = datetime(2026, 12, 16, 17, 0, tzinfo=UTC)  # the earliest next session (48 h of rest… and more)
THU_0900 = datetime(2026, 12, 17, 17, 0, tzinfo=UTC)  # the due time


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch) -> Clock:
    frozen = Clock(NOW)
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


def make_program(actor, patient, **fields) -> Program:
    draft = factories.ProgramFactory(patient=patient, prescribed_by=actor, **fields)
    program = program_services.program_start(actor=actor, program=draft, now=NOW - timedelta(days=7))
    Program.objects.filter(pk=program.pk).update(
        last_completed_at=LAST_SESSION, earliest_next_at=WED_0900, next_due_at=THU_0900
    )
    program.refresh_from_db()
    return program


@pytest.fixture(name="patient")
def patient_fixture(clinic_a):
    return factories.PatientFactory(
        clinic=clinic_a, given_name="Ana", family_name="Zyxwort", email="ana@example.test", mrn="A-7731"
    )


@pytest.fixture(name="program")
def program_fixture(clinician_a, patient):
    return make_program(clinician_a, patient)


@pytest.fixture(name="machine")
def machine_fixture(clinic_a):
    clinic_a.address_line, clinic_a.postal_code = "4510 Executive Dr", "92121"
    clinic_a.save()
    return factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")


def book(program, machine, start=THU_0900, *, actor=BOOKING_LINK, now=NOW):
    return booking.appointment_book(actor=actor, program=program, machine=machine, starts_at=start, now=now)


def reminder_of(appointment, kind: str) -> Reminder:
    return Reminder.objects.select_related("patient", "program", "clinic", "appointment").get(
        appointment=appointment, kind=kind
    )


def due_reminder(program, kind: str = ReminderKind.SESSION_DUE, **fields) -> Reminder:
    return factories.ReminderFactory(program=program, kind=kind, due_at=program.next_due_at, **fields)


def calendar_part(message: Message) -> Message:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part


def ics(message: Message) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(calendar_part(message).get_payload(decode=True))


def as_received(django_message) -> EmailMessage:
    """A Django message as a mail client parses it (what the SMTP sink records)."""
    return email.message_from_bytes(django_message.message().as_bytes(), policy=policy.default)
