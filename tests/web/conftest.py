"""The web UI's fixtures: a lumbar machine at clinic A and patient_a in training on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.programs import services
from apps.programs.models import Program
from apps.programs.sessions import session_record
from tests import factories


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")


@pytest.fixture
def training(patient_a, machine_a, clinician_a) -> Program:
    """patient_a in an active lumbar program, started three days ago from a baseline test.

    Recorded through the services, as a demo patient is: the program's proposal (the start load,
    50 % of the baseline peak) and due times are what the rules computed.
    """
    started = timezone.now() - timedelta(days=3)
    familiarisation = started - timedelta(days=7)
    factories.StrengthTestFactory(
        patient=patient_a, machine=machine_a, performed_at=familiarisation, is_familiarization=True
    )
    baseline = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=started)
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)
    return services.program_start(actor=clinician_a, program=program, now=started)


def record_session(program: Program, machine, actor, *, at, load=None, **given):
    """A completed set at `load` (the proposal when not given), recorded through the service."""
    program.refresh_from_db()
    values = {
        "reps": 10,
        "time_under_load_s": 90,
        "reached_failure": True,
        "pain_before": 2,
        "pain_after": 2,
        **given,
    }
    load = program.proposed_load if load is None else load
    return session_record(
        actor=actor, program=program, machine=machine, performed_at=at, load=load, now=timezone.now(), **values
    )


def chart_url(patient) -> str:
    return f"/patients/{patient.pk}/"
