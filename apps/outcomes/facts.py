"""Keeping each program's outcome facts current, and rebuilding them all from the records.

`fact_refresh(program, now)` reads the program's tests and questionnaires (three queries), applies
`rules.program_outcome` and writes the facts row and its curve points. It runs inside the
transaction that changed the program, with the program row locked (every writer of a program
locks it first: apps.programs.services), so two writers of one program never race on its facts.
`fact_after_session` is the common write's short cut: a session moves only the program row's
figures, unless a retest follows it (its sessions-before count moves). `facts_rebuild` computes the
same rows from scratch; a test holds the paths equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.assessments.scoring import PAIN_NRS
from apps.outcomes import rules, stats
from apps.outcomes.models import OutcomeCurvePoint, OutcomeFact
from apps.patients.models import Patient
from apps.programs.models import Program, ProgramStatus, SessionStatus, TrainingSession

# Questionnaires count from a month before the start (the intake's) to two weeks after the end
# (the discharge questionnaires and retest fall due at the end: DOMAIN.md).
BEFORE_START, AFTER_END = timedelta(days=30), timedelta(days=14)
NOT_STARTED = (ProgramStatus.DRAFT,)
BATCH = 500  # programs a rebuild computes per transaction


def _window(program: Program) -> Q:
    bounds = Q(completed_at__gte=program.started_at - BEFORE_START)
    if program.ended_at is not None:
        bounds &= Q(completed_at__lte=program.ended_at + AFTER_END)
    return bounds


def _tests(program: Program, patient: Patient) -> tuple[rules.Test | None, list[rules.Test]]:
    baseline_id = program.baseline_test_id
    if baseline_id is None:
        return None, []
    before = (
        TrainingSession.objects.filter(
            program=program, status=SessionStatus.COMPLETED, performed_at__lt=OuterRef("performed_at")
        )
        .order_by()
        .values("program")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = StrengthTest._base_manager.filter(patient=patient, region=program.region, is_familiarization=False)
    baseline_at = StrengthTest._base_manager.filter(pk=baseline_id).values("performed_at")
    rows = rows.filter(Q(pk=baseline_id) | Q(performed_at__gt=Subquery(baseline_at)))
    if program.ended_at is not None:
        rows = rows.filter(Q(pk=baseline_id) | Q(performed_at__lte=program.ended_at + AFTER_END))
    tests = list(
        rows.annotate(sessions_before=Coalesce(Subquery(before), 0))
        .order_by("performed_at", "created_at")
        .prefetch_related("points")
    )
    made = {
        t.pk: rules.Test(t.performed_at, [(p.angle_deg, p.torque_nm) for p in t.points.all()], t.sessions_before)
        for t in tests
    }
    baseline = made.get(baseline_id)
    return baseline, [made[t.pk] for t in tests if t.pk != baseline_id]


def _responses(program: Program, patient: Patient) -> tuple[list[rules.Response], list[rules.Response]]:
    instrument = rules.PRIMARY_PROM[program.region]
    rows = (
        QuestionnaireResponse._base_manager.filter(patient=patient, instrument__in=(instrument, PAIN_NRS))
        .filter(_window(program))
        .order_by("completed_at", "created_at")
        .values_list("instrument", "completed_at", "score")
    )
    prom, nrs = [], []
    for kind, completed_at, score in rows:
        (prom if kind == instrument else nrs).append(rules.Response(completed_at, score))
    return prom, nrs


def program_record(program: Program, patient: Patient | None = None) -> rules.ProgramRecord:
    """The rules' view of the program; without `patient`, of the program row alone (no tests or questionnaires)."""
    baseline, retests = _tests(program, patient) if patient else (None, [])
    prom, nrs = _responses(program, patient) if patient else ([], [])
    return rules.ProgramRecord(
        status=program.status,
        region=program.region,
        started_at=program.started_at,
        ended_at=program.ended_at,
        lapse_at=program.lapse_at,
        last_completed_at=program.last_completed_at,
        sessions_per_week=program.sessions_per_week,
        planned_weeks=program.planned_weeks,
        completed_sessions=program.completed_sessions,
        baseline=baseline,
        retests=retests,
        prom=prom,
        nrs=nrs,
    )


