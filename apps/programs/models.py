from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.assessments.models import PAIN_VALIDATORS, PatientRecordQuerySet, patient_record_manager
from apps.audit.subjects import Subject
from apps.clinics.models import LoadUnit, MachineKind
from apps.patients.models import Region
from apps.programs import schedule


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    DISCHARGED = "discharged", "Discharged"
    LAPSED = "lapsed", "Lapsed"
    CANCELLED = "cancelled", "Cancelled"


# DOMAIN.md: draft → active → (on_hold ↔ active) → completed | discharged | lapsed | cancelled.
# A lapsed patient who comes back (within 84 days) resumes the same program.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    ProgramStatus.DRAFT: frozenset({ProgramStatus.ACTIVE, ProgramStatus.CANCELLED}),
    ProgramStatus.ACTIVE: frozenset(
        {
            ProgramStatus.ON_HOLD,
            ProgramStatus.COMPLETED,
            ProgramStatus.DISCHARGED,
            ProgramStatus.LAPSED,
            ProgramStatus.CANCELLED,
        }
    ),
    ProgramStatus.ON_HOLD: frozenset({ProgramStatus.ACTIVE, ProgramStatus.DISCHARGED, ProgramStatus.CANCELLED}),
    ProgramStatus.LAPSED: frozenset({ProgramStatus.ACTIVE, ProgramStatus.DISCHARGED, ProgramStatus.CANCELLED}),
    ProgramStatus.COMPLETED: frozenset(),
    ProgramStatus.DISCHARGED: frozenset(),
    ProgramStatus.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset({ProgramStatus.DRAFT, ProgramStatus.ACTIVE, ProgramStatus.ON_HOLD, ProgramStatus.LAPSED})

# The moves staff make by hand (admin and staff UI), with their button labels. START is not a
# status: program_start moves a draft to active with its start load.
START, MAINTAIN = "start", "maintain"
MOVE_LABELS = {
    START: "Start",
    ProgramStatus.ACTIVE: "Resume",
    ProgramStatus.ON_HOLD: "Hold",
    ProgramStatus.COMPLETED: "Complete",
    ProgramStatus.DISCHARGED: "Discharge",
    ProgramStatus.CANCELLED: "Cancel",
    MAINTAIN: "Complete into maintenance",
}


def moves_from(program: Program) -> list[str]:
    """The manual moves a program offers (a program lapses by itself; a draft is started, not resumed).

    An active training program may complete into maintenance: the same program row goes on at the
    maintenance interval, so its loads, flags and history stay one record.
    """
    allowed = ALLOWED_TRANSITIONS[program.status]
    if program.status == ProgramStatus.DRAFT:
        allowed = (allowed - {ProgramStatus.ACTIVE}) | {START}
    if program.status == ProgramStatus.ACTIVE and program.phase == Phase.TRAINING and program.completed_sessions:
        allowed = allowed | {MAINTAIN}
    return [move for move in MOVE_LABELS if move in allowed]


class IllegalTransition(ValidationError):
    pass


class Phase(models.TextChoices):
    """Training builds strength (the prescription's cadence); maintenance keeps it (DOMAIN.md "Maintenance")."""

    TRAINING = "training", "Training"
    MAINTENANCE = "maintenance", "Maintenance"


class AttendanceState(models.TextChoices):
    ON_TRACK = schedule.ON_TRACK, "On track"
    OVERDUE = schedule.OVERDUE, "Overdue"
    LAPSED = schedule.LAPSED, "Lapsed"
    DETRAINED = schedule.DETRAINED, "Detrained"
    NEW_EPISODE = schedule.NEW_EPISODE, "New episode"


class ProposalAction(models.TextChoices):
    START = "start", "Start load"
    INCREASE = "increase", "Increase"
    HOLD = "hold", "Hold"
    DECREASE = "decrease", "Decrease"
    PAIN_HOLD = "pain_hold", "Pain hold"
    PAIN_REDUCE = "pain_reduce", "Pain reduce"
    RED_FLAG_STOP = "red_flag_stop", "Red flag: stop"
    RESUME_REDUCED = "resume_reduced", "Resume at 90 % after a gap"
    RETEST = "retest", "Retest before training"


