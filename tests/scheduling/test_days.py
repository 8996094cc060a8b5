"""The clinic's days by machine: every slot once, the live appointment in its cell, in a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta

from apps.scheduling import selectors, visits
from tests import factories
from tests.scheduling.test_booking import NOW, THU_0900, book, make_program


def test_a_week_has_every_slot_by_machine_and_the_appointments_in_their_cells(
    clinic_a, clinician_a, django_assert_num_queries
):
    machines = [factories.MachineFactory(clinic=clinic_a, name=f"Lumbar {n}") for n in (1, 2)]
    program = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    booked = book(clinician_a, program, machines[1], THU_0900)
    other = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    cancelled = book(clinician_a, other, machines[0], THU_0900 + timedelta(hours=1))
    visits.appointment_cancel(actor=clinician_a, appointment=cancelled, reason="Called", now=NOW)

    with django_assert_num_queries(3):  # the calendar settings (none: the defaults), machines, appointments
        shown, days = selectors.clinic_days(clinic_a, first_day=date(2026, 12, 14), days=7)

    assert [m.pk for m in shown] == [m.pk for m in machines]
    assert [d.closed for d in days] == [False] * 5 + [True] * 2  # Mon-Fri 08:00-18:00 by default
    thursday = days[3]
    assert len(thursday.rows) == 20
    cells = {(cell.machine.pk, cell.start): cell.appointment for _, _, row in thursday.rows for cell in row}
    assert cells[(machines[1].pk, THU_0900)] == booked
    assert sum(a is not None for a in cells.values()) == 1
    assert thursday.others == [cancelled]
