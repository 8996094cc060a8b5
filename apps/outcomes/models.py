"""Outcome facts: one row per started program, kept current in the transaction that records a session,
test, questionnaire or status change (`apps.outcomes.facts`), and a point per retest for the
strength curve by session number. Reports aggregate these rows, never the raw records.

Derived data, rebuilt from the audited records by `manage.py outcomes_rebuild`: writing a facts row
is not itself an audit event; reading them into a report or an export is.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q

from apps.assessments.models import PatientRecordQuerySet, patient_record_manager
from apps.assessments.scoring import NDI, ODI
from apps.audit.subjects import Subject
from apps.outcomes import rules
from apps.patients.models import Region, Sex
from apps.programs.models import ProgramStatus

OUTCOME_CHOICES = [
    (rules.IN_PROGRESS, "In progress"),
    (rules.COMPLETED, "Completed"),
    (rules.DISCHARGED, "Discharged"),
    (rules.DROPPED_OUT, "Dropped out"),
]


def _score(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True, **kwargs)


def _index(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, **kwargs)


class OutcomeFact(models.Model):
    program = models.OneToOneField(
        "programs.Program", primary_key=True, on_delete=models.CASCADE, related_name="outcome"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("clinics.Organization", on_delete=models.PROTECT, related_name="+")
    region = models.CharField(max_length=8, choices=Region.choices)
    program_status = models.CharField(max_length=12, choices=ProgramStatus.choices)
    outcome_status = models.CharField(max_length=12, choices=OUTCOME_CHOICES)
    age_band = models.CharField(max_length=6)  # at the start, 5-year bands, "90+"
    sex = models.CharField(max_length=8, choices=Sex.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    strength_baseline = _index(help_text="Strength index (N·m·deg) of the baseline, over the shared angles.")
    strength_latest = _index()
    strength_change_pct = _score()
    prom_instrument = models.CharField(max_length=8, choices=[(ODI, "ODI"), (NDI, "NDI")])
    prom_baseline = _score()
    prom_latest = _score()
    prom_change = _score(help_text="Baseline - latest: positive is better.")
    prom_important = models.BooleanField(null=True, blank=True, help_text="Responder: a clinically important gain.")
    nrs_baseline = _score()
    nrs_latest = _score()
    nrs_change = _score()
    nrs_important = models.BooleanField(null=True, blank=True)
    sessions_completed = models.PositiveIntegerField()
    sessions_prescribed = models.PositiveIntegerField(help_text="To date, capped at the plan.")
    adherence_pct = models.DecimalField(max_digits=6, decimal_places=1)
    weeks_in_program = models.DecimalField(max_digits=6, decimal_places=1)
    sessions_per_week_done = models.DecimalField(max_digits=5, decimal_places=2)
    dropout_week = models.PositiveSmallIntegerField(null=True, blank=True)
    as_of = models.DateTimeField(help_text="The time the figures that move with time were computed for.")

    objects = patient_record_manager(PatientRecordQuerySet)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome_status__in=[value for value, _ in OUTCOME_CHOICES]), name="outcome_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(dropout_week__isnull=True) | Q(outcome_status=rules.DROPPED_OUT),
                name="outcome_dropout_week_only_for_dropouts",
            ),
        ]
        indexes = [
            # The report's filters: a clinic's (or an organization's) programs by start.
            models.Index(fields=["clinic", "started_at"], name="outcome_clinic_start_idx"),
            models.Index(fields=["organization", "started_at"], name="outcome_org_start_idx"),
            # The nightly catch-up of the figures that move with time (running programs only).
            models.Index(fields=["as_of"], condition=Q(outcome_status=rules.IN_PROGRESS), name="outcome_running_idx"),
        ]

    def __str__(self) -> str:
        return f"Outcome of program {self.program_id} ({self.outcome_status})"


class OutcomeCurvePoint(models.Model):
    """A retest of a program: the strength-index change against its baseline, by sessions completed."""

    program = models.ForeignKey(OutcomeFact, on_delete=models.CASCADE, related_name="curve")
    session_number = models.PositiveIntegerField()
    change_pct = _score()

    class Meta:
        indexes = [models.Index(fields=["program", "session_number"], name="outcome_curve_idx")]

    def __str__(self) -> str:
        return f"{self.program_id} at session {self.session_number}: {self.change_pct} %"


class OutcomeRollupState(models.Model):
    """When an organization's rollup was made, and of which clinics (`apps.outcomes.rollups`)."""

    organization = models.OneToOneField(
        "clinics.Organization", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    refreshed_at = models.DateTimeField()
    clinic_ids = models.JSONField(default=list, help_text="The clinics whose facts the rollup counts.")
    programs = models.PositiveIntegerField(help_text="The programs it counts.")
    seconds = models.FloatField(help_text="How long the refresh took.")

    def __str__(self) -> str:
        return f"Outcome rollup of organization {self.organization_id} at {self.refreshed_at:%Y-%m-%d %H:%M}"


class OutcomeRollup(models.Model):
    """A row of the report's grouping query over all of an organization's facts of one region:
    (grouping mask, the grouped columns, the counts), as `aggregates.grouped_rows` returns it."""

    organization = models.ForeignKey("clinics.Organization", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=8, choices=Region.choices)
    grouping = models.PositiveIntegerField(help_text="Which of aggregates.SETS the row counts (GROUPING's mask).")
    clinic_id = models.IntegerField(null=True)
    band = models.CharField(max_length=12, null=True)
    prom_instrument = models.CharField(max_length=8, null=True)
    strength_change_pct = _score()
    prom_change = _score()
    nrs_change = _score()
    adherence_pct = _score()
    sessions_completed = models.PositiveIntegerField(null=True)
    dropout_week = models.PositiveSmallIntegerField(null=True)
    n = models.PositiveIntegerField()
    prom_known = models.PositiveIntegerField()
    prom_yes = models.PositiveIntegerField()
    nrs_known = models.PositiveIntegerField()
    nrs_yes = models.PositiveIntegerField()
    ended = models.PositiveIntegerField()
    dropped = models.PositiveIntegerField()
    paired = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["organization", "region"], name="outcome_rollup_org_idx")]

    def __str__(self) -> str:
        return f"Rollup row {self.grouping} of organization {self.organization_id} ({self.region})"