def fact_values(program: Program, patient: Patient, now: datetime) -> tuple[dict[str, Any], list[rules.CurvePoint]]:
    outcome = rules.program_outcome(program_record(program, patient), now)
    age = patient.age_on(program.started_at.date())
    values = {
        "patient_id": patient.pk,
        "clinic_id": program.clinic_id,
        "organization_id": patient.organization_id,
        "region": program.region,
        "program_status": program.status,
        "age_band": stats.age_band(age),
        "sex": patient.sex,
        "started_at": program.started_at,
        "ended_at": program.ended_at,
        "as_of": now,
        **{name: getattr(outcome, name) for name in FIGURES},
    }
    return values, list(outcome.curve)


FIGURES = (
    *("outcome_status", "strength_baseline", "strength_latest", "strength_change_pct", "prom_instrument"),
    *("prom_baseline", "prom_latest", "prom_change", "prom_important"),
    *("nrs_baseline", "nrs_latest", "nrs_change", "nrs_important"),
    *("sessions_completed", "sessions_prescribed", "adherence_pct", "weeks_in_program", "sessions_per_week_done"),
    "dropout_week",
)


def fact_refresh(*, program: Program, now: datetime) -> OutcomeFact | None:
    """The program's facts row as its records stand now (None, and no row, until the program starts)."""
    if program.status in NOT_STARTED or program.started_at is None:
        OutcomeFact._base_manager.filter(program_id=program.pk).delete()
        return None
    cached = Program._meta.get_field("patient").get_cached_value(program, None)
    patient = cached or Patient._base_manager.get(pk=program.patient_id)
    values, curve = fact_values(program, patient, now)
    # One statement whether the row exists or not (INSERT ... ON CONFLICT DO UPDATE).
    fact = OutcomeFact(program_id=program.pk, **values)
    OutcomeFact._base_manager.bulk_create(
        [fact], update_conflicts=True, unique_fields=["program"], update_fields=list(values)
    )
    points = [(p.session_number, p.change_pct) for p in curve]
    kept = OutcomeCurvePoint.objects.filter(program_id=program.pk).order_by("session_number", "pk")
    if list(kept.values_list("session_number", "change_pct")) != points:  # a new session rarely moves them
        kept.delete()
        OutcomeCurvePoint.objects.bulk_create(
            OutcomeCurvePoint(program_id=program.pk, session_number=number, change_pct=change)
            for number, change in points
        )
    return fact


ATTENDANCE = tuple(field.name for field in fields(rules.Attendance))


def fact_after_session(*, program: Program, session: TrainingSession, now: datetime) -> None:
    """The facts after `session` was recorded: one UPDATE of the program row's figures, without reading
    a test or questionnaire, while the row's window is the program's and no test of the region follows
    the session; otherwise (or with no row yet) the full refresh."""
    if program.status in NOT_STARTED or program.started_at is None:
        fact_refresh(program=program, now=now)
        return
    later_test = StrengthTest._base_manager.filter(
        patient_id=program.patient_id, region=program.region, performed_at__gt=session.performed_at
    )
    row = OutcomeFact._base_manager.filter(
        program_id=program.pk, started_at=program.started_at, ended_at=program.ended_at
    ).exclude(Exists(later_test))
    attended = rules.attendance(program_record(program), now)
    figures = {name: getattr(attended, name) for name in ATTENDANCE}
    if not row.update(program_status=program.status, as_of=now, **figures):
        fact_refresh(program=program, now=now)


def programs_of(patient_id: Any, region: str | None = None) -> Iterable[Program]:
    """The patient's started programs (of one region), each locked, oldest first."""
    rows = Program._base_manager.filter(patient_id=patient_id).exclude(status__in=NOT_STARTED)
    if region is not None:
        rows = rows.filter(region=region)
    return rows.select_for_update(of=("self",)).order_by("created_at", "pk")


def facts_rebuild(*, now: datetime, program_ids: Iterable[Any] | None = None) -> int:
    """Every program's facts from its records (or those of `program_ids`), a batch per transaction;
    returns the number of programs written."""
    ids = list(program_ids) if program_ids is not None else None
    queryset = Program._base_manager.order_by("pk")
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    done, last = 0, None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        with transaction.atomic():
            batch = list(page.select_for_update(of=("self",))[:BATCH])
            for program in batch:
                fact_refresh(program=program, now=now)
        if not batch:
            return done
        done, last = done + len(batch), batch[-1].pk
