"""Writes of programs and training sessions. Each is atomic and audits every row it writes.

Recording a session or a test recomputes the program row (proposal, due times, attendance) and its
flags in the same transaction (DESIGN.md "Data flow"); the rules themselves live in `progression.py` and `schedule.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.assessments import selectors as assessment_selectors
from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.assessments.scoring import as_decimal, fmt
from apps.assessments.services import clinician_of_record
from apps.audit import events
from apps.audit.events import SYSTEM
from apps.clinics.access import access_clinic
from apps.clinics.models import MACHINE_DEFAULTS, Clinic, Machine, MachineKind
from apps.patients.chronology import clinical_time_problem, whole_seconds
from apps.patients.models import Patient, Region
from apps.patients.selectors import access_patient, training_blocked
from apps.programs import flags, progression, schedule, selectors, signals
from apps.programs.models import (
    AttendanceState,
    FlagKind,
    IllegalTransition,
    Program,
    ProgramStatus,
    ProposalAction,
    TrainingSession,
)
from apps.programs.timing import (
    REGION_INSTRUMENT,
    attendance_since,
    in_maintenance,
    planned_discharge,
    retest_due_in_maintenance,
    set_due_dates,
    set_thresholds,
)

REGION_MACHINE_KIND = {Region.LUMBAR: MachineKind.LUMBAR_EXTENSION, Region.CERVICAL: MachineKind.CERVICAL_EXTENSION}
PRESCRIPTION_FIELDS = frozenset(("sessions_per_week", "planned_weeks", "rep_min", "rep_max", "tul_min_s", "tul_max_s"))
PRESCRIPTION_FIELDS |= {"progression_step_pct", "min_rest_hours"}
ENDED = frozenset({ProgramStatus.COMPLETED, ProgramStatus.DISCHARGED, ProgramStatus.CANCELLED})
RECENT_TEST = timedelta(days=28)  # an older test no longer says what the patient can lift (detrained)


# --- Gate and locks -------------------------------------------------------------------------------


def gate(actor: Any, patient: Patient, perm: str, obj: Any) -> None:
    """404 when the actor cannot see the patient at all; 403 when it can but its role may not act."""
    access_patient(user=actor, patient_id=patient.pk)
    if not actor.has_perm(perm, obj):
        raise PermissionDenied("Your role at the patient's clinic does not allow this.")


def lock(program: Program) -> Program:
    # Sessions, tests and the attendance job all rewrite the program row from its current state:
    # serialise them, and read that state only once the lock is held.
    program.refresh_from_db(from_queryset=Program._base_manager.select_for_update())
    return program


def save_audited(
    program: Program,
    actor: Any,
    action: str = events.Action.UPDATE,
    now: datetime | None = None,
    session: TrainingSession | None = None,
) -> Program:
    now = now or timezone.now()
    signals.program_saved.send(sender=Program, program=program, actor=actor, now=now, session=session)
    program.save()
    events.record(action=action, obj=program, actor=actor)
    return program


# --- Start load -----------------------------------------------------------------------------------


def reference_machine(clinic: Clinic, kind: str) -> Machine | None:
    return Machine.objects.filter(clinic=clinic, kind=kind, is_active=True).order_by("pk").first()


def _increment(machine: Machine | None, kind: str) -> Decimal:
    return machine.load_increment if machine else MACHINE_DEFAULTS[kind]["load_increment"]


def start_load_from(test: StrengthTest, unit: str, kind: str, machine: Machine | None) -> Decimal:
    load = progression.start_load(test.peak_torque_nm, unit, _increment(machine, kind))
    return progression.clamp_load(load, machine.load_increment, machine.min_load, machine.max_load) if machine else load


def _given_start_load(program: Program, value: object, reason: str, machine: Machine | None) -> None:
    try:
        load = as_decimal(value, "start load")
    except ValueError as error:
        raise ValidationError({"start_load": str(error)}) from None
    increment = _increment(machine, program.machine_kind)
    if load <= 0 or load % increment:
        unit = program.get_load_unit_display()
        raise ValidationError({"start_load": f"Give a positive multiple of the increment {fmt(increment)} {unit}."})
    peak = program.baseline_test.peak_torque_nm if program.baseline_test else Decimal(0)
    if progression.start_load_needs_override(load, peak, program.load_unit) and not reason.strip():
        message = f"A start load of {fmt(load)} is outside 40-80 % of the baseline peak (or there is none): say why."
        raise ValidationError({"start_load_override_reason": message})
    program.start_load, program.start_load_override_reason = load, reason.strip()


def _recent_test(patient: Patient, region: str) -> StrengthTest | None:
    test = assessment_selectors.latest_test(patient=patient, region=region)
    recent = test and not test.is_familiarization and test.performed_at >= timezone.now() - RECENT_TEST
    return test if recent else None


def _check_baseline(program: Program) -> None:
    test = program.baseline_test
    if test and (test.patient_id != program.patient_id or test.region != program.region or test.is_familiarization):
        raise ValidationError({"baseline_test": "Choose a non-familiarisation test of this patient and region."})


# --- program_create -------------------------------------------------------------------------------


def _check_prescription(program: Program) -> None:
    program.full_clean(exclude=["patient", "clinic", "prescribed_by", "baseline_test"], validate_constraints=False)
    if program.rep_min > program.rep_max:
        raise ValidationError({"rep_max": "The rep range maximum must be at least its minimum."})
    if program.tul_min_s >= program.tul_max_s:
        raise ValidationError({"tul_max_s": "The time-under-load maximum must be above its minimum."})


def _training_clinic(actor: Any, patient: Patient, clinic: Clinic | None) -> Clinic:
    if clinic is None or clinic.pk == patient.clinic_id:
        return patient.clinic
    clinic = access_clinic(actor, clinic.pk)
    if clinic.organization_id != patient.organization_id:
        raise ValidationError({"clinic": "Train at a clinic of the patient's organization."})
    return clinic


def _machine_kind(region: str, machine_kind: str | None) -> str:
    if region not in REGION_MACHINE_KIND:
        raise ValidationError({"region": "Choose lumbar or cervical."})
    kind = REGION_MACHINE_KIND[region]
    if machine_kind not in (None, kind):
        raise ValidationError({"machine_kind": f"A {region} program trains on the {kind.label.lower()} machine."})
    return kind


ONE_OPEN = "This patient already has an open program for this region: hold, discharge or cancel it first."


def _insert(program: Program) -> None:
    try:
        with transaction.atomic():
            program.save()
    except IntegrityError as error:  # a concurrent create won the race for the partial unique index
        if "program_one_open_per_patient_region" not in str(error):
            raise
        raise ValidationError({"region": ONE_OPEN}) from None


@transaction.atomic
def program_create(
    *,
    actor: Any,
    patient: Patient,
    region: str,
    clinic: Clinic | None = None,
    machine_kind: str | None = None,
    baseline_test: StrengthTest | None = None,
    start_load: object = None,
    start_load_override_reason: str = "",
    prescribed_by: Any = None,
    **prescription: Any,
) -> Program:
    """A draft program. Staff prescribe as themselves; a partner token names the clinician who does
    (`prescribed_by`), who must be allowed to prescribe at the patient's clinic."""
    gate(actor, patient, "programs.add_program", patient)
    if unknown := sorted(set(prescription) - PRESCRIPTION_FIELDS):
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be set here."))
    prescriber = clinician_of_record(
        actor=actor, clinician=prescribed_by, perm="programs.add_program", patient=patient, field="prescribed_by"
    )
    kind = _machine_kind(region, machine_kind)
    if selectors.program_for_patient(patient=patient, region=region):
        raise ValidationError({"region": ONE_OPEN})
    clinic = _training_clinic(actor, patient, clinic)
    program = Program(
        patient=patient, clinic=clinic, region=region, machine_kind=kind, prescribed_by=prescriber, **prescription
    )
    program.load_unit = MACHINE_DEFAULTS[kind]["load_unit"]
    _check_prescription(program)
    program.baseline_test = baseline_test or _recent_test(patient, region)
    _check_baseline(program)
    machine = reference_machine(clinic, kind)
    if start_load is not None:
        _given_start_load(program, start_load, start_load_override_reason, machine)
    elif program.baseline_test:
        program.start_load = start_load_from(program.baseline_test, program.load_unit, kind, machine)
    _insert(program)
    events.record(action=events.Action.CREATE, obj=program, actor=actor)
    return program


