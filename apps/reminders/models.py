from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.db.models import Exists, OuterRef, Q

from apps.assessments.models import PatientRecordQuerySet, patient_record_manager
from apps.audit.subjects import Subject
from apps.programs.models import Phase, ProgramStatus
from apps.reminders import rules
from apps.scheduling.models import LIVE_STATES, Appointment, AppointmentState


class ReminderKind(models.TextChoices):
    SESSION_DUE = "session_due", "Next session due"
    OVERDUE = "overdue", "Overdue (day 7)"
    MAINTENANCE_DUE = "maintenance_due", "Maintenance session due"
    QUESTIONNAIRE_DUE = "questionnaire_due", "Questionnaire due"
    APPOINTMENT_BOOKED = "appointment_booked", "Appointment booked (confirmation)"
    APPOINTMENT_UPCOMING = "appointment_upcoming", "Appointment coming up"
    APPOINTMENT_CANCELLED = "appointment_cancelled", "Appointment cancelled"


# Reminders about one appointment (DOMAIN.md "Appointments"): made by apps.reminders.appointments in
# the transaction that books or cancels it, never by the sweep. Their `due_at` is the appointment's start.
APPOINTMENT_KINDS = (
    ReminderKind.APPOINTMENT_BOOKED,
    ReminderKind.APPOINTMENT_UPCOMING,
    ReminderKind.APPOINTMENT_CANCELLED,
)
# Those that announce an appointment still ahead: needless once it is cancelled, missed, begun or over.
AHEAD_KINDS = (ReminderKind.APPOINTMENT_BOOKED, ReminderKind.APPOINTMENT_UPCOMING)
# Those that may carry a "choose a time" link (the patient has a session to book).
BOOKING_KINDS = (ReminderKind.SESSION_DUE, ReminderKind.OVERDUE)


# The program field holding each kind's due time (computed by apps.programs when sessions are recorded).
DUE_FIELD = {
    ReminderKind.SESSION_DUE: "next_due_at",
    ReminderKind.OVERDUE: "overdue_at",
    ReminderKind.MAINTENANCE_DUE: "next_due_at",
    ReminderKind.QUESTIONNAIRE_DUE: "questionnaire_due_at",
}
# Two kinds read next_due_at: the phase says whose due time it is. A program moved into maintenance no
# longer has a training session due (a pending session_due row is stale, even at an equal instant).
DUE_PHASE = {ReminderKind.SESSION_DUE: Phase.TRAINING, ReminderKind.MAINTENANCE_DUE: Phase.MAINTENANCE}


class Channel(models.TextChoices):
    EMAIL = "email", "Email"


class ReminderState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class CancelReason(models.TextChoices):
    PATIENT_DELETED = rules.DELETED, "Patient deleted"
    PATIENT_DECEASED = rules.DECEASED, "Patient deceased"
    UNSUBSCRIBED = rules.UNSUBSCRIBED, "Unsubscribed"
    NO_CONSENT = rules.NO_CONSENT, "No consent to email reminders"
    NO_EMAIL = rules.NO_EMAIL, "No email address"
    PROGRAM_NOT_ACTIVE = rules.PROGRAM_NOT_ACTIVE, "Program not active"
    DUE_MOVED = rules.DUE_MOVED, "Due time moved (a session was recorded, or the phase changed)"
    APPOINTMENT_BOOKED = rules.APPOINTMENT_BOOKED, "An appointment is booked for this due time"
    APPOINTMENT_NOT_LIVE = rules.APPOINTMENT_NOT_LIVE, "Appointment cancelled, missed, begun or over"


class ReminderQuerySet(PatientRecordQuerySet):
    def blocked(self, reason: str, *, now: datetime | None = None) -> ReminderQuerySet:
        """Rows `rules.block_reason` would name `reason` for (its SQL twin; tests check they agree).

        With `now`, as `Reminder.block_reason(now=...)`: an appointment that has begun counts too.
        """
        return self.filter(blocked_when(reason, now))

    def stale_or_blocked(self, *, now: datetime | None = None) -> ReminderQuerySet:
        condition = Q()
        for reason in rules.BLOCK_REASONS:
            condition |= blocked_when(reason, now)
        return self.filter(condition)