class ProgramQuerySet(PatientRecordQuerySet):
    def open(self) -> ProgramQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def active(self) -> ProgramQuerySet:
        return self.filter(status=ProgramStatus.ACTIVE)


class Program(models.Model):
    """A prescription (FHIR CarePlan) and its computed state: next load, due times, attendance.

    The computed fields are recomputed by the services in the transaction that records a session
    or a test, and by the periodic attendance job as time passes; nothing else writes them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="programs")
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="+", help_text="Where trained.")
    region = models.CharField(max_length=8, choices=Region.choices)
    machine_kind = models.CharField(max_length=24, choices=MachineKind.choices)
    load_unit = models.CharField(max_length=8, choices=LoadUnit.choices)
    status = models.CharField(max_length=12, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT)
    prescribed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    baseline_test = models.ForeignKey(
        "assessments.StrengthTest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Prescription (DOMAIN.md defaults; each a per-program setting).
    sessions_per_week = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    planned_weeks = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(6), MaxValueValidator(12)]
    )
    rep_min = models.PositiveSmallIntegerField(default=8, validators=[MinValueValidator(1), MaxValueValidator(50)])
    rep_max = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1), MaxValueValidator(50)])
    tul_min_s = models.PositiveSmallIntegerField(default=45, validators=[MaxValueValidator(300)])
    tul_max_s = models.PositiveSmallIntegerField(default=150, validators=[MaxValueValidator(300)])
    progression_step_pct = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(2), MaxValueValidator(10)]
    )
    min_rest_hours = models.PositiveSmallIntegerField(
        default=48, validators=[MinValueValidator(24), MaxValueValidator(168)]
    )
    # Database defaults too: a row written by the code before this field (a rolling deploy, a raw
    # bulk load) is a training-phase row with the default interval, not an error.
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.TRAINING, db_default=Phase.TRAINING)
    maintenance_interval_weeks = models.PositiveSmallIntegerField(
        default=schedule.MAINTENANCE_DEFAULT_WEEKS,
        db_default=schedule.MAINTENANCE_DEFAULT_WEEKS,
        validators=[MinValueValidator(schedule.MAINTENANCE_WEEKS[0]), MaxValueValidator(schedule.MAINTENANCE_WEEKS[1])],
        help_text="One session every N weeks once the program completes into maintenance (1-4).",
    )
    maintenance_started_at = models.DateTimeField(null=True, blank=True)
    start_load = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    start_load_override_reason = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    # Computed state.
    current_load = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    proposed_load = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    proposal_action = models.CharField(max_length=16, choices=ProposalAction.choices, blank=True)
    proposal_reason = models.CharField(max_length=300, blank=True)
    completed_sessions = models.PositiveIntegerField(default=0)
    last_completed_at = models.DateTimeField(null=True, blank=True)
    earliest_next_at = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    lapse_at = models.DateTimeField(null=True, blank=True)
    detrained_at = models.DateTimeField(null=True, blank=True)
    questionnaire_due_at = models.DateTimeField(null=True, blank=True)
    retest_due_at = models.DateTimeField(null=True, blank=True)
    physician_review_due_at = models.DateTimeField(null=True, blank=True)
    attendance = models.CharField(max_length=12, choices=AttendanceState.choices, default=AttendanceState.ON_TRACK)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = patient_record_manager(ProgramQuerySet)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rep_min__lte=F("rep_max")), name="program_rep_range_ordered"),
            models.CheckConstraint(condition=Q(tul_min_s__lt=F("tul_max_s")), name="program_tul_window_ordered"),
            models.CheckConstraint(
                condition=Q(sessions_per_week__gte=1, sessions_per_week__lte=3), name="program_frequency_range"
            ),
            models.CheckConstraint(
                condition=Q(progression_step_pct__gte=2, progression_step_pct__lte=10), name="program_step_range"
            ),
            models.CheckConstraint(condition=Q(status__in=ProgramStatus.values), name="program_status_valid"),
            models.CheckConstraint(condition=Q(phase__in=Phase.values), name="program_phase_valid"),
            models.CheckConstraint(
                condition=Q(maintenance_interval_weeks__gte=1, maintenance_interval_weeks__lte=4),
                name="program_maintenance_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(phase=Phase.TRAINING) | Q(maintenance_started_at__isnull=False),
                name="program_maintenance_has_start",
            ),
            # One open program per patient and region: sessions and reminders need to know which.
            models.UniqueConstraint(
                fields=["patient", "region"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="program_one_open_per_patient_region",
            ),
        ]
        indexes = [
            # The attendance job: active programs whose next threshold has passed.
            models.Index(fields=["status", "overdue_at"], name="program_overdue_idx"),
            models.Index(fields=["status", "lapse_at"], name="program_lapse_idx"),
            models.Index(fields=["status", "detrained_at"], name="program_detrained_idx"),
            # Reminders and the today board: who falls due when.
            models.Index(fields=["status", "next_due_at"], name="program_next_due_idx"),
            models.Index(fields=["status", "questionnaire_due_at"], name="program_questionnaire_due_idx"),
            models.Index(fields=["updated_at", "id"], name="program_updated_idx"),
            # The today board reads one clinic: without the clinic first, its counts and sections read
            # every clinic's active programs (bench/board_page.py). The due section uses overdue_at's.
            models.Index(fields=["clinic", "status", "overdue_at"], name="program_clinic_overdue_idx"),
            models.Index(fields=["clinic", "status", "lapse_at"], name="program_clinic_lapse_idx"),
            models.Index(fields=["clinic", "status", "questionnaire_due_at"], name="program_clinic_quest_due_idx"),
            models.Index(fields=["clinic", "status", "retest_due_at"], name="program_clinic_retest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_region_display()} program ({self.get_status_display()})"

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )

    def can_transition_to(self, status: str) -> bool:
        return status in ALLOWED_TRANSITIONS.get(self.status, frozenset())

    def transition_to(self, status: str) -> None:
        """Move to `status` or raise IllegalTransition; the caller saves (services do, with an event)."""
        if not self.can_transition_to(status):
            allowed = ", ".join(sorted(ALLOWED_TRANSITIONS.get(self.status, ()))) or "none: it has ended"
            raise IllegalTransition(
                {"status": f"A {self.get_status_display().lower()} program cannot become {status}; allowed: {allowed}."}
            )
        self.status = status

    @property
    def rep_range(self) -> tuple[int, int]:
        return (self.rep_min, self.rep_max)

    @property
    def tul_window(self) -> tuple[int, int]:
        return (self.tul_min_s, self.tul_max_s)


class SessionStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    STOPPED_EARLY = "stopped_early", "Stopped early"


class TrainingSession(models.Model):
    """One training session (FHIR Encounter + Observations): one set to momentary failure."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="sessions")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="+")
    machine = models.ForeignKey("clinics.Machine", on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    performed_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.COMPLETED)
    # The program's phase when the session took place: outcomes count maintenance on its own, never as adherence.
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.TRAINING, db_default=Phase.TRAINING)
    rom_min_deg = models.PositiveSmallIntegerField()
    rom_max_deg = models.PositiveSmallIntegerField()
    load = models.DecimalField(max_digits=7, decimal_places=2)
    load_unit = models.CharField(max_length=8, choices=LoadUnit.choices)
    reps = models.PositiveSmallIntegerField(validators=[MaxValueValidator(50)])
    time_under_load_s = models.PositiveSmallIntegerField(validators=[MaxValueValidator(300)])
    reached_failure = models.BooleanField()
    pain_before = models.PositiveSmallIntegerField(validators=PAIN_VALIDATORS)
    pain_after = models.PositiveSmallIntegerField(validators=PAIN_VALIDATORS)
    adverse_event = models.BooleanField(default=False)
    adverse_event_note = models.CharField(max_length=500, blank=True)
    red_flag_reported = models.BooleanField(default=False, help_text="New red-flag symptoms during the session.")
    # The proposal in force when the session was recorded, and what the clinician did with it.
    proposed_load = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    proposal_action = models.CharField(max_length=16, choices=ProposalAction.choices, blank=True)
    proposal_reason = models.CharField(max_length=300, blank=True)
    override_reason = models.CharField(max_length=300, blank=True, help_text="Why the load differs from the proposal.")
    early_reason = models.CharField(max_length=300, blank=True, help_text="Why before the minimum rest had passed.")
    # What the rules saw in this session, for the next session's rule call.
    was_pain_hold = models.BooleanField(default=False)
    was_below_minimum = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = patient_record_manager(PatientRecordQuerySet)

    class Meta:
        ordering = ["-performed_at"]
        constraints = [
            models.CheckConstraint(condition=Q(load__gte=0), name="session_load_not_negative"),
            models.CheckConstraint(condition=Q(reps__lte=50), name="session_reps_range"),
            models.CheckConstraint(condition=Q(time_under_load_s__lte=300), name="session_tul_range"),
            models.CheckConstraint(condition=Q(pain_before__lte=10) & Q(pain_after__lte=10), name="session_pain_nrs"),
            models.CheckConstraint(condition=Q(rom_min_deg__lt=F("rom_max_deg")), name="session_rom_ordered"),
            models.CheckConstraint(
                condition=Q(proposed_load__isnull=True) | Q(load=F("proposed_load")) | ~Q(override_reason=""),
                name="session_override_has_reason",
            ),
        ]
        indexes = [
            # The session log and the chart's load series, newest first.
            models.Index(fields=["program", "-performed_at"], name="session_program_idx"),
            models.Index(fields=["patient", "-performed_at"], name="session_patient_idx"),
            models.Index(fields=["updated_at", "id"], name="session_updated_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"Session {self.performed_at:%Y-%m-%d %H:%M}: {self.load} {self.get_load_unit_display()}, {self.reps} reps"
        )

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )

    @property
    def overridden(self) -> bool:
        return self.proposed_load is not None and self.load != self.proposed_load


