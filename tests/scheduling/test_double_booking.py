"""0 double bookings: many clients racing for the last free slot of a machine, on PostgreSQL for real."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from apps.audit.models import Event
from apps.scheduling import booking
from apps.scheduling.booking import SlotTaken
from apps.scheduling.models import Appointment
from tests import factories
from tests.scheduling.test_booking import NOW, THU_0900, make_program

ATTEMPTS = 50

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")


def race(attempts):
    """Run every attempt at once (a barrier), each on its own connection; (results, errors)."""
    start = threading.Barrier(len(attempts))
    results, errors = [], []

    def attempt(book):
        try:
            with scopes_disabled():
                start.wait()
                results.append(book())
        except Exception as error:  # counted below: the refusals are the point
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(book,)) for book in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_fifty_patients_racing_for_one_slot_give_one_booking_and_forty_nine_conflicts(
    transactional_db, clinic_a, clinician_a
):
    machine = factories.MachineFactory(clinic=clinic_a)
    programs = [make_program(clinician_a, factories.PatientFactory(clinic=clinic_a)) for _ in range(ATTEMPTS)]

    def attempt_for(program):
        return lambda: booking.appointment_book(
            actor=clinician_a, program=program, machine=machine, starts_at=THU_0900, now=NOW
        )

    results, errors = race([attempt_for(program) for program in programs])

    assert len(results) == 1
    assert len(errors) == ATTEMPTS - 1
    assert all(isinstance(error, SlotTaken) for error in errors), {type(e).__name__ for e in errors}
    assert {str(error) for error in errors} == {booking.TAKEN}
    # Nothing half-written: one row, one audit event, and it is the winner's.
    assert list(Appointment.objects.values_list("pk", flat=True)) == [results[0].pk]
    assert Event.objects.filter(object_type="scheduling.appointment").count() == 1


def test_two_series_racing_for_overlapping_slots_give_one_series_and_no_deadlock(
    transactional_db, clinic_a, clinician_a
):
    machine = factories.MachineFactory(clinic=clinic_a)
    first, second = (make_program(clinician_a, factories.PatientFactory(clinic=clinic_a)) for _ in range(2))
    starts = [THU_0900, THU_0900 + timedelta(days=4)]

    def series(program, order):
        return lambda: booking.appointment_book_series(
            actor=clinician_a, program=program, machine=machine, starts=order, now=NOW
        )

    # Given in opposite orders; each series inserts in time order and audits only after its last insert.
    results, errors = race([series(first, starts), series(second, starts[::-1])])
    assert len(results) == 1
    assert [type(error) for error in errors] == [SlotTaken], errors
    assert Appointment.objects.count() == 2


def test_the_constraint_refuses_what_a_missed_check_lets_through_as_taken(db, clinic_a, clinician_a, monkeypatch):
    machine = factories.MachineFactory(clinic=clinic_a)
    first, second = (make_program(clinician_a, factories.PatientFactory(clinic=clinic_a)) for _ in range(2))
    booking.appointment_book(actor=clinician_a, program=first, machine=machine, starts_at=THU_0900, now=NOW)
    monkeypatch.setattr(booking, "_problems", lambda *args, **kwargs: [])  # a code path without the check
    with pytest.raises(SlotTaken):
        booking.appointment_book(actor=clinician_a, program=second, machine=machine, starts_at=THU_0900, now=NOW)
    assert Appointment.objects.count() == 1
    assert Event.objects.filter(object_type="scheduling.appointment").count() == 1