def _due_moved() -> Q:
    moved = Q()
    for kind, field in DUE_FIELD.items():
        # `~Q(a=b)` is also true when the program's due time is NULL (nothing is due any more).
        stale = ~Q(**{f"program__{field}": models.F("due_at")})
        if kind in DUE_PHASE:
            stale |= ~Q(program__phase=DUE_PHASE[kind])
        moved |= Q(kind=kind) & stale
    return moved


def _booked_ahead() -> Q:
    # The patient holds a live appointment of the program that ends after this due time: booked for it.
    # `_base_manager`: the outer query is the scoped one.
    live = Appointment._base_manager.filter(
        program=OuterRef("program_id"), state__in=LIVE_STATES, ends_at__gt=OuterRef("due_at")
    )
    return Q(kind=ReminderKind.SESSION_DUE) & Q(Exists(live))


class _Conditions(dict):
    """BLOCKED_WHEN: a subquery's condition is built when first asked for (a queryset cannot be
    made while the models load)."""

    LATER = {rules.APPOINTMENT_BOOKED: _booked_ahead}

    def __missing__(self, reason: str) -> Q:
        self[reason] = self.LATER[reason]()
        return self[reason]


BLOCKED_WHEN: dict[str, Q] = _Conditions(
    {
        rules.DELETED: Q(patient__deleted_at__isnull=False),
        rules.DECEASED: Q(patient__deceased_on__isnull=False),
        rules.UNSUBSCRIBED: Q(patient__unsubscribed_at__isnull=False),
        rules.NO_CONSENT: Q(patient__email_reminder_consent=False),
        rules.NO_EMAIL: Q(patient__email=""),
        # A lapsed patient books to come back: an appointment's emails do not ask the program's status.
        rules.PROGRAM_NOT_ACTIVE: ~Q(program__status=ProgramStatus.ACTIVE) & Q(appointment__isnull=True),
        rules.DUE_MOVED: _due_moved(),  # the kinds of DUE_FIELD only
        rules.APPOINTMENT_NOT_LIVE: Q(kind__in=AHEAD_KINDS) & ~Q(appointment__state=AppointmentState.BOOKED),
    }
)


def blocked_when(reason: str, now: datetime | None = None) -> Q:
    """BLOCKED_WHEN[reason]; with `now`, an appointment that has begun by then is not live either."""
    if now is None or reason != rules.APPOINTMENT_NOT_LIVE:
        return BLOCKED_WHEN[reason]
    return BLOCKED_WHEN[reason] | Q(kind__in=AHEAD_KINDS, appointment__starts_at__lte=now)


