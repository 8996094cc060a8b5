from __future__ import annotations

import contextlib
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django_scopes import ScopedManager

from apps.audit.subjects import Subject
from apps.clinics.access import restrict, visible_clinic_ids
from apps.patients import chronology
from apps.patients.screening import CLEAR, REFER


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Region(models.TextChoices):
    LUMBAR = "lumbar", "Lumbar (low back)"
    CERVICAL = "cervical", "Cervical (neck)"


class PatientQuerySet(models.QuerySet["Patient"]):
    def for_user(self, user: Any) -> PatientQuerySet:
        return restrict(self, visible_clinic_ids(user))

    def not_deleted(self) -> PatientQuerySet:
        return self.filter(deleted_at__isnull=True)

    def search(self, term: str) -> PatientQuerySet:
        """Name, MRN or ISO birth date (YYYY-MM-DD)."""
        term = term.strip()
        if not term:
            return self
        query = Q(mrn__iexact=term) | Q(family_name__icontains=term) | Q(given_name__icontains=term)
        with contextlib.suppress(ValueError):
            query |= Q(birth_date=date.fromisoformat(term))
        return self.filter(query)


# django-scopes: an unscoped query on patients raises instead of returning every clinic's rows.
PatientManager = models.Manager.from_queryset(PatientQuerySet)


class Patient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("clinics.Organization", on_delete=models.PROTECT, related_name="patients")
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.PROTECT, related_name="patients", verbose_name="home clinic"
    )
    mrn = models.CharField("MRN", max_length=32, help_text="Medical record number, unique in the organization.")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, help_text="Sex for clinical use (strength norms).")
    height_cm = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(100), MaxValueValidator(230)]
    )
    body_mass_kg = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("20")), MaxValueValidator(Decimal("300"))],
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    email_reminder_consent = models.BooleanField(default=False, help_text="The patient agreed to email reminders.")
    email_consent_changed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True, help_text="Set by the one-click unsubscribe link.")
    deceased_on = models.DateField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(clinic="clinic", _manager_class=PatientManager)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            # MRNs are compared without case, as staff type them: "a-12" and "A-12" are one patient.
            models.UniqueConstraint(
                Upper("mrn"),
                "organization",
                name="patient_mrn_unique_in_organization",
                violation_error_message="This MRN is already used in the organization.",
            ),
            models.CheckConstraint(condition=~Q(mrn=""), name="patient_mrn_required"),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__gte=100, height_cm__lte=230),
                name="patient_height_plausible",
            ),
            models.CheckConstraint(
                condition=Q(body_mass_kg__isnull=True) | Q(body_mass_kg__gte=20, body_mass_kg__lte=300),
                name="patient_mass_plausible",
            ),
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | Q(deleted_by__isnull=False),
                name="patient_deletion_has_actor",
            ),
        ]
        indexes = [
            # Staff search by family name within the user's clinics.
            models.Index(fields=["clinic", "family_name"], name="patient_clinic_name_idx"),
            # Partner incremental sync: ?updated_since= ordered by updated_at, across the granted clinics…
            models.Index(fields=["updated_at", "id"], name="patient_updated_idx"),
            # …and within one clinic, the usual grant: the page reads its 100 rows and no other clinic's
            # (bench/api_patient_list.py: without it, a page of one clinic among ten filtered out 872 rows).
            models.Index(fields=["clinic", "updated_at", "id"], name="patient_clinic_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} (MRN {self.mrn})"

    def clean(self) -> None:
        """A birth date and a date of death that can be true (apps.patients.chronology), each on its field.

        `full_clean` runs this for the services (the API and the staff forms) and for the admin's form.
        "Today" is the latest date on Earth (`chronology.latest_date`): a date has no zone.
        """
        today = chronology.latest_date(timezone.now())
        errors = {name: problem for name, problem in self._date_problems(today).items() if problem}
        if errors:
            raise ValidationError(errors)

    def _date_problems(self, today: date) -> dict[str, str | None]:
        # A value its field could not read is still the text given, and already has its error.
        born, died = (value if isinstance(value, date) else None for value in (self.birth_date, self.deceased_on))
        if born is None:
            return {}
        return {
            "birth_date": chronology.birth_date_problem(born, today=today),
            "deceased_on": None if died is None else chronology.death_date_problem(died, born=born, today=today),
        }

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.organization_id, clinic_id=self.clinic_id, patient_id=self.pk)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def may_receive_email_reminders(self) -> bool:
        return bool(
            self.email
            and self.email_reminder_consent
            and self.unsubscribed_at is None
            and self.deceased_on is None
            and self.deleted_at is None
        )

    def age_on(self, day: date) -> int:
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)


class ScreenResult(models.TextChoices):
    CLEAR = CLEAR, "Clear"
    REFER = REFER, "Refer to physician"


class ReviewOutcome(models.TextChoices):
    CLEARED = "cleared", "Cleared to test and train"
    REFERRED_OUT = "referred_out", "Referred out (no training)"


class RedFlagScreenQuerySet(models.QuerySet["RedFlagScreen"]):
    def for_user(self, user: Any) -> RedFlagScreenQuerySet:
        return restrict(self, visible_clinic_ids(user), "patient__clinic")

    def awaiting_review(self) -> RedFlagScreenQuerySet:
        return self.filter(result=ScreenResult.REFER, reviewed_at__isnull=True)

    def blocking(self) -> RedFlagScreenQuerySet:
        return self.filter(result=ScreenResult.REFER).exclude(review_outcome=ReviewOutcome.CLEARED)


class RedFlagScreen(models.Model):
    """Red-flag screen before the first test and whenever new symptoms are reported."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="red_flag_screens")
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.PROTECT, related_name="+", help_text="Where it was done."
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    answers = models.JSONField(help_text="{item code: true when positive} for every item of the region.")
    result = models.CharField(max_length=8, choices=ScreenResult.choices, editable=False)
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    screened_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_outcome = models.CharField(max_length=16, choices=ReviewOutcome.choices, blank=True)
    review_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(
        clinic="patient__clinic", _manager_class=models.Manager.from_queryset(RedFlagScreenQuerySet)
    )

    class Meta:
        ordering = ["-screened_at"]
        constraints = [
            models.CheckConstraint(condition=Q(result__in=ScreenResult.values), name="red_flag_screen_result_valid"),
            models.CheckConstraint(
                condition=(Q(reviewed_at__isnull=True) & Q(reviewed_by__isnull=True) & Q(review_outcome=""))
                | (Q(reviewed_at__isnull=False) & Q(reviewed_by__isnull=False) & ~Q(review_outcome="")),
                name="red_flag_screen_review_complete",
            ),
        ]
        indexes = [
            # The latest screen of a patient decides whether testing and training are blocked.
            models.Index(fields=["patient", "-screened_at"], name="red_flag_screen_latest_idx"),
            # The today board's positive screens awaiting a physician: a few rows among every screen taken.
            models.Index(
                fields=["screened_at"],
                condition=Q(result=ScreenResult.REFER, reviewed_at__isnull=True),
                name="red_flag_screen_awaiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_region_display()} screen {self.screened_at:%Y-%m-%d}: {self.get_result_display()}"

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )
