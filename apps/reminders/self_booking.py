"""The patient books, or cancels, from the links in a reminder email (the signed token is the credential).

Booking goes through `scheduling.booking.appointment_book(actor=BOOKING_LINK)`, which applies every
rule of the finder to the chosen time again; cancelling through `scheduling.visits.appointment_cancel`,
which records a late cancellation. A booking link books once: the reminder row records the
appointment it led to, in the booking's transaction, and a second use is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit import events
from apps.clinics.models import Machine
from apps.programs.services import lock
from apps.reminders.models import Reminder
from apps.scheduling import booking, visits
from apps.scheduling.booking import BOOKING_LINK
from apps.scheduling.models import Appointment

PATIENT_CANCEL_REASON = "Cancelled by the patient (email link)."


class LinkUsed(Exception):
    """This reminder's booking link already led to a booking."""


@transaction.atomic
def reminder_book(*, reminder: Reminder, machine_id: Any, starts_at: datetime, now: datetime) -> Appointment:
    """Book the chosen slot for the patient of the reminder; SlotTaken, ValidationError or LinkUsed refuse it.

    Lock order (apps.programs.services): the program, then the reminder row (two clicks of one link
    queue here, and the second finds the booking of the first), then the booking's machine row.
    """
    program = lock(reminder.program)
    row = Reminder.objects.select_for_update(of=("self",)).select_related("patient").get(pk=reminder.pk)
    if row.booked_appointment_id is not None:
        raise LinkUsed()
    # The machine's clinic is the program's: the token's reminder decides what may be booked.
    machine = Machine.objects.filter(pk=machine_id, clinic_id=program.clinic_id).first() if machine_id else None
    if machine is None:
        raise ValidationError({"machine": "Choose one of the times shown."})
    appointment = booking.appointment_book(
        actor=BOOKING_LINK, program=program, machine=machine, starts_at=starts_at, now=now
    )
    Reminder.objects.filter(pk=row.pk).update(booked_appointment=appointment, updated_at=now)
    events.record(action=events.Action.UPDATE, obj=row, actor=BOOKING_LINK)
    return appointment


def reminder_cancel_appointment(*, reminder: Reminder, now: datetime) -> Appointment:
    """Cancel the appointment the reminder is about (late inside the clinic's window); ValidationError
    when it is no longer booked or has begun."""
    return visits.appointment_cancel(
        actor=BOOKING_LINK, appointment=reminder.appointment, reason=PATIENT_CANCEL_REASON, now=now
    )
