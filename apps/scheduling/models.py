"""A clinic's calendar settings: opening hours, holiday closures and the booking rules' numbers.

Every number is a per-clinic setting with the default of DOMAIN.md ("Appointments"). A clinic
without a `ClinicCalendar` row books on the defaults (`selectors.calendar_for`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.assessments.models import PatientRecordQuerySet, patient_record_manager
from apps.audit.subjects import Subject
from apps.clinics.models import Clinic

# Round lengths a front desk reads off a clock: laid from a range's opening time on the hour or
# half hour, every slot starts on a 5-minute mark.
SLOT_LENGTHS = (10, 15, 20, 30, 45, 60, 90, 120)
DEFAULT_SLOT_MINUTES = 30
DEFAULT_HORIZON_DAYS = 28
DEFAULT_LATE_CANCEL_HOURS = 24
DEFAULT_NO_SHOW_GRACE_MINUTES = 15
DEFAULT_SUPERVISOR_CAPACITY = 2
# (lowest, highest) of each setting: the form's validators and the database's checks say the same.
HORIZON_DAYS = (1, 180)
LATE_CANCEL_HOURS = (0, 168)
NO_SHOW_GRACE_MINUTES = (0, 120)
SUPERVISOR_CAPACITY = (1, 10)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"  # as `date.weekday()` counts
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def _bounded(bounds: tuple[int, int]) -> list:
    return [MinValueValidator(bounds[0]), MaxValueValidator(bounds[1])]


def _between(field: str, bounds: tuple[int, int]) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": bounds[0], f"{field}__lte": bounds[1]}), name=f"calendar_{field}_in_range"
    )


class ClinicCalendar(models.Model):
    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="calendar")
    slot_minutes = models.PositiveSmallIntegerField(
        choices=[(m, f"{m} min") for m in SLOT_LENGTHS],
        default=DEFAULT_SLOT_MINUTES,
        db_default=DEFAULT_SLOT_MINUTES,
        help_text="Length of one appointment.",
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        default=DEFAULT_HORIZON_DAYS,
        db_default=DEFAULT_HORIZON_DAYS,
        validators=_bounded(HORIZON_DAYS),
        help_text="How far ahead slots are offered.",
    )
    late_cancel_hours = models.PositiveSmallIntegerField(
        default=DEFAULT_LATE_CANCEL_HOURS,
        db_default=DEFAULT_LATE_CANCEL_HOURS,
        validators=_bounded(LATE_CANCEL_HOURS),
        help_text="A cancellation less than this long before the start is late.",
    )
    no_show_grace_minutes = models.PositiveSmallIntegerField(
        default=DEFAULT_NO_SHOW_GRACE_MINUTES,
        db_default=DEFAULT_NO_SHOW_GRACE_MINUTES,
        validators=_bounded(NO_SHOW_GRACE_MINUTES),
        help_text="Not checked in this long after the start: a no-show.",
    )
    supervisor_capacity = models.PositiveSmallIntegerField(
        default=DEFAULT_SUPERVISOR_CAPACITY,
        db_default=DEFAULT_SUPERVISOR_CAPACITY,
        validators=_bounded(SUPERVISOR_CAPACITY),
        help_text="Patients one supervising clinician may have at once.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["clinic__name"]
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__in=SLOT_LENGTHS), name="calendar_slot_minutes_allowed"),
            _between("booking_horizon_days", HORIZON_DAYS),
            _between("late_cancel_hours", LATE_CANCEL_HOURS),
            _between("no_show_grace_minutes", NO_SHOW_GRACE_MINUTES),
            _between("supervisor_capacity", SUPERVISOR_CAPACITY),
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.clinic}"

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.clinic.organization_id, clinic_id=self.clinic_id, patient_id=None)


class OpeningHours(models.Model):
    """Open from `opens_at` to `closes_at` (the clinic's wall clock) on `weekday`; a day may have several.

    A weekday without a range is a closed day. Ranges of one weekday never overlap: checked over the
    whole calendar by `overlap_problems` (the admin's form and `services.calendar_rows_save`). Not a
    unique (calendar, weekday, opens_at) too: two ranges swapped in one edit would trip it half-way.
    """

    calendar = models.ForeignKey(ClinicCalendar, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="opening_weekday_in_range"),
            models.CheckConstraint(condition=Q(opens_at__lt=F("closes_at")), name="opening_opens_before_closes"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"

    def audit_subject(self) -> Subject:
        return self.calendar.audit_subject()

    def clean(self) -> None:
        if self.opens_at is not None and self.closes_at is not None and not self.opens_at < self.closes_at:
            raise ValidationError({"closes_at": "A range must close after it opens (on the same day)."})


class Closure(models.Model):
    """A date the clinic is closed all day (a holiday), whatever its opening hours say."""

    calendar = models.ForeignKey(ClinicCalendar, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="closure_unique_date")]

    def __str__(self) -> str:
        return f"Closed {self.date:%Y-%m-%d}" + (f" ({self.reason})" if self.reason else "")

    def audit_subject(self) -> Subject:
        return self.calendar.audit_subject()


Range = tuple[int, time, time]  # (weekday, opens, closes)


def overlap_problems(ranges: Iterable[Range]) -> list[str]:
    """One sentence per pair of ranges of the same weekday that overlap (touching is not overlapping)."""
    problems = []
    previous: Range | None = None
    for current in sorted(ranges):
        if previous is not None and previous[0] == current[0] and current[1] < previous[2]:
            day = Weekday(current[0]).label
            problems.append(
                f"{day}: {previous[1]:%H:%M}-{previous[2]:%H:%M} overlaps {current[1]:%H:%M}-{current[2]:%H:%M}."
            )
        if previous is None or previous[0] != current[0] or current[2] > previous[2]:
            previous = current
    return problems


# --- Appointments ----------------------------------------------------------------------------------


class AppointmentState(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Only these hold the machine (DOMAIN.md "Appointments"): the exclusion constraint covers them alone.
LIVE_STATES = (AppointmentState.BOOKED, AppointmentState.CHECKED_IN)
APPOINTMENT_MOVES: dict[str, frozenset[str]] = {
    AppointmentState.BOOKED: frozenset(
        {AppointmentState.CHECKED_IN, AppointmentState.CANCELLED, AppointmentState.NO_SHOW}
    ),
    AppointmentState.CHECKED_IN: frozenset({AppointmentState.COMPLETED, AppointmentState.CANCELLED}),
    AppointmentState.COMPLETED: frozenset(),
    AppointmentState.CANCELLED: frozenset(),
    AppointmentState.NO_SHOW: frozenset(),
}


class BookedVia(models.TextChoices):
    STAFF = "staff", "Staff"
    PATIENT_LINK = "patient_link", "Patient (booking link)"
    PARTNER = "partner", "Partner system"


class AppointmentQuerySet(PatientRecordQuerySet):
    def live(self) -> AppointmentQuerySet:
        return self.filter(state__in=LIVE_STATES)


class Appointment(models.Model):
    """A patient booked on a machine of a clinic for one slot (FHIR Appointment)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="appointments")
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="+")
    machine = models.ForeignKey("clinics.Machine", on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=AppointmentState.choices, default=AppointmentState.BOOKED)
    booked_via = models.CharField(max_length=16, choices=BookedVia.choices)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    early_reason = models.CharField(max_length=300, blank=True, help_text="Why before the minimum rest.")
    checked_in_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_late = models.BooleanField(default=False, db_default=False)
    session = models.OneToOneField(
        "programs.TrainingSession", null=True, blank=True, on_delete=models.PROTECT, related_name="appointment"
    )
    sequence = models.PositiveIntegerField(default=0, db_default=0, help_text="iCalendar SEQUENCE.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = patient_record_manager(AppointmentQuerySet)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start"),
            models.CheckConstraint(condition=Q(state__in=AppointmentState.values), name="appointment_state_valid"),
            models.CheckConstraint(condition=Q(booked_via__in=BookedVia.values), name="appointment_booked_via_valid"),
            # On PostgreSQL no double booking is the exclusion constraint of migration 0003 (a tstzrange
            # overlap per machine, live states only). SQLite has none: the booking service must check it.
        ]
        indexes = [
            models.Index(fields=["clinic", "starts_at"], name="appointment_clinic_day_idx"),
            models.Index(fields=["machine", "starts_at"], name="appointment_machine_idx"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_idx"),
            models.Index(fields=["state", "starts_at"], name="appointment_state_idx"),  # the no-show job
        ]

    def __str__(self) -> str:
        return f"Appointment {self.starts_at:%Y-%m-%d %H:%M} ({self.get_state_display()})"

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )

    def can_move_to(self, state: str) -> bool:
        return state in APPOINTMENT_MOVES.get(self.state, frozenset())
