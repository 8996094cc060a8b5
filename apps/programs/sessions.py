"""Recording a training session: its checks, the proposal in force, and the program it moves on.

`session_record` is the one way a session is written. Everything it changes (the session, the
program's load proposal, due times and flags, the audit events) commits or rolls back together.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.assessments import selectors as assessment_selectors
from apps.assessments.scoring import as_decimal, fmt
from apps.assessments.services import clinician_of_record
from apps.audit import events
from apps.clinics.access import access_clinic
from apps.clinics.models import Clinic, Machine
from apps.patients.chronology import clinical_time_problem
from apps.programs import flags, progression, schedule, selectors
from apps.programs.models import (
    AttendanceState,
    Phase,
    Program,
    ProgramStatus,
    ProposalAction,
    SessionStatus,
    TrainingSession,
)
from apps.programs.services import check_not_blocked, gate, lock, save_audited, set_proposal, start_load_from
from apps.programs.timing import attendance_since, set_due_dates, set_next_due, set_thresholds

# What a person enters for a session (the admin's and the staff UI's forms), besides its program.
SESSION_INPUTS = (
    "machine",
    "performed_at",
    "status",
    "load",
    "override_reason",
    "reps",
    "time_under_load_s",
    "reached_failure",
    "rom_min_deg",
    "rom_max_deg",
    "pain_before",
    "pain_after",
    "early_reason",
    "adverse_event",
    "adverse_event_note",
    "red_flag_reported",
)


# --- session_record -------------------------------------------------------------------------------

WHOLE_NUMBER_LIMITS = {"reps": 50, "time_under_load_s": 300, "pain_before": 10, "pain_after": 10}


def _whole(value: object, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high


def _session_clinic(actor: Any, program: Program, machine: Machine) -> Clinic:
    clinic = access_clinic(actor, machine.clinic_id)  # 404 for a machine outside the actor's clinics
    if machine.kind != program.machine_kind or not machine.is_active:
        raise ValidationError({"machine": f"Choose an active {program.get_machine_kind_display().lower()} machine."})
    if clinic.organization_id != program.patient.organization_id:
        raise ValidationError({"machine": "Choose a machine of the patient's organization."})
    return clinic


def _check_trainable(program: Program) -> None:
    if program.status not in (ProgramStatus.ACTIVE, ProgramStatus.LAPSED):
        raise ValidationError(
            {"program": f"A program that is {program.get_status_display().lower()} takes no sessions."}
        )
    check_not_blocked(program.patient)


def _as_load(value: object) -> Decimal:
    try:
        return as_decimal(value, "load")
    except ValueError:
        raise ValidationError({"load": "Give the load as a number."}) from None


def _load_error(load: Decimal, machine: Machine) -> str | None:
    unit = machine.get_load_unit_display()
    increment, low, high = (
        as_decimal(machine.load_increment),
        as_decimal(machine.min_load),
        as_decimal(machine.max_load),
    )
    if load % increment:
        return f"Load {fmt(load)} is not a multiple of the machine's increment {fmt(increment)} {unit}."
    if not low <= load <= high:
        return f"Load {fmt(load)} is outside the machine's range {fmt(low)}-{fmt(high)} {unit}."
    return None


def _time_error(program: Program, session: TrainingSession, now: datetime) -> str | None:
    """Why the session cannot be at its time, or None.

    First what any clinical time must be (apps.patients.chronology: after the patient's birth on the wall
    clock of the machine's clinic, not ahead of `now`), then within the program: from its start, which is
    stored at whole seconds (a partner's 10:00:00 is not before a start stamped 10:00:00.412), and after
    its last completed session.
    """
    performed_at = session.performed_at
    if not isinstance(performed_at, datetime) or timezone.is_naive(performed_at):
        return "Give the date and time with its time zone."
    born, tz = program.patient.birth_date, session.clinic.tzinfo
    if problem := clinical_time_problem(performed_at, born=born, now=now, tz=tz):
        return problem
    if program.started_at and performed_at < program.started_at:
        return "This is before the program started."
    if program.last_completed_at and performed_at <= program.last_completed_at:
        return "A session is recorded after the last completed one, not before it."
    return None


def _value_errors(program: Program, session: TrainingSession, now: datetime) -> dict[str, str]:
    machine = session.machine
    errors = {
        name: f"Give a whole number from 0 to {high}."
        for name, high in WHOLE_NUMBER_LIMITS.items()
        if not _whole(getattr(session, name), high)
    }
    rom = (session.rom_min_deg, session.rom_max_deg)
    if not all(_whole(deg, machine.rom_max_deg) for deg in rom) or not machine.rom_min_deg <= rom[0] < rom[1]:
        errors["rom_max_deg"] = (
            f"Give a range of motion from low to high within {machine.rom_min_deg}-{machine.rom_max_deg}°."
        )
    if session.status not in SessionStatus.values:
        errors["status"] = "Choose completed or stopped early."
    problems = {
        "load": _load_error(session.load, machine),
        "performed_at": _time_error(program, session, now),
    }
    return errors | {name: problem for name, problem in problems.items() if problem}


def _retest_proposal(program: Program, session: TrainingSession, since: datetime, days: int) -> progression.Proposal:
    tests = assessment_selectors.tests_since(patient=program.patient, region=program.region, since=since)
    tests = [t for t in tests if not t.is_familiarization and t.performed_at <= session.performed_at]
    if not tests:
        raise ValidationError({"program": f"{days} days since the last completed session: retest required first."})
    test = max(tests, key=lambda t: t.performed_at)
    load = start_load_from(test, program.load_unit, program.machine_kind, session.machine)
    return progression.Proposal(
        load, ProposalAction.START, f"new start load from the retest of {test.performed_at:%Y-%m-%d}"
    )


def _in_force(program: Program, session: TrainingSession) -> progression.Proposal:
    """The stored proposal, unless the gap since the last completed session changes it (DOMAIN.md §gap).

    In maintenance the gap counts from when the session fell due, not from the last one.
    """
    last, machine, tz = program.last_completed_at or program.started_at, session.machine, program.clinic.tzinfo
    gap = schedule.return_after_gap(
        program.current_load, attendance_since(program), session.performed_at, tz, machine.load_increment
    )
    days = schedule.whole_days_since(last, session.performed_at, tz)
    if gap.action == schedule.NEW_EPISODE:
        message = f"{days} days since the last completed session: a new episode (screen, questionnaires, test)."
        raise ValidationError({"program": message})
    if gap.action == schedule.RETEST:
        return _retest_proposal(program, session, last, days)
    if gap.action == schedule.RESUME_REDUCED and program.last_completed_at:  # a load to come back from
        load = progression.clamp_load(gap.load, machine.load_increment, machine.min_load, machine.max_load)
        return progression.Proposal(
            load, ProposalAction.RESUME_REDUCED, f"{days} days without training: resume at 90 %"
        )
    return progression.Proposal(program.proposed_load, program.proposal_action, program.proposal_reason)


def session_proposal(*, program: Program, machine: Machine, performed_at: datetime) -> progression.Proposal:
    """The proposal a session at `performed_at` would be recorded against, gap rules included.

    Raises ValidationError when no session can be recorded then (retest required, new episode).
    """
    return _in_force(program, TrainingSession(program=program, machine=machine, performed_at=performed_at))


def _reason_errors(program: Program, session: TrainingSession, proposal: progression.Proposal) -> dict[str, str]:
    errors = {}
    if program.earliest_next_at and session.performed_at < program.earliest_next_at and not session.early_reason:
        rest = program.min_rest_hours
        errors["early_reason"] = (
            f"Less than {rest} h since the last completed session: say why the patient trains early."
        )
    if proposal.load is not None and session.load != proposal.load and not session.override_reason:
        proposed = f"{fmt(proposal.load)} {program.get_load_unit_display()}"
        errors["override_reason"] = (
            f"The proposed load is {proposed}: say why the patient trains at {fmt(session.load)}."
        )
    return errors


def _previous(program: Program) -> progression.PreviousSession | None:
    last = selectors.last_completed_session(program=program)
    return progression.PreviousSession(last.pain_before, last.was_pain_hold, last.was_below_minimum) if last else None


def _result(session: TrainingSession) -> progression.SessionResult:
    return progression.SessionResult(
        reps=session.reps,
        time_under_load_s=session.time_under_load_s,
        reached_failure=session.reached_failure,
        pain_before=session.pain_before,
        pain_after=session.pain_after,
        red_flag=session.red_flag_reported,
        status=session.status,
    )


def _propose(
    program: Program, session: TrainingSession, previous: progression.PreviousSession | None
) -> progression.Proposal:
    machine = session.machine
    return progression.propose_next_load(
        current_load=session.load,
        increment=machine.load_increment,
        min_load=machine.min_load,
        max_load=machine.max_load,
        session=_result(session),
        previous=previous,
        rep_range=program.rep_range,
        tul_window=program.tul_window,
        step_pct=program.progression_step_pct,
    )


def _retest_due_after(program: Program, performed_at: datetime) -> None:
    # The mid-program retest falls due at session 12 or week 6, whichever comes first (maintenance has its own).
    if (
        program.phase == Phase.TRAINING
        and program.completed_sessions == schedule.RETEST_AT_SESSION
        and program.retest_due_at
    ):
        since = program.started_at
        tests = assessment_selectors.tests_since(patient=program.patient, region=program.region, since=since)
        if all(test.is_familiarization for test in tests):
            program.retest_due_at = min(program.retest_due_at, performed_at)


def _count_completed(program: Program, session: TrainingSession, now: datetime) -> None:
    program.completed_sessions += 1
    program.last_completed_at, program.current_load = session.performed_at, session.load
    set_next_due(program, session.performed_at)
    set_thresholds(program)
    program.attendance = AttendanceState.ON_TRACK
    set_due_dates(program, now)
    _retest_due_after(program, session.performed_at)


def _check_access(actor: Any, program: Program, supervisor: Any) -> Any:
    """The gate (404 outside the actor's clinics, 403 for a role that may not record), then who supervised."""
    perm = "programs.add_trainingsession"
    gate(actor, program.patient, perm, program)
    return clinician_of_record(
        actor=actor, clinician=supervisor, perm=perm, patient=program.patient, field="supervisor"
    )


def _check_entries(program: Program, session: TrainingSession, now: datetime) -> None:
    _check_trainable(program)
    if errors := _value_errors(program, session, now):
        raise ValidationError(errors)


def _check_reasons(program: Program, session: TrainingSession, proposal: progression.Proposal) -> None:
    if errors := _reason_errors(program, session, proposal):
        raise ValidationError(errors)


def _set_rule_state(
    program: Program,
    session: TrainingSession,
    proposal: progression.Proposal,
    previous: progression.PreviousSession | None,
) -> None:
    """The proposal the session was recorded against, and what the next session's rule call needs of it."""
    set_proposal(session, proposal)
    session.was_pain_hold = progression.is_pain_hold(_result(session), previous)
    session.was_below_minimum = progression.is_below_minimum(_result(session), program.rep_range, program.tul_window)


def _insert_audited(session: TrainingSession, actor: Any) -> None:
    session.save()
    events.record(action=events.Action.CREATE, obj=session, actor=actor)


def _update_program(program: Program, session: TrainingSession, proposal: progression.Proposal, now: datetime) -> None:
    if program.status == ProgramStatus.LAPSED:  # back within 84 days: the same program resumes
        program.transition_to(ProgramStatus.ACTIVE)
        program.status_reason = ""
    set_proposal(program, proposal)
    if session.status == SessionStatus.COMPLETED:  # lapse counts from the last COMPLETED session
        _count_completed(program, session, now)


@transaction.atomic
def session_record(
    *,
    actor: Any,
    program: Program,
    machine: Machine,
    performed_at: datetime,
    load: object,
    reps: int,
    time_under_load_s: int,
    reached_failure: bool,
    pain_before: int,
    pain_after: int,
    rom_min_deg: int | None = None,
    rom_max_deg: int | None = None,
    status: str = SessionStatus.COMPLETED,
    adverse_event: bool = False,
    adverse_event_note: str = "",
    red_flag_reported: bool = False,
    override_reason: str = "",
    early_reason: str = "",
    supervisor: Any = None,
    now: datetime | None = None,
) -> TrainingSession:
    """Store a session with the proposal in force, then recompute the program and its flags.

    `supervisor` is for a partner system recording a set: the clinician who supervised it.
    """
    supervisor = _check_access(actor, program, supervisor)
    now = now or timezone.now()
    # Before any check reads the program's state, and before the first audit event (lock order: services.py).
    lock(program)
    session = TrainingSession(
        program=program,
        patient=program.patient,
        clinic=_session_clinic(actor, program, machine),
        machine=machine,
        supervisor=supervisor,
        performed_at=performed_at,
        status=status,
        phase=program.phase,
        rom_min_deg=machine.rom_min_deg if rom_min_deg is None else rom_min_deg,
        rom_max_deg=machine.rom_max_deg if rom_max_deg is None else rom_max_deg,
        load=_as_load(load),
        load_unit=machine.load_unit,
        reps=reps,
        time_under_load_s=time_under_load_s,
        reached_failure=bool(reached_failure),
        pain_before=pain_before,
        pain_after=pain_after,
        adverse_event=bool(adverse_event),
        adverse_event_note=adverse_event_note.strip()[:500],
        red_flag_reported=bool(red_flag_reported),
        override_reason=override_reason.strip()[:300],
        early_reason=early_reason.strip()[:300],
    )
    _check_entries(program, session, now)
    proposal = _in_force(program, session)
    _check_reasons(program, session, proposal)
    previous = _previous(program)
    _set_rule_state(program, session, proposal, previous)
    _insert_audited(session, actor)
    next_proposal = _propose(program, session, previous)
    _update_program(program, session, next_proposal, now)
    save_audited(program, actor, now=now, session=session)
    flags.flags_after_session(program=program, session=session, proposal=next_proposal, actor=actor)
    return session
