from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django_scopes import ScopedManager

from apps.assessments import scoring
from apps.audit.subjects import Subject
from apps.clinics.access import restrict, visible_clinic_ids
from apps.patients.models import Region

PAIN_VALIDATORS = [MinValueValidator(0), MaxValueValidator(10)]


class TorqueUnit(models.TextChoices):
    FOOT_POUND = scoring.FT_LBF, "ft·lbf"
    INCH_POUND = scoring.IN_LBF, "in·lbf"
    NEWTON_METRE = scoring.N_M, "N·m"


class Instrument(models.TextChoices):
    ODI = scoring.ODI, "Oswestry Disability Index"
    NDI = scoring.NDI, "Neck Disability Index"
    PAIN_NRS = scoring.PAIN_NRS, "Pain NRS (0-10)"


class PatientRecordQuerySet(models.QuerySet):
    """Rows of a patient's record: scoped through the patient's home clinic."""

    def for_user(self, user: Any) -> PatientRecordQuerySet:
        return restrict(self, visible_clinic_ids(user), "patient__clinic")

    def of_patient(self, patient: Any) -> PatientRecordQuerySet:
        return self.filter(patient=patient)


def patient_record_manager(queryset_class: type[models.QuerySet]) -> Any:
    # django-scopes: an unscoped query on the patient record raises instead of reading every clinic.
    return ScopedManager(clinic="patient__clinic", _manager_class=models.Manager.from_queryset(queryset_class))


class PatientRecord(models.Model):
    """What every row of a patient's record has: a UUID, the patient, where, by whom, when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="+", help_text="Where.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )


class StrengthTestQuerySet(PatientRecordQuerySet):
    def baselines(self) -> StrengthTestQuerySet:
        return self.filter(is_familiarization=False)


class StrengthTest(PatientRecord):
    """An isometric strength test (FHIR Observation, category exam): torque at fixed angles.

    The first-ever test of a patient in a region is familiarisation; the baseline is the first
    test after it. Points are kept as captured and normalised to N·m.
    """

    machine = models.ForeignKey("clinics.Machine", on_delete=models.PROTECT, related_name="+")
    region = models.CharField(max_length=8, choices=Region.choices)
    performed_at = models.DateTimeField()
    is_familiarization = models.BooleanField(default=False)
    rom_min_deg = models.PositiveSmallIntegerField(help_text="Range of motion reached: flexion end (degrees).")
    rom_max_deg = models.PositiveSmallIntegerField(help_text="Range of motion reached: extension end (degrees).")
    pain_before = models.PositiveSmallIntegerField(null=True, blank=True, validators=PAIN_VALIDATORS)
    pain_after = models.PositiveSmallIntegerField(null=True, blank=True, validators=PAIN_VALIDATORS)
    peak_torque_nm = models.DecimalField(max_digits=8, decimal_places=2)
    strength_index_nm_deg = models.DecimalField(
        max_digits=10, decimal_places=1, help_text="Area under torque vs angle (trapezoid), N·m·deg."
    )

    objects = patient_record_manager(StrengthTestQuerySet)

    class Meta:
        ordering = ["-performed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rom_min_deg__lt=models.F("rom_max_deg")), name="strength_test_rom_ordered"
            ),
            models.CheckConstraint(condition=Q(peak_torque_nm__gte=0), name="strength_test_peak_not_negative"),
            models.CheckConstraint(
                condition=Q(pain_before__isnull=True) | Q(pain_before__lte=10), name="strength_test_pain_before_nrs"
            ),
            models.CheckConstraint(
                condition=Q(pain_after__isnull=True) | Q(pain_after__lte=10), name="strength_test_pain_after_nrs"
            ),
        ]
        indexes = [
            # The chart's strength curves and "baseline = first non-familiarisation test".
            models.Index(fields=["patient", "region", "performed_at"], name="strength_test_patient_idx"),
            # FHIR Observation search without a patient: newest first, a page at a time (bench/fhir_search.py:
            # without it each page sorted every test of the clinics the partner sees).
            models.Index(F("performed_at").desc(), F("id").desc(), name="strength_test_newest_idx"),
        ]

    def __str__(self) -> str:
        kind = "familiarisation" if self.is_familiarization else "test"
        return f"{self.get_region_display()} {kind} {self.performed_at:%Y-%m-%d}"

    def curve(self) -> list[tuple[int, Any]]:
        """[(angle, N·m)], highest angle first (needs `points` prefetched for lists)."""
        return [(point.angle_deg, point.torque_nm) for point in self.points.all()]


class StrengthTestPoint(models.Model):
    test = models.ForeignKey(StrengthTest, on_delete=models.CASCADE, related_name="points")
    angle_deg = models.PositiveSmallIntegerField()
    torque = models.DecimalField(max_digits=8, decimal_places=2, help_text="As captured, in `unit`.")
    unit = models.CharField(max_length=8, choices=TorqueUnit.choices)
    torque_nm = models.DecimalField(max_digits=8, decimal_places=2, help_text="Normalised to N·m.")

    class Meta:
        # test_id, not test: ordering by the relation would join every test to order by its ordering.
        ordering = ["test_id", "-angle_deg"]
        constraints = [
            models.UniqueConstraint(fields=["test", "angle_deg"], name="strength_point_one_per_angle"),
            models.CheckConstraint(
                condition=Q(torque__gte=0) & Q(torque_nm__gte=0), name="strength_point_torque_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.angle_deg}°: {self.torque} {self.get_unit_display()}"


class QuestionnaireResponse(PatientRecord):
    """ODI, NDI or pain NRS (FHIR QuestionnaireResponse + score Observation, category survey).

    ODI/NDI answers are the ten section scores (0-5, None when unanswered); pain NRS is one rating.
    Only valid responses are stored: the score is never computed from fewer than 9 sections.
    """

    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    completed_at = models.DateTimeField()
    answers = models.JSONField(help_text="ODI/NDI: ten section scores 0-5 or null; NRS: [rating].")
    score = models.DecimalField(max_digits=5, decimal_places=1, help_text="ODI %, NDI raw (0-50), or NRS 0-10.")
    percent = models.DecimalField(max_digits=5, decimal_places=1)
    band = models.CharField(max_length=16, blank=True)
    answered = models.PositiveSmallIntegerField()

    objects = patient_record_manager(PatientRecordQuerySet)

    class Meta:
        ordering = ["-completed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(instrument__in=Instrument.values), name="questionnaire_instrument_valid"
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="questionnaire_percent_range"
            ),
        ]
        indexes = [
            # Score-over-time charts and "baseline = first response of the instrument".
            models.Index(fields=["patient", "instrument", "completed_at"], name="questionnaire_patient_idx"),
            # FHIR Observation and QuestionnaireResponse search without a patient: newest first, by page.
            models.Index(F("completed_at").desc(), F("id").desc(), name="questionnaire_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.completed_at:%Y-%m-%d}: {self.score}"
