"""Appointment rows: the database refuses what no code path may write, a double booking above all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.programs import services as program_services
from apps.scheduling.models import Appointment, AppointmentState, BookedVia
from tests import factories

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's")


@pytest.fixture
def program(clinician_a, patient_a):
    draft = factories.ProgramFactory(patient=patient_a, prescribed_by=clinician_a)
    return program_services.program_start(actor=clinician_a, program=draft)


@pytest.fixture
def machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-1")


def book(program, machine, start, minutes=30, state=AppointmentState.BOOKED):
    return Appointment.objects.create(
        patient=program.patient,
        program=program,
        clinic=machine.clinic,
        machine=machine,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        state=state,
        booked_via=BookedVia.STAFF,
    )


START = timezone.now().replace(microsecond=0) + timedelta(days=3)


def test_two_live_appointments_of_one_machine_cannot_overlap(program, machine):
    book(program, machine, START)
    with pytest.raises(IntegrityError, match="appointment_no_double_booking"), transaction.atomic():
        book(program, machine, START + timedelta(minutes=29))
    assert Appointment.objects.count() == 1


def test_back_to_back_slots_and_other_machines_are_free(program, machine, clinic_a):
    book(program, machine, START)
    book(program, machine, START + timedelta(minutes=30))  # [) ranges: the end is free
    book(program, factories.MachineFactory(clinic=clinic_a, serial_number="LX-2"), START)
    assert Appointment.objects.count() == 3


@pytest.mark.parametrize("state", [AppointmentState.CANCELLED, AppointmentState.NO_SHOW, AppointmentState.COMPLETED])
def test_an_appointment_that_no_longer_holds_the_machine_frees_its_slot(program, machine, state):
    book(program, machine, START, state=state)
    book(program, machine, START)
    assert Appointment.objects.filter(state=AppointmentState.BOOKED).count() == 1


def test_an_appointment_must_end_after_it_starts(program, machine):
    with pytest.raises(IntegrityError, match="appointment_ends_after_start"), transaction.atomic():
        book(program, machine, START, minutes=0)