class OutcomeCurveRollup(models.Model):
    """The strength curve's counts over all of an organization's facts of one region."""

    organization = models.ForeignKey("clinics.Organization", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=8, choices=Region.choices)
    bin = models.PositiveIntegerField(help_text="Sessions before the retest // aggregates.CURVE_BIN.")
    change_pct = _score()
    n = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["organization", "region"], name="outcome_curve_rollup_org_idx")]

    def __str__(self) -> str:
        return f"Curve rollup bin {self.bin} of organization {self.organization_id} ({self.region})"


class ReportImmutable(RuntimeError):
    """A signed progress report was about to change: it never does; a later report supersedes it."""


class ProgressReportQuerySet(PatientRecordQuerySet):
    def current(self) -> ProgressReportQuerySet:
        """Reports no later report supersedes."""
        return self.filter(superseded_by__isnull=True)

    def update(self, **kwargs: object) -> int:
        raise ReportImmutable("Signed progress reports are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ReportImmutable("Signed progress reports are never deleted.")


class ProgressReport(models.Model):
    """A progress report for the referring physician, signed when issued (DOMAIN.md "Outcomes").

    Append-only: a report is written once, signed (there is no draft row: the issue page previews the
    figures live, and issuing stores them), and never changes. `content` is the snapshot of every
    figure shown, so the report reads the same however the records change later. Supersession is a
    pointer on the *new* row only (`supersedes`); `superseded_by` is its reverse, so no signed row is
    ever touched. The model refuses save() of an existing row, update() and delete(); on PostgreSQL a
    trigger refuses UPDATE and DELETE from any code path (migration 0002), as audit_event's does.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="progress_reports")
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.PROTECT, related_name="+", help_text="Where the patient trains."
    )
    organization = models.ForeignKey("clinics.Organization", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField(help_text="The last report's signing, or the program's start.")
    period_end = models.DateTimeField(help_text="When this report was issued.")
    sessions_completed = models.PositiveIntegerField(help_text="Completed sessions of the program at issue.")
    content = models.JSONField(encoder=DjangoJSONEncoder, help_text="Every figure of the report, as signed.")
    note = models.TextField(help_text="The clinician's note to the referring physician.")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_by_name = models.CharField(max_length=300)
    signed_by_role = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    pdf = models.BinaryField(
        null=True, editable=False, help_text="The PDF as signed (none when it could not be made at signing)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = patient_record_manager(ProgressReportQuerySet)

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="progress_report_period"),
            models.CheckConstraint(condition=~Q(note=""), name="progress_report_has_note"),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(supersedes=F("id")), name="progress_report_not_self"
            ),
        ]
        indexes = [
            # A program's latest report: the due rule, the chart banner and the board's section.
            models.Index(fields=["program", "-signed_at"], name="progress_report_program_idx"),
            models.Index(fields=["patient", "-signed_at"], name="progress_report_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"Progress report {self.signed_at:%Y-%m-%d} ({self.sessions_completed} sessions)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ReportImmutable("A signed progress report never changes: issue a new one to supersede it.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ReportImmutable("A signed progress report is never deleted: a later one supersedes it.")

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )
