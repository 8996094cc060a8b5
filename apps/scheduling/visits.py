"""Appointments after booking: check-in, cancellation, no-show, the session recorded from one.

Each is atomic and audits the row it changes. Lock order (apps.programs.services): the program row,
then the appointment row, then the audit chain (taken by the first audit event, held to commit).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import events
from apps.audit.events import SYSTEM
from apps.clinics.models import Clinic
from apps.programs.models import Program, TrainingSession
from apps.programs.services import lock
from apps.programs.sessions import session_record
from apps.scheduling import selectors, signals
from apps.scheduling.booking import BOOKING_LINK, gate
from apps.scheduling.models import LIVE_STATES, Appointment, AppointmentState

CHECK_IN_EARLY = timedelta(hours=1)  # a patient may arrive early


def _lock(appointment: Appointment) -> Appointment:
    appointment.refresh_from_db(from_queryset=Appointment._base_manager.select_for_update())
    return appointment


def _move(appointment: Appointment, state: str, actor: Any) -> Appointment:
    if not appointment.can_move_to(state):
        raise ValidationError(
            {
                "state": f"An appointment that is {appointment.get_state_display().lower()} cannot become "
                f"{AppointmentState(state).label.lower()}."
            }
        )
    appointment.state = state
    appointment.save()
    events.record(action=events.Action.UPDATE, obj=appointment, actor=actor)
    signals.appointment_changed.send(sender=Appointment, appointment=appointment, change=state, actor=actor)
    return appointment


@transaction.atomic
def appointment_cancel(
    *, actor: Any, appointment: Appointment, reason: str, now: datetime | None = None
) -> Appointment:
    """Cancel a live appointment; within the late-cancellation window it is recorded as late."""
    if actor is not BOOKING_LINK:
        gate(actor, appointment, "scheduling.change_appointment")
    reason = (reason or "").strip()[:300]
    if not reason:
        raise ValidationError({"cancel_reason": "Say why the appointment is cancelled."})
    now = now or timezone.now()
    _lock(appointment)
    if actor is BOOKING_LINK and appointment.starts_at <= now:
        raise ValidationError({"state": "This appointment has already started; call the clinic."})
    rules = selectors.booking_rules_for(appointment.clinic)
    appointment.cancelled_at = now
    appointment.cancel_reason = reason
    appointment.cancelled_late = appointment.starts_at - now < rules.late_cancel
    appointment.sequence += 1
    return _move(appointment, AppointmentState.CANCELLED, actor)


@transaction.atomic
def appointment_check_in(*, actor: Any, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """The patient has arrived: from an hour before the start until the appointment ends."""
    gate(actor, appointment, "scheduling.change_appointment")
    now = now or timezone.now()
    _lock(appointment)
    if appointment.state == AppointmentState.BOOKED and not (
        appointment.starts_at - CHECK_IN_EARLY <= now < appointment.ends_at
    ):
        raise ValidationError({"state": "Check-in opens an hour before the start and closes at its end."})
    appointment.checked_in_at = now
    return _move(appointment, AppointmentState.CHECKED_IN, actor)


@transaction.atomic
def appointment_no_show(*, actor: Any, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Mark a booked appointment a no-show once its start has passed (staff, before the job does)."""
    gate(actor, appointment, "scheduling.change_appointment")
    now = now or timezone.now()
    _lock(appointment)
    if appointment.state == AppointmentState.BOOKED and now < appointment.starts_at:
        raise ValidationError({"state": "An appointment that has not started yet cannot be a no-show."})
    return _move(appointment, AppointmentState.NO_SHOW, actor)


@transaction.atomic
def session_record_from(*, actor: Any, appointment: Appointment, **session: Any) -> TrainingSession:
    """Record the session of a checked-in appointment (`programs.sessions.session_record`'s arguments
    but the program) and complete the appointment with it, in one transaction.

    Lock order: the program, then the appointment, then (recording) the audit chain.
    """
    gate(actor, appointment, "scheduling.change_appointment")
    lock(appointment.program)
    _lock(appointment)
    if appointment.state != AppointmentState.CHECKED_IN:
        raise ValidationError({"appointment": "Check the patient in before recording the session."})
    recorded = session_record(actor=actor, program=appointment.program, **session)
    appointment.session = recorded
    _move(appointment, AppointmentState.COMPLETED, actor)
    return recorded


def no_show_candidates(*, now: datetime, limit: int = 5000) -> list[Any]:
    """Ids of booked appointments whose start + their clinic's grace has passed (oldest first)."""
    grace = {
        clinic_id: selectors.booking_rules_for(clinic).no_show_grace
        for clinic_id, clinic in Clinic.objects.filter(
            pk__in=Appointment.objects.filter(state=AppointmentState.BOOKED, starts_at__lt=now).values("clinic_id")
        )
        .in_bulk()
        .items()
    }
    rows = (
        Appointment.objects.filter(state=AppointmentState.BOOKED, starts_at__lt=now)
        .order_by("starts_at")
        .values_list("pk", "clinic_id", "starts_at")[:limit]
    )
    return [pk for pk, clinic_id, starts_at in rows if starts_at + grace[clinic_id] <= now]


def mark_no_shows(*, now: datetime) -> int:
    """The beat job: booked appointments not checked in by start + the clinic's grace become no-shows.

    One short transaction per appointment (SKIP LOCKED: staff checking the patient in at that moment
    win, and a second job at once takes other rows). A no-show never lapses a patient by itself.
    """
    marked = 0
    for pk in no_show_candidates(now=now):
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=AppointmentState.BOOKED)
                .first()
            )
            if appointment is not None:
                _move(appointment, AppointmentState.NO_SHOW, SYSTEM)
                marked += 1
    return marked


@transaction.atomic
def cancel_for_program(*, program: Program, actor: Any, now: datetime) -> int:
    """A program that ends or is put on hold frees the machines its future appointments held."""
    reason = f"Program {program.get_status_display().lower()}."
    cancelled = 0
    future = Appointment.objects.select_for_update().filter(program=program, state__in=LIVE_STATES, starts_at__gt=now)
    for appointment in list(future.order_by("starts_at")):  # every row locked before the first audit event
        appointment.cancelled_at, appointment.cancel_reason = now, reason
        appointment.sequence += 1
        _move(appointment, AppointmentState.CANCELLED, actor)
        cancelled += 1
    return cancelled
