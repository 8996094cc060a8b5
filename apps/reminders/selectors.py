"""Reads of reminders: the sweep's candidates, a patient's history, counts per clinic.

The sweep's reads are system-wide (every clinic); the staff reads take a patient that already came
through the gate, or the user whose clinics bound the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    UUIDField,
    Value,
    When,
)

from apps.clinics.access import restrict, visible_clinic_ids
from apps.clinics.models import Clinic
from apps.patients.models import Patient
from apps.programs.models import Program, ProgramStatus
from apps.reminders import conf, rules, tokens
from apps.reminders.models import (
    BLOCKED_WHEN,
    BOOKING_KINDS,
    DUE_FIELD,
    DUE_PHASE,
    Channel,
    Reminder,
    ReminderKind,
    ReminderState,
    blocked_when,
)
from apps.scheduling.models import Appointment

# --- The sweep -----------------------------------------------------------------------------------


class NewUUID(Func):
    """A random UUID made by the database, for rows inserted by INSERT ... SELECT."""

    output_field = UUIDField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return "gen_random_uuid()", []

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return "lower(hex(randomblob(16)))", []  # Django keeps a UUID on SQLite as 32 hex digits


def _any_patient_block() -> Q:
    blocked = Q()
    for reason in rules.PATIENT_REASONS:
        blocked |= BLOCKED_WHEN[reason]
    return blocked


def programs_newly_due(*, kind: str, now: datetime) -> QuerySet[Program]:
    """Active programs whose `kind` due time lies in (now - window, now] and has no reminder yet.

    A range scan of program_next_due_idx / program_overdue_idx / program_questionnaire_due_idx
    (status, due), anti-joined through reminder_once_per_due: the cost follows the number of
    recently due programs, not the size of the programs table. Ordered by (due, id): concurrent
    sweeps insert the same keys in the same order, so they wait for each other, never deadlock.
    session_due and maintenance_due read the same range of next_due_at, each keeping its phase's
    rows (a filter on the rows found, no index of its own: the range is a day's due programs).
    """
    due = DUE_FIELD[kind]
    window = timedelta(hours=conf.value("REMINDER_MATERIALISE_WINDOW_HOURS"))
    existing = Reminder.objects.filter(
        patient=OuterRef("patient_id"), program=OuterRef("pk"), kind=kind, due_at=OuterRef(due)
    )
    programs = Program.objects.filter(status=ProgramStatus.ACTIVE, **{f"{due}__lte": now, f"{due}__gt": now - window})
    if kind in DUE_PHASE:
        programs = programs.filter(phase=DUE_PHASE[kind])
    if kind == ReminderKind.SESSION_DUE:
        # The first session is due the moment a program starts, with the patient in the clinic:
        # "next session" reminders follow completed sessions (DOMAIN.md: after the recovery window).
        programs = programs.filter(last_completed_at__isnull=False)
        # DOMAIN.md "Appointments": a patient already booked for this due time gets no session_due
        # (their appointment_upcoming says it instead). The same test as BLOCKED_WHEN's, per program.
        booked = Appointment.objects.live().filter(program=OuterRef("pk"), ends_at__gt=OuterRef(due))
        programs = programs.filter(~Exists(booked))
    return programs.filter(~Exists(existing)).order_by(due, "id")


def reminder_rows(*, kind: str, now: datetime, limit: int) -> tuple[tuple[str, ...], QuerySet]:
    """(column names, a SELECT of them): the new reminder rows for `kind`, for INSERT ... SELECT.

    A patient who may not be emailed gets a cancelled row naming why (the history then says why no
    email went). `scheduled_for` starts at the due time; the caller moves rows out of quiet hours.
    """
    due = F(DUE_FIELD[kind])
    reason = Case(*(When(BLOCKED_WHEN[r], then=Value(r)) for r in rules.PATIENT_REASONS), default=Value(""))
    state = Case(When(_any_patient_block(), then=Value(ReminderState.CANCELLED)), default=Value(ReminderState.PENDING))
    columns = {
        "id": NewUUID(),
        "patient_id": F("patient_id"),
        "program_id": F("id"),
        "clinic_id": F("clinic_id"),
        "kind": Value(kind),
        "channel": Value(Channel.EMAIL),
        "due_at": due,
        "scheduled_for": due,
        "state": state,
        "cancel_reason": reason,
        "attempts": Value(0),
        "message_id": Value(""),
        "last_error": Value(""),
        "created_at": Value(now, output_field=DateTimeField()),
        "updated_at": Value(now, output_field=DateTimeField()),
    }
    # Selected in this order (aliased: an annotation may not take a model field's name).
    rows = programs_newly_due(kind=kind, now=now).values(**{f"new_{name}": expr for name, expr in columns.items()})
    return tuple(columns), rows[:limit]


def reminders_to_enqueue(*, now: datetime, limit: int) -> list[tuple[UUID, str]]:
    """(id, block reason or "") of pending rows whose time has come and whose id is not in flight.

    Locks the rows it returns (SKIP LOCKED: a second sweep at the same moment takes other rows, or
    none) until the caller's transaction marks them enqueued or cancelled. Only the reminder rows are
    locked, never the patients or programs joined to name a reason: sessions lock programs.
    """
    requeue_before = now - conf.seconds("REMINDER_REQUEUE_AFTER_SECONDS")
    reason = Case(*(When(blocked_when(r, now), then=Value(r)) for r in rules.BLOCK_REASONS), default=Value(""))
    rows = (
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=ReminderState.PENDING, scheduled_for__lte=now)
        .exclude(enqueued_at__gt=requeue_before)
        .annotate(block=reason)
        .order_by("scheduled_for")
        .values_list("id", "block")[:limit]
    )
    return list(rows)


def claims_expired(*, now: datetime) -> QuerySet[Reminder]:
    """Rows left in `sending` by a worker that died (SIGKILL, OOM, a lost host)."""
    return Reminder.objects.filter(state=ReminderState.SENDING, lease_until__lt=now)


# --- Staff reads --------------------------------------------------------------------------------


def reminder_history(*, patient: Patient) -> QuerySet[Reminder]:
    """Every reminder of a patient, newest due first (the staff UI's and admin's history)."""
    return Reminder.objects.of_patient(patient).select_related("program", "clinic").order_by("-due_at", "kind")


@dataclass
class ClinicReminderCounts:
    clinic: Clinic
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def reminder_counts_by_clinic(*, user: Any, now: datetime, days: int = 30) -> list[ClinicReminderCounts]:
    """Reminders per state for each clinic the user may see, due in the last `days` days or later.

    One GROUP BY over reminder_clinic_state_idx. Clinics without reminders are listed with zeros.
    """
    clinics = restrict(Clinic.objects.order_by("name"), visible_clinic_ids(user), "id")
    by_clinic = {clinic.pk: ClinicReminderCounts(clinic, dict.fromkeys(ReminderState.values, 0)) for clinic in clinics}
    rows = (
        Reminder.objects.filter(clinic_id__in=list(by_clinic), due_at__gte=now - timedelta(days=days))
        .values_list("clinic_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for clinic_id, state, n in rows:
        by_clinic[clinic_id].counts[state] = n
    return list(by_clinic.values())


def reminder_for_unsubscribe(*, token: str) -> Reminder:
    """The reminder a signed unsubscribe token names; InvalidToken when it is tampered, expired or unknown."""
    max_age = timedelta(days=conf.value("REMINDER_UNSUBSCRIBE_MAX_AGE_DAYS"))
    return _reminder_named(tokens.reminder_id_from(token, max_age=max_age))


def reminder_for_booking(*, token: str) -> Reminder:
    """The due or overdue reminder a "choose a time" token names; InvalidToken otherwise."""
    max_age = timedelta(days=conf.value("REMINDER_BOOKING_LINK_MAX_AGE_DAYS"))
    reminder = _reminder_named(tokens.reminder_id_from(token, max_age=max_age, salt=tokens.BOOKING_SALT))
    if reminder.kind not in BOOKING_KINDS:
        raise tokens.InvalidToken(expired=False)
    return reminder


def reminder_for_cancel(*, token: str) -> Reminder:
    """The appointment reminder a cancel token names (with its appointment); InvalidToken otherwise."""
    max_age = timedelta(days=conf.value("REMINDER_CANCEL_LINK_MAX_AGE_DAYS"))
    reminder = _reminder_named(tokens.reminder_id_from(token, max_age=max_age, salt=tokens.CANCEL_SALT))
    if reminder.appointment_id is None:
        raise tokens.InvalidToken(expired=False)
    return reminder


def _reminder_named(reminder_id: UUID) -> Reminder:
    related = ("clinic", "patient", "program", "appointment", "appointment__clinic")
    try:
        return Reminder.objects.select_related(*related).get(pk=reminder_id)
    except Reminder.DoesNotExist:
        raise tokens.InvalidToken(expired=False) from None
