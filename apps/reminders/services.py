"""Writes of reminders: the periodic sweep, and a patient's unsubscribe.

The sweep (Celery beat, every minute) works in one transaction:
1. recover claims whose lease expired (a worker died mid-send): back to pending, nothing lost;
2. materialise a row for each due time that has come (insert-if-absent on reminder_once_per_due);
3. take pending rows whose time has come (FOR UPDATE SKIP LOCKED), cancel those that may no longer
   go out (unsubscribed, no consent, patient deleted or deceased, program not active, due moved),
   mark the rest enqueued and return their ids.
The broker is the caller's: `tasks.sweep_and_enqueue` hands those ids to `send_reminders` in
batches after commit, so this module never imports the tasks that call it.
Run twice or concurrently, it creates and enqueues each reminder once; a duplicate that slips
through anyway (a lost broker message re-enqueued) is stopped by the send task's claim.

Rows are written only here and in `delivery.py`, and every write is audited: the rows the sweep
creates and cancels (one event per row, written in bulk at the end of the tick), each email sent
or failed (delivery.py) and each unsubscribe.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import QuerySet
from django_scopes import scopes_disabled

from apps.audit import events
from apps.audit.events import SYSTEM
from apps.audit.subjects import Subject
from apps.clinics.models import Clinic
from apps.patients.models import Patient
from apps.reminders import conf, rules, selectors
from apps.reminders.models import DUE_FIELD, CancelReason, Reminder, ReminderState

EXPIRED_CLAIM = "The claim expired: the worker was lost mid-send."


@dataclass
class SweepResult:
    recovered: int = 0
    materialised: int = 0
    cancelled: int = 0
    enqueued: list[UUID] = field(default_factory=list)
    more: bool = False  # a bound was reached: the task re-queues itself


# --- 1. Recover -----------------------------------------------------------------------------------


def _fail_exhausted(expired: Any, now: datetime) -> list[Reminder]:
    limit = conf.count("REMINDER_MAX_ATTEMPTS")
    failed = []
    for reminder in expired.filter(attempts__gte=limit).select_related("patient"):
        # Compare-and-set on the claim: a worker that comes back to life cannot be overwritten, nor overwrite.
        still = Reminder.objects.filter(pk=reminder.pk, state=ReminderState.SENDING, claim=reminder.claim)
        done = {"claim": None, "lease_until": None, "last_error": EXPIRED_CLAIM, "updated_at": now}
        if still.update(state=ReminderState.FAILED, **done):
            failed.append(reminder)
    return failed


def recover_expired_claims(now: datetime) -> tuple[int, list[Reminder]]:
    """(rows back to pending, rows failed for good) among claims whose lease expired.

    A claim outlives any live send (lease > task time limit), so an expired one was abandoned.
    The email may or may not have left before the worker died; sending again is the lesser harm
    than never, and it carries the same Message-ID. A row that keeps killing workers fails.
    """
    expired = selectors.claims_expired(now=now)
    failed = _fail_exhausted(expired, now)
    recovered = expired.update(
        state=ReminderState.PENDING,
        claim=None,
        lease_until=None,
        enqueued_at=None,
        last_error=EXPIRED_CLAIM,
        updated_at=now,
    )
    return recovered, failed


# --- 2. Materialise -----------------------------------------------------------------------------


def _utc(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite (the embedded default) hands back text from a raw cursor
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _insert_select(columns: tuple[str, ...], rows: QuerySet) -> list[tuple[Any, datetime, int, Any]]:
    """INSERT ... SELECT ... ON CONFLICT DO NOTHING; (id, due_at, clinic_id, patient_id) of each row inserted.

    The ORM has no INSERT ... SELECT: the SELECT is compiled from the queryset and wrapped. One
    statement, nothing per row in Python (bulk_create costs several times the database's work). ON
    CONFLICT on reminder_once_per_due: a concurrent sweep inserting the same key makes this one wait
    for it to commit, then skip the row.
    """
    select_sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    table = quote(Reminder._meta.db_table)
    returning = "RETURNING id, due_at, clinic_id, patient_id"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {select_sql} ON CONFLICT DO NOTHING {returning}", params)
        return [(pk, _utc(due), clinic_id, patient_id) for pk, due, clinic_id, patient_id in cursor.fetchall()]


def move_out_of_quiet_hours(inserted: list[tuple[Any, datetime, int, Any]], now: datetime) -> None:
    """New rows due in their clinic's quiet hours go when those end (rules.next_allowed_send).

    The rule stays in Python, where DST gaps and folds follow the platform's convention; rows of
    one clinic's night share their end, so this is one UPDATE per clinic and night, not per row.
    """
    clinics = Clinic.objects.in_bulk({clinic_id for _pk, _due, clinic_id, _patient in inserted})
    later: dict[datetime, list[Any]] = defaultdict(list)
    for pk, due, clinic_id, _patient in inserted:
        clinic = clinics[clinic_id]
        allowed = rules.next_allowed_send(due, clinic.tzinfo, clinic.quiet_hours_start, clinic.quiet_hours_end)
        if allowed != due:
            later[allowed].append(pk)
    for allowed, ids in later.items():
        Reminder.objects.filter(pk__in=ids).update(scheduled_for=allowed, updated_at=now)


def materialise_due(now: datetime) -> tuple[list[tuple[Any, int, Any]], bool]:
    """Rows for due times that have come; ((id, clinic, patient) of the rows inserted, whether a kind hit its limit)."""
    limit, inserted, more = conf.count("REMINDER_MATERIALISE_LIMIT"), [], False
    for kind in DUE_FIELD:  # appointment reminders are made when the appointment is booked or cancelled
        rows = _insert_select(*selectors.reminder_rows(kind=kind, now=now, limit=limit))
        move_out_of_quiet_hours(rows, now)
        inserted += [(pk, clinic_id, patient_id) for pk, _due, clinic_id, patient_id in rows]
        more |= len(rows) == limit
    return inserted, more


# --- 3. Enqueue ---------------------------------------------------------------------------------


def _cancel(ids_by_reason: dict[str, list[UUID]], now: datetime) -> list[tuple[Any, int, Any]]:
    """Cancel pending rows, by reason; (id, clinic, patient) of each row cancelled."""
    cancelled = []
    for reason, ids in ids_by_reason.items():
        pending = Reminder.objects.filter(pk__in=ids, state=ReminderState.PENDING)
        rows = list(pending.values_list("pk", "clinic_id", "patient_id"))  # locked by the enqueue selection
        pending.filter(pk__in=[pk for pk, _clinic, _patient in rows]).update(
            state=ReminderState.CANCELLED, cancel_reason=reason, updated_at=now
        )
        cancelled += rows
    return cancelled


def enqueue_due(now: datetime) -> tuple[list[UUID], list[tuple[Any, int, Any]], bool]:
    """(ids to send, (id, clinic, patient) of the rows cancelled, whether the round was full).

    The ids are marked enqueued here; the caller hands them to the broker after commit.
    """
    limit = conf.count("REMINDER_ENQUEUE_LIMIT")
    rows = selectors.reminders_to_enqueue(now=now, limit=limit)
    blocked: dict[str, list[UUID]] = defaultdict(list)
    sendable = []
    for pk, reason in rows:
        if reason:
            blocked[reason].append(pk)
        else:
            sendable.append(pk)
    cancelled = _cancel(blocked, now)
    Reminder.objects.filter(pk__in=sendable).update(enqueued_at=now, updated_at=now)
    return sendable, cancelled, len(rows) == limit


@scopes_disabled()  # a system task over every clinic, not a user's view of some
@transaction.atomic
def reminders_sweep(*, now: datetime) -> SweepResult:
    """One beat tick's rows (see the module docstring); `enqueued` holds the ids the caller must send."""
    recovered, failed = recover_expired_claims(now)
    result = SweepResult(recovered=recovered)
    created, more_due = materialise_due(now)
    result.enqueued, cancelled, more_pending = enqueue_due(now)
    result.materialised, result.cancelled, result.more = len(created), len(cancelled), more_due or more_pending
    # Events last: the audit chain's lock is held from the first event to the commit, and a sweep
    # holding it while it inserts and enqueues would stall every worker's mark-sent meanwhile.
    _audit_rows(events.Action.CREATE, created)
    _audit_rows(events.Action.UPDATE, cancelled)
    for reminder in failed:
        events.record(action=events.Action.UPDATE, obj=reminder, actor=SYSTEM)
    return result


def _audit_rows(action: events.Action, rows: list[tuple[Any, int, Any]]) -> None:
    """One event per reminder row the sweep created or cancelled, in one INSERT."""
    organization_of = dict(
        Clinic.objects.filter(pk__in={clinic for _pk, clinic, _p in rows}).values_list("pk", "organization_id")
    )
    subjects = [(pk, Subject(organization_of[clinic], clinic, patient)) for pk, clinic, patient in rows]
    events.record_row_events(action=action, object_type=Reminder._meta.label_lower, rows=subjects, actor=SYSTEM)


# --- Unsubscribe ----------------------------------------------------------------------------------


class PatientLinkActor:
    """The patient, acting through the link in a reminder email (recorded without any name)."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False

    def get_username(self) -> str:
        return "patient (unsubscribe link)"


PATIENT_LINK = PatientLinkActor()


@transaction.atomic
def patient_unsubscribe(*, reminder: Reminder, now: datetime) -> int:
    """Stop every reminder email to the reminder's patient; returns how many pending rows it cancelled.

    Idempotent: a second click (or the mail provider's one-click POST after the patient's own)
    changes nothing and records nothing. Locks first (the patient, then its pending reminders) and
    audit events last: a worker marking one of them sent holds its row and then waits for the audit
    chain's lock, so taking the chain's lock before the rows could deadlock with it.
    """
    patient = Patient.objects.select_for_update().get(pk=reminder.patient_id)
    pending = list(
        Reminder.objects.select_for_update(of=("self",))
        .filter(patient=patient, state=ReminderState.PENDING)
        .select_related("patient")
    )
    Reminder.objects.filter(pk__in=[row.pk for row in pending]).update(
        state=ReminderState.CANCELLED, cancel_reason=CancelReason.UNSUBSCRIBED, updated_at=now
    )
    newly = patient.unsubscribed_at is None
    if newly:
        patient.unsubscribed_at = now
        patient.save(update_fields=["unsubscribed_at", "updated_at"])
    for changed in ([patient] if newly else []) + pending:
        events.record(action=events.Action.UPDATE, obj=changed, actor=PATIENT_LINK)
    return len(pending)