class FlagKind(models.TextChoices):
    RED_FLAG = "red_flag", "Red flag"
    PAIN_FLARE = "pain_flare", "Pain flare"
    OVERDUE = "overdue", "Overdue"
    LAPSED = "lapsed", "Lapsed"
    DETRAINED = "detrained", "Detrained: retest required"
    RAPID_RISE = "rapid_rise", "Load rise > 15 % in 7 days: review"


class FlagQuerySet(PatientRecordQuerySet):
    def open(self) -> FlagQuerySet:
        return self.filter(resolved_at__isnull=True)


class Flag(models.Model):
    """A condition the care team must see; opened and resolved by the rules, never by hand."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=16, choices=FlagKind.choices)
    reason = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = patient_record_manager(FlagQuerySet)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # At most one open flag of a kind per program: opening is insert-if-absent.
            models.UniqueConstraint(
                fields=["patient", "program", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="flag_one_open_per_kind",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(kind__in=FlagKind.values), name="flag_kind_valid"),
        ]
        indexes = [
            # The today board: open flags of the clinic's patients.
            models.Index(fields=["kind"], condition=Q(resolved_at__isnull=True), name="flag_open_idx"),
        ]

    def __str__(self) -> str:
        state = "resolved" if self.resolved_at else "open"
        return f"{self.get_kind_display()} ({state})"

    def audit_subject(self) -> Subject:
        return Subject(
            organization_id=self.patient.organization_id, clinic_id=self.patient.clinic_id, patient_id=self.patient_id
        )