# --- program_start and program_transition ---------------------------------------------------------


def check_not_blocked(patient: Patient) -> None:
    if training_blocked(patient=patient):
        raise ValidationError({"program": "A red-flag screen awaits a physician's review: no training until cleared."})
    if selectors.red_flag_open(patient=patient):
        raise ValidationError({"program": "A red flag was reported: no training until a physician clears it."})


def _start_reason(program: Program) -> str:
    load = f"{fmt(program.start_load)} {program.get_load_unit_display()}"
    if program.start_load_override_reason:
        return f"start load {load}, set by the clinician: {program.start_load_override_reason}"[:300]
    return f"start load {load}: 50 % of the baseline peak torque"


def _start_time(program: Program, now: datetime | None) -> datetime:
    """When the program starts: `now` (the clock unless given) at whole seconds, after the patient's birth.

    Whole seconds are the precision of the partners' session times compared with the start
    (apps.patients.chronology): a set sent as 10:00:00 just after a start at 10:00:00.412 is not before it.
    """
    start = whole_seconds(now or timezone.now())
    born, tz = program.patient.birth_date, program.clinic.tzinfo
    if problem := clinical_time_problem(start, born=born, now=timezone.now(), tz=tz):
        raise ValidationError({"started_at": problem})
    return start


@transaction.atomic
def program_start(*, actor: Any, program: Program, now: datetime | None = None) -> Program:
    """Start a draft at `now` (the clock unless given), stored at whole seconds (`_start_time`)."""
    gate(actor, program.patient, "programs.change_program", program)
    now = _start_time(program, now)
    lock(program)
    if program.status != ProgramStatus.DRAFT:
        raise IllegalTransition({"status": f"Only a draft program can be started; this one is {program.status}."})
    if program.start_load is None:
        raise ValidationError({"start_load": "Record a baseline test or give a start load before starting."})
    check_not_blocked(program.patient)
    program.transition_to(ProgramStatus.ACTIVE)
    program.started_at = program.earliest_next_at = program.next_due_at = now
    program.current_load = program.proposed_load = program.start_load
    program.proposal_action, program.proposal_reason = ProposalAction.START, _start_reason(program)
    set_thresholds(program)
    set_due_dates(program, now)
    program.retest_due_at = schedule.retest_due_at(now, program.clinic.tzinfo)
    return save_audited(program, actor, now=now)


