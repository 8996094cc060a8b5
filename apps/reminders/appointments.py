"""Reminders about appointments, written in the transaction that books, cancels or closes one.

apps.scheduling announces every appointment write (`signals.appointment_changed`, inside its
transaction, after the row and its audit event) and `receivers.py` hands it here. So these rows are
written with the appointment or not at all: none is lost, and `reminder_once_per_appointment` keeps
any from being doubled. Then the usual pipeline sends them: what is due at once is enqueued when
the transaction commits, the rest (the upcoming reminder, an email held by quiet hours) the sweep
enqueues when its time comes, and the send task claims each row and re-checks it.

- booked: a confirmation now (REQUEST invite), an upcoming reminder before the start (DOMAIN.md
  "Appointments"; none when the booking is already past that instant: the confirmation covers it),
  and the program's pending session_due rows that the appointment covers are cancelled;
- cancelled: the pending confirmation and upcoming rows are cancelled, a cancellation goes now
  (CANCEL invite, the same UID, a higher SEQUENCE);
- no_show, checked_in, completed: the pending confirmation and upcoming rows are cancelled.

Rows other transactions hold are skipped (SKIP LOCKED): a sweep enqueueing them at this moment would
otherwise wait for us while we wait for it. The send task's re-check (BLOCKED_WHEN) cancels them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django_scopes import scopes_disabled
from kombu.exceptions import OperationalError

from apps.audit import events
from apps.reminders import conf, rules, tasks
from apps.reminders.models import AHEAD_KINDS, CancelReason, Reminder, ReminderKind, ReminderState
from apps.scheduling.models import Appointment

logger = logging.getLogger(__name__)

BOOKED, CANCELLED = "booked", "cancelled"


def upcoming_at(appointment: Appointment) -> datetime:
    clinic = appointment.clinic
    lead = timedelta(hours=conf.value("REMINDER_UPCOMING_LEAD_HOURS"))
    return rules.upcoming_send_at(
        appointment.starts_at, lead, clinic.tzinfo, clinic.quiet_hours_start, clinic.quiet_hours_end
    )


def _at_once(appointment: Appointment, now: datetime) -> datetime:
    clinic = appointment.clinic
    return rules.next_allowed_send(now, clinic.tzinfo, clinic.quiet_hours_start, clinic.quiet_hours_end)


def _make(appointment: Appointment, kind: str, send_at: datetime, now: datetime) -> Reminder | None:
    """The row of `kind` for the appointment, unless it has one; cancelled at once (saying why) for a
    patient who may not be emailed, as the sweep does."""
    if Reminder.objects.filter(appointment=appointment, kind=kind).exists():
        return None
    row = Reminder(
        patient=appointment.patient,
        program=appointment.program,
        clinic_id=appointment.program.clinic_id,
        appointment=appointment,
        kind=kind,
        due_at=appointment.starts_at,
        scheduled_for=send_at,
    )
    if reason := row.block_reason(now=now):
        row.state, row.cancel_reason = ReminderState.CANCELLED, reason
    row.save()
    return row


def _cancel(rows: Any, reason: str, now: datetime) -> list[Reminder]:
    pending = list(
        rows.filter(state=ReminderState.PENDING)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("patient")
    )
    Reminder.objects.filter(pk__in=[row.pk for row in pending]).update(
        state=ReminderState.CANCELLED, cancel_reason=reason, updated_at=now
    )
    return pending


def _booked(appointment: Appointment, now: datetime) -> tuple[list[Reminder | None], list[Reminder]]:
    made = [_make(appointment, ReminderKind.APPOINTMENT_BOOKED, _at_once(appointment, now), now)]
    if (upcoming := upcoming_at(appointment)) > now:
        made.append(_make(appointment, ReminderKind.APPOINTMENT_UPCOMING, upcoming, now))
    covered = Reminder.objects.filter(
        program_id=appointment.program_id, kind=ReminderKind.SESSION_DUE, due_at__lt=appointment.ends_at
    )
    return made, _cancel(covered, CancelReason.APPOINTMENT_BOOKED, now)


def _closed(appointment: Appointment, change: str, now: datetime) -> tuple[list[Reminder | None], list[Reminder]]:
    ahead = Reminder.objects.filter(appointment=appointment, kind__in=AHEAD_KINDS)
    cancelled = _cancel(ahead, CancelReason.APPOINTMENT_NOT_LIVE, now)
    if change != CANCELLED:
        return [], cancelled
    return [_make(appointment, ReminderKind.APPOINTMENT_CANCELLED, _at_once(appointment, now), now)], cancelled


def _publish(ids: list[Any]) -> None:
    """After commit: the ids to the send task. A broker that is down must not fail the booking that
    has just committed: the rows are left for the next sweep (a minute) instead."""
    try:
        tasks.send_reminders.delay([str(pk) for pk in ids])
    except OperationalError:
        logger.warning("Broker unavailable: %d appointment reminders wait for the sweep.", len(ids))
        Reminder.objects.filter(pk__in=ids, state=ReminderState.PENDING).update(enqueued_at=None)


def _enqueue_due(rows: list[Reminder], now: datetime) -> None:
    """Rows due now go to the broker when the booking commits (the sweep would, a minute later)."""
    due = [row.pk for row in rows if row.state == ReminderState.PENDING and row.scheduled_for <= now]
    if due:
        Reminder.objects.filter(pk__in=due).update(enqueued_at=now, updated_at=now)
        transaction.on_commit(lambda: _publish(due))


@scopes_disabled()  # one appointment that came through its service's gate; its reminder rows follow it
def reminders_for_appointment(*, appointment: Appointment, change: str, actor: Any, now: datetime) -> list[Reminder]:
    """Write, cancel and enqueue the appointment's reminders for `change` (see the module docstring);
    returns the rows made. Runs inside the appointment's transaction."""
    if change == BOOKED:
        made, cancelled = _booked(appointment, now)
    else:
        made, cancelled = _closed(appointment, change, now)
    rows = [row for row in made if row is not None]
    for row in rows:
        events.record(action=events.Action.CREATE, obj=row, actor=actor)
    for row in cancelled:
        events.record(action=events.Action.UPDATE, obj=row, actor=actor)
    _enqueue_due(rows, now)
    return rows
