"""Reads of programs, sessions and flags. Callers pass rows that already came through the gate."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from apps.patients.models import Patient
from apps.programs.models import (
    AttendanceState,
    Flag,
    FlagKind,
    Program,
    ProgramStatus,
    SessionStatus,
    TrainingSession,
)


def program_for_patient(*, patient: Patient, region: str | None = None) -> Program | None:
    """The patient's open program (in `region`); at most one per region, newest first across regions."""
    programs = Program.objects.of_patient(patient).open()
    if region is not None:
        programs = programs.filter(region=region)
    return programs.select_related("clinic").first()


def session_log(*, program: Program) -> QuerySet[TrainingSession]:
    return (
        TrainingSession.objects.filter(program=program)
        .select_related("machine", "supervisor", "clinic")
        .order_by("-performed_at", "-created_at")
    )


def last_completed_session(*, program: Program) -> TrainingSession | None:
    return session_log(program=program).filter(status=SessionStatus.COMPLETED).first()


def open_flags(*, patient: Patient) -> QuerySet[Flag]:
    return Flag.objects.of_patient(patient).open().select_related("program").order_by("-opened_at")


def red_flag_open(*, patient: Patient) -> bool:
    """A red flag reported in any program stops all training: red flags are about the patient."""
    return open_flags(patient=patient).filter(kind=FlagKind.RED_FLAG).exists()


def programs_due_for_refresh(*, now: datetime, limit: int) -> list[Program]:
    """Programs whose next attendance threshold has passed and whose attendance does not show it yet.

    Each branch leads with (status, threshold), the columns of program_overdue_idx and program_lapse_idx.
    A refreshed program's attendance catches up, so it leaves this set: a re-run finds only new work.
    Lapsed programs stay in for the detrained threshold (28 days on), which only they can still reach.
    """
    overdue = Q(status=ProgramStatus.ACTIVE, overdue_at__lte=now, attendance=AttendanceState.ON_TRACK)
    lapsed = Q(
        status=ProgramStatus.ACTIVE,
        lapse_at__lte=now,
        attendance__in=[AttendanceState.ON_TRACK, AttendanceState.OVERDUE],
    )
    detrained = Q(
        status__in=[ProgramStatus.ACTIVE, ProgramStatus.LAPSED],
        detrained_at__lte=now,
        attendance__in=[AttendanceState.ON_TRACK, AttendanceState.OVERDUE, AttendanceState.LAPSED],
    )
    due = Program.objects.filter(overdue | lapsed | detrained).select_related("patient", "clinic")
    return list(due.order_by("overdue_at", "id")[:limit])