def _check_manual(program: Program, status: str) -> None:
    if status == ProgramStatus.ACTIVE and program.status == ProgramStatus.DRAFT:
        raise IllegalTransition({"status": "A draft program is started (with its start load), not resumed."})
    if status == ProgramStatus.LAPSED:
        raise IllegalTransition({"status": "A program lapses by itself after 14 days without a completed session."})


@transaction.atomic
def program_transition(
    *,
    actor: Any,
    program: Program,
    status: str,
    reason: str = "",
    now: datetime | None = None,
    clinician: Any = None,
) -> Program:
    """Hold, resume, complete, discharge (a physician's call) or cancel; illegal moves write nothing.

    A partner token names the clinician it acts for (`clinician`), who must hold the move's permission
    at the patient's clinic (for a discharge, a physician's); staff move as themselves.
    """
    perm = "programs.discharge_program" if status == ProgramStatus.DISCHARGED else "programs.change_program"
    gate(actor, program.patient, perm if clinician is None else "programs.change_program", program)
    if clinician is not None:
        clinician_of_record(actor=actor, clinician=clinician, perm=perm, patient=program.patient, field="clinician")
    now = now or timezone.now()
    lock(program)
    _check_manual(program, status)
    program.transition_to(status)
    program.status_reason = reason.strip()[:300]
    if status in ENDED:
        program.ended_at = now
    if status in (ProgramStatus.COMPLETED, ProgramStatus.DISCHARGED):
        # Questionnaires, retest and physician review are all due at discharge (DOMAIN.md).
        program.questionnaire_due_at = program.retest_due_at = program.physician_review_due_at = now
    signals.program_status_changed.send(sender=Program, program=program, actor=actor, now=now)
    return save_audited(program, actor, now=now)


def set_proposal(target: Program | TrainingSession, proposal: progression.Proposal) -> None:
    target.proposed_load = proposal.load
    target.proposal_action, target.proposal_reason = proposal.action, proposal.reason


# --- program_refresh and tests --------------------------------------------------------------------