class Reminder(models.Model):
    """One reminder: (patient, program, kind, due time), once. PostgreSQL is the record of delivery.

    The sweep materialises a row when a program's due time has come and moves it through
    pending → sending → sent | failed, or cancelled. Broker messages only carry ids: a lost or
    duplicated message can neither lose nor duplicate a reminder, because the row decides.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="reminders")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="reminders")
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.PROTECT, related_name="+", help_text="The program's clinic: sender and zone."
    )
    kind = models.CharField(max_length=24, choices=ReminderKind.choices)
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reminders",
        help_text="The appointment an appointment reminder is about.",
    )
    booked_appointment = models.OneToOneField(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="booked_from",
        help_text="The appointment the patient booked from this email's link (the link is then used up).",
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    due_at = models.DateTimeField(help_text="The program's due time this reminder is for.")
    scheduled_for = models.DateTimeField(help_text="Not before: the due time, moved out of quiet hours.")
    state = models.CharField(max_length=10, choices=ReminderState.choices, default=ReminderState.PENDING)
    cancel_reason = models.CharField(max_length=24, choices=CancelReason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When its id last went to the broker.")
    claim = models.UUIDField(null=True, blank=True, editable=False, help_text="The current send claim (its token).")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A send claim expires then (worker lost).")
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = patient_record_manager(ReminderQuerySet)

    class Meta:
        ordering = ["-due_at", "kind"]
        constraints = [
            # At most one reminder per due time: materialising is insert-if-absent on this key, so
            # two sweeps at once (several beat hosts) create one row.
            models.UniqueConstraint(
                fields=["patient", "program", "kind", "due_at"],
                condition=Q(appointment__isnull=True),
                name="reminder_once_per_due",
            ),
            # An appointment's confirmation, upcoming and cancellation emails: each once.
            models.UniqueConstraint(
                fields=["appointment", "kind"],
                condition=Q(appointment__isnull=False),
                name="reminder_once_per_appointment",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=APPOINTMENT_KINDS, appointment__isnull=False)
                | (~Q(kind__in=APPOINTMENT_KINDS) & Q(appointment__isnull=True)),
                name="reminder_appointment_kinds_name_one",
            ),
            models.CheckConstraint(condition=Q(state__in=ReminderState.values), name="reminder_state_valid"),
            models.CheckConstraint(condition=Q(kind__in=ReminderKind.values), name="reminder_kind_valid"),
            models.CheckConstraint(
                condition=~Q(state=ReminderState.SENT) | (Q(sent_at__isnull=False) & ~Q(message_id="")),
                name="reminder_sent_has_time_and_id",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReminderState.SENDING) | (Q(lease_until__isnull=False) & Q(claim__isnull=False)),
                name="reminder_sending_has_claim",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReminderState.CANCELLED) | ~Q(cancel_reason=""),
                name="reminder_cancel_has_reason",
            ),
        ]
        indexes = [
            # The sweep's enqueue step: pending rows whose time has come, oldest first.
            models.Index(
                fields=["scheduled_for"], condition=Q(state=ReminderState.PENDING), name="reminder_pending_idx"
            ),
            # The sweep's recovery step: claims whose lease expired (a killed worker).
            models.Index(fields=["lease_until"], condition=Q(state=ReminderState.SENDING), name="reminder_lease_idx"),
            # Counts by state per clinic (admin), over a recent window of due times.
            models.Index(fields=["clinic", "state", "due_at"], name="reminder_clinic_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} reminder, due {self.due_at:%Y-%m-%d %H:%M} UTC ({self.get_state_display()})"

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )

    def program_due_at(self) -> datetime | None:
        """The program's current due time of this kind (None when nothing of it is due, e.g. another phase)."""
        if self.kind not in DUE_FIELD:
            return None
        if self.kind in DUE_PHASE and self.program.phase != DUE_PHASE[self.kind]:
            return None
        return getattr(self.program, DUE_FIELD[self.kind])

    def _booked_ahead(self) -> bool:
        if self.kind != ReminderKind.SESSION_DUE:
            return False
        live = Appointment._base_manager.filter(program_id=self.program_id, state__in=LIVE_STATES)
        return live.filter(ends_at__gt=self.due_at).exists()

    def _appointment_live(self, now: datetime | None) -> bool:
        if self.kind not in AHEAD_KINDS:
            return True
        appointment = self.appointment
        return appointment.state == AppointmentState.BOOKED and (now is None or appointment.starts_at > now)

    def block_reason(self, *, now: datetime | None = None) -> str | None:
        """Why this reminder may not go out (rules.block_reason); with `now`, a begun appointment counts."""
        patient = self.patient
        recipient = rules.Recipient(
            email=patient.email,
            consent=patient.email_reminder_consent,
            unsubscribed=patient.unsubscribed_at is not None,
            deceased=patient.deceased_on is not None,
            deleted=patient.deleted_at is not None,
        )
        about_appointment = self.kind in APPOINTMENT_KINDS
        return rules.block_reason(
            recipient,
            program_active=about_appointment or self.program.status == ProgramStatus.ACTIVE,
            due_unchanged=about_appointment or self.program_due_at() == self.due_at,
            booked_ahead=self._booked_ahead(),
            appointment_live=self._appointment_live(now),
        )
