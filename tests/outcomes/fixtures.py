"""Outcome facts written directly, with chosen figures: the report's tests need many programs, not histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from apps.outcomes import rules
from apps.outcomes.models import OutcomeCurvePoint, OutcomeFact
from apps.programs.models import ProgramStatus
from tests import factories

START = datetime(2026, 3, 2, 15, tzinfo=UTC)
STATUS_OF = {
    rules.IN_PROGRESS: ProgramStatus.ACTIVE,
    rules.COMPLETED: ProgramStatus.COMPLETED,
    rules.DISCHARGED: ProgramStatus.DISCHARGED,
    rules.DROPPED_OUT: ProgramStatus.LAPSED,
}


def fact(clinic: Any, *, patient: Any = None, curve: tuple[tuple[int, Any], ...] = (), **figures: Any) -> OutcomeFact:
    """One started program of `clinic` (a new patient unless given) and its facts row."""
    patient = patient or factories.PatientFactory(clinic=clinic)
    outcome = figures.pop("outcome_status", rules.COMPLETED)
    program = factories.ProgramFactory(
        patient=patient, clinic=clinic, status=STATUS_OF[outcome], started_at=figures.get("started_at", START)
    )
    values = {
        "region": program.region,
        "program_status": program.status,
        "outcome_status": outcome,
        "age_band": "50-54",
        "sex": patient.sex,
        "started_at": START,
        "ended_at": None if outcome == rules.IN_PROGRESS else START + timedelta(weeks=10),
        "prom_instrument": rules.PRIMARY_PROM[program.region],
        "sessions_completed": 20,
        "sessions_prescribed": 20,
        "adherence_pct": Decimal(100),
        "weeks_in_program": Decimal(10),
        "sessions_per_week_done": Decimal(2),
        "as_of": START + timedelta(weeks=10),
        **figures,
    }
    if outcome == rules.DROPPED_OUT:
        values.setdefault("dropout_week", 3)
    row = OutcomeFact.objects.create(
        program=program, patient=patient, clinic=clinic, organization=clinic.organization, **values
    )
    for number, change in curve:
        OutcomeCurvePoint.objects.create(program=row, session_number=number, change_pct=change)
    return row