@transaction.atomic
def program_refresh(*, program: Program, now: datetime) -> Program:
    """Attendance as time passes (the periodic job): flags from 7, 14 and 28 days after the last session
    (in maintenance, after the session fell due), lapse from 14.

    Idempotent: a second run at the same time finds nothing to change and writes nothing.
    """
    lock(program)
    since = attendance_since(program)
    if program.status not in (ProgramStatus.ACTIVE, ProgramStatus.LAPSED) or since is None:
        return program
    before = (program.attendance, program.status, program.overdue_at, program.lapse_at, program.detrained_at)
    set_thresholds(program)  # catches up if the clinic's time zone changed since they were set
    state = schedule.attendance_state(since, now, program.clinic.tzinfo)
    program.attendance = state
    if program.status == ProgramStatus.ACTIVE and state not in (AttendanceState.ON_TRACK, AttendanceState.OVERDUE):
        program.transition_to(ProgramStatus.LAPSED)
        program.status_reason = _lapse_reason(program, now)
    if before == (program.attendance, program.status, program.overdue_at, program.lapse_at, program.detrained_at):
        return program
    save_audited(program, SYSTEM, now=now)
    flags.attendance_flags(program=program, state=state, at=now, actor=SYSTEM)
    return program


def _lapse_reason(program: Program, now: datetime) -> str:
    days = schedule.whole_days_since(program.last_completed_at or program.started_at, now, program.clinic.tzinfo)
    if in_maintenance(program):
        return f"No completed session for {days} days (maintenance every {program.maintenance_interval_weeks} weeks)."
    return f"No completed session for {days} days."


def _after_test(program: Program, test: StrengthTest, actor: Any) -> bool:
    """Bring the program up to date with a new test; True when the program row changed."""
    if program.status == ProgramStatus.DRAFT:
        if program.baseline_test_id is not None:
            return False
        program.baseline_test = test
        if program.start_load is None:
            machine = reference_machine(program.clinic, program.machine_kind)
            program.start_load = start_load_from(test, program.load_unit, program.machine_kind, machine)
        return True
    if program.started_at is None or test.performed_at < program.started_at:
        return False
    if in_maintenance(program):
        program.retest_due_at = retest_due_in_maintenance(program, test.performed_at)
    else:
        program.retest_due_at = max(planned_discharge(program), test.performed_at)
    gap = schedule.gap_action(attendance_since(program), test.performed_at, program.clinic.tzinfo)
    if gap in (schedule.RETEST, schedule.NEW_EPISODE):
        load = start_load_from(test, program.load_unit, program.machine_kind, test.machine)
        reason = f"new start load from the retest of {test.performed_at:%Y-%m-%d}"
        set_proposal(program, progression.Proposal(load, ProposalAction.START, reason))
        at, done = test.performed_at, "Retest recorded."
        flags.flags_resolve(program=program, kinds=[FlagKind.DETRAINED], at=at, resolution=done, actor=actor)
    return True


# Lock order: the program row first, then the audit chain (taken by the first audit event of the
# transaction and held to commit). session_record and the attendance job lock the program before
# they audit. Recording a test or a questionnaire (apps.assessments) announces the new row before
# its own audit event (apps.assessments.signals, handled in apps.programs.receivers), so the two
# functions below lock the program inside that transaction before its first audit event too, or
# the two orders could deadlock.


def program_after_test(*, test: StrengthTest, actor: Any) -> None:
    """Bring the patient's open program for the test's region up to date with a new test."""
    program = selectors.program_for_patient(patient=test.patient, region=test.region)
    if program is None or test.is_familiarization:
        return
    lock(program)
    if _after_test(program, test, actor):
        save_audited(program, actor)


def programs_after_questionnaire(*, response: QuestionnaireResponse, actor: Any) -> None:
    """Move the next questionnaire due of the open programs this instrument follows."""
    regions = [region for region, instrument in REGION_INSTRUMENT.items() if instrument == response.instrument]
    programs = Program.objects.filter(patient_id=response.patient_id, region__in=regions).open().order_by("pk")
    for program in [lock(program) for program in programs if program.started_at is not None]:
        due_before = program.questionnaire_due_at
        set_due_dates(program, response.completed_at)
        if program.questionnaire_due_at != due_before:
            save_audited(program, actor)
