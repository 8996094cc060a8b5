"""Booking, cancelling, checking in and no-shows through the services: the rules, the gate, the audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.audit.models import Event
from apps.clinics.models import MachineKind
from apps.programs import services as program_services
from apps.programs.models import Program, ProgramStatus
from apps.scheduling import booking, selectors, slots, visits
from apps.scheduling.booking import BOOKING_LINK, SlotTaken
from apps.scheduling.models import Appointment, AppointmentState, BookedVia
from tests import factories

# Monday 14 Dec 2026, 09:00 in Los Angeles (clinic A); open Mon-Fri 08:00-18:00 by default.
NOW = datetime(2026, 12, 14, 17, 0, tzinfo=UTC)
WED_0900 = datetime(2026, 12, 16, 17, 0, tzinfo=UTC)  # 48 h later: the earliest next session
THU_0900 = datetime(2026, 12, 17, 17, 0, tzinfo=UTC)  # the due time


def make_program(actor, patient, **fields):
    draft = factories.ProgramFactory(patient=patient, prescribed_by=actor, **fields)
    program = program_services.program_start(actor=actor, program=draft, now=NOW - timedelta(days=7))
    Program.objects.filter(pk=program.pk).update(earliest_next_at=WED_0900, next_due_at=THU_0900)
    program.refresh_from_db()
    return program


@pytest.fixture
def program(clinician_a, patient_a):
    return make_program(clinician_a, patient_a)


@pytest.fixture
def machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")


@pytest.fixture
def front_desk(clinic_a):
    return factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")


def book(actor, program, machine, start, **kwargs):
    return booking.appointment_book(actor=actor, program=program, machine=machine, starts_at=start, now=NOW, **kwargs)


def appointment_events():
    return Event.objects.filter(object_type="scheduling.appointment")


# --- Booking --------------------------------------------------------------------------------------


def test_staff_book_a_free_slot_and_the_booking_is_audited(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    assert (appointment.state, appointment.booked_via, appointment.booked_by) == ("booked", "staff", front_desk)
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=30)
    assert (appointment.clinic_id, appointment.patient_id) == (program.clinic_id, program.patient_id)
    assert appointment_events().filter(action="create", object_id=str(appointment.pk)).count() == 1


def test_the_finder_offers_the_slots_closest_to_due_and_booking_one_removes_it(front_desk, program, machine):
    offered = selectors.offer_slots(program, now=NOW)
    assert [s.start for s in offered][:1] == [THU_0900]
    book(front_desk, program, machine, THU_0900)
    # The next offer follows the booked appointment: the rest after it, due a cadence later.
    after = selectors.offer_slots(program, now=NOW)
    assert all(s.start >= THU_0900 + timedelta(hours=48) for s in after)


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (THU_0900 + timedelta(minutes=10), "not a slot inside opening hours"),
        (datetime(2026, 12, 19, 17, 0, tzinfo=UTC), "not a slot inside opening hours"),  # a Saturday
        (THU_0900 + timedelta(days=28), "outside the booking horizon"),
        (datetime(2026, 12, 15, 17, 0, tzinfo=UTC), "before the earliest next session"),
    ],
)
def test_a_time_the_finder_would_not_offer_is_refused_and_nothing_is_written(
    front_desk, program, machine, start, message
):
    with pytest.raises(ValidationError, match=message):
        book(front_desk, program, machine, start)
    assert not Appointment.objects.exists()
    assert not appointment_events().exists()


def test_a_clinician_books_inside_the_rest_window_with_a_reason_the_front_desk_cannot(
    clinician_a, front_desk, program, machine
):
    tuesday = datetime(2026, 12, 15, 17, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="Only a clinician"):
        book(front_desk, program, machine, tuesday, early_reason="Travelling on Thursday")
    appointment = book(clinician_a, program, machine, tuesday, early_reason="Travelling on Thursday")
    assert appointment.early_reason == "Travelling on Thursday"


def test_a_taken_slot_is_refused_as_taken(clinician_a, front_desk, program, machine, clinic_a):
    other = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    book(front_desk, other, machine, THU_0900)
    with pytest.raises(SlotTaken):
        book(front_desk, program, machine, THU_0900)
    assert Appointment.objects.count() == 1


def test_a_patient_cannot_be_in_two_places_at_once(clinician_a, front_desk, patient_a, program, machine, clinic_a):
    cervical = factories.MachineFactory(clinic=clinic_a, kind=MachineKind.CERVICAL_EXTENSION)
    neck = make_program(clinician_a, patient_a, region="cervical")
    book(front_desk, program, machine, THU_0900)
    with pytest.raises(ValidationError, match="another appointment then"):
        book(front_desk, neck, cervical, THU_0900)


def test_the_machine_must_be_an_active_one_of_the_programs_kind_and_clinic(
    front_desk, program, clinic_a, clinic_b, machine
):
    cervical = factories.MachineFactory(clinic=clinic_a, kind=MachineKind.CERVICAL_EXTENSION)
    with pytest.raises(ValidationError, match="lumbar extension machine"):
        book(front_desk, program, cervical, THU_0900)
    machine.is_active = False
    machine.save()
    with pytest.raises(ValidationError, match="lumbar extension machine"):
        book(front_desk, program, machine, THU_0900)
    with pytest.raises(Http404):
        book(front_desk, program, factories.MachineFactory(clinic=clinic_b), THU_0900)


def test_another_clinics_staff_get_404_and_nothing_is_written(clinician_b, program, machine):
    with pytest.raises(Http404):
        book(clinician_b, program, machine, THU_0900)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("status", [ProgramStatus.ON_HOLD, ProgramStatus.COMPLETED])
def test_a_program_that_does_not_train_takes_no_booking(front_desk, program, machine, status):
    Program.objects.filter(pk=program.pk).update(status=status)
    program.refresh_from_db()
    with pytest.raises(ValidationError, match="takes no bookings"):
        book(front_desk, program, machine, THU_0900)


def test_the_supervisor_is_held_to_their_capacity(clinician_a, front_desk, program, clinic_a):
    machines = [factories.MachineFactory(clinic=clinic_a) for _ in range(3)]
    for number in range(2):
        other = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
        book(front_desk, other, machines[number], THU_0900, supervisor=clinician_a)
    with pytest.raises(ValidationError, match="fully booked"):
        book(front_desk, program, machines[2], THU_0900, supervisor=clinician_a)
    assert book(front_desk, program, machines[2], THU_0900).supervisor is None


def test_the_supervisor_must_be_a_clinician_of_the_clinic(front_desk, program, machine):
    with pytest.raises(ValidationError, match="does not supervise"):
        book(front_desk, program, machine, THU_0900, supervisor=front_desk)


# --- Series ---------------------------------------------------------------------------------------


def series(program, weeks=3):
    return booking.series_starts(program, weekdays=[0, 3], at=time(17), first_day=date(2026, 12, 17), weeks=weeks)


def test_a_series_books_every_slot_at_least_the_rest_apart(front_desk, program, machine):
    booked = booking.appointment_book_series(
        actor=front_desk, program=program, machine=machine, starts=series(program), now=NOW
    )
    assert len(booked) == 6
    local = [a.starts_at.astimezone(program.clinic.tzinfo) for a in booked]
    assert {(d.strftime("%a"), d.hour) for d in local} == {("Mon", 17), ("Thu", 17)}


def test_a_series_with_one_taken_slot_names_it_and_books_none(clinician_a, front_desk, program, machine, clinic_a):
    starts = series(program)
    other = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    Program.objects.filter(pk=other.pk).update(earliest_next_at=NOW)
    other.refresh_from_db()
    book(front_desk, other, machine, starts[3])
    with pytest.raises(SlotTaken, match="Mon 28 Dec 17:00: the machine is booked"):
        booking.appointment_book_series(actor=front_desk, program=program, machine=machine, starts=starts, now=NOW)
    assert Appointment.objects.count() == 1


def test_a_series_closer_than_the_rest_is_refused(front_desk, program, machine):
    starts = booking.series_starts(program, weekdays=[3, 4], at=time(9), first_day=date(2026, 12, 17), weeks=1)
    with pytest.raises(ValidationError, match="less than 48 h after the one before"):
        booking.appointment_book_series(actor=front_desk, program=program, machine=machine, starts=starts, now=NOW)
    assert not Appointment.objects.exists()


def test_a_series_time_that_does_not_exist_is_named(program):
    with pytest.raises(ValidationError, match="does not exist on Sun 14 Mar"):
        booking.series_starts(program, weekdays=[6], at=time(2, 30), first_day=date(2027, 3, 8), weeks=1)


# --- Cancel, check in, no-show ---------------------------------------------------------------------


def test_cancelling_more_than_24_hours_ahead_is_not_late_and_frees_the_slot(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    visits.appointment_cancel(actor=front_desk, appointment=appointment, reason="Patient called", now=NOW)
    appointment.refresh_from_db()
    assert (appointment.state, appointment.cancelled_late, appointment.sequence) == ("cancelled", False, 1)
    assert book(front_desk, program, machine, THU_0900).state == "booked"


def test_cancelling_inside_24_hours_is_late(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    late = THU_0900 - timedelta(hours=23)
    visits.appointment_cancel(actor=front_desk, appointment=appointment, reason="Sick", now=late)
    appointment.refresh_from_db()
    assert appointment.cancelled_late
    assert appointment.cancelled_at == late


def test_a_cancellation_needs_a_reason_and_cannot_be_undone(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    with pytest.raises(ValidationError, match="Say why"):
        visits.appointment_cancel(actor=front_desk, appointment=appointment, reason="  ", now=NOW)
    visits.appointment_cancel(actor=front_desk, appointment=appointment, reason="Called", now=NOW)
    with pytest.raises(ValidationError, match="cancelled cannot become"):
        visits.appointment_cancel(actor=front_desk, appointment=appointment, reason="Again", now=NOW)


def test_the_booking_link_cannot_cancel_an_appointment_that_has_started(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    with pytest.raises(ValidationError, match="already started"):
        visits.appointment_cancel(actor=BOOKING_LINK, appointment=appointment, reason="x", now=THU_0900)


def test_check_in_opens_an_hour_before_the_start(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    with pytest.raises(ValidationError, match="Check-in opens"):
        visits.appointment_check_in(actor=front_desk, appointment=appointment, now=THU_0900 - timedelta(hours=2))
    visits.appointment_check_in(actor=front_desk, appointment=appointment, now=THU_0900 - timedelta(minutes=10))
    assert Appointment.objects.get().state == "checked_in"


def test_a_no_show_only_once_the_start_has_passed(front_desk, program, machine):
    appointment = book(front_desk, program, machine, THU_0900)
    with pytest.raises(ValidationError, match="not started yet"):
        visits.appointment_no_show(actor=front_desk, appointment=appointment, now=THU_0900 - timedelta(minutes=1))
    visits.appointment_no_show(actor=front_desk, appointment=appointment, now=THU_0900 + timedelta(minutes=5))
    assert Appointment.objects.get().state == "no_show"


def test_the_job_marks_no_shows_after_the_grace_and_leaves_the_arrived_alone(
    clinician_a, front_desk, program, machine, clinic_a
):
    missed = book(front_desk, program, machine, THU_0900)
    other = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    arrived = book(front_desk, other, factories.MachineFactory(clinic=clinic_a), THU_0900)
    visits.appointment_check_in(actor=front_desk, appointment=arrived, now=THU_0900)
    assert visits.mark_no_shows(now=THU_0900 + timedelta(minutes=14, seconds=59)) == 0
    assert visits.mark_no_shows(now=THU_0900 + timedelta(minutes=15)) == 1
    assert visits.mark_no_shows(now=THU_0900 + timedelta(minutes=16)) == 0  # twice is harmless
    missed.refresh_from_db()
    arrived.refresh_from_db()
    assert (missed.state, arrived.state) == ("no_show", "checked_in")
    assert appointment_events().filter(object_id=str(missed.pk), actor_label="system").count() == 1
    program.refresh_from_db()
    assert program.status == ProgramStatus.ACTIVE  # a no-show does not lapse a patient by itself


def test_a_session_recorded_from_a_checked_in_appointment_completes_it(clinician_a, program, machine):
    appointment = book(clinician_a, program, machine, THU_0900)
    with pytest.raises(ValidationError, match="Check the patient in"):
        visits.session_record_from(actor=clinician_a, appointment=appointment, **session_values(machine))
    visits.appointment_check_in(actor=clinician_a, appointment=appointment, now=THU_0900)
    session = visits.session_record_from(actor=clinician_a, appointment=appointment, **session_values(machine))
    appointment.refresh_from_db()
    assert (appointment.state, appointment.session) == ("completed", session)


def session_values(machine):
    program = Program.objects.get()
    return {
        "machine": machine,
        "performed_at": THU_0900,
        "load": program.proposed_load,
        "reps": 12,
        "time_under_load_s": 90,
        "reached_failure": True,
        "pain_before": 3,
        "pain_after": 3,
        "now": THU_0900 + timedelta(minutes=30),
    }


@pytest.mark.parametrize("status", [ProgramStatus.ON_HOLD, ProgramStatus.CANCELLED])
def test_a_program_put_on_hold_or_cancelled_frees_its_future_appointments(
    clinician_a, front_desk, program, machine, status
):
    appointment = book(front_desk, program, machine, THU_0900)
    program_services.program_transition(actor=clinician_a, program=program, status=status, reason="x", now=NOW)
    appointment.refresh_from_db()
    assert (appointment.state, appointment.sequence) == ("cancelled", 1)
    assert appointment.cancel_reason.startswith("Program ")


def test_the_booking_link_books_for_the_patient_but_never_early(program, machine):
    appointment = book(BOOKING_LINK, program, machine, THU_0900)
    assert (appointment.booked_via, appointment.booked_by) == (BookedVia.PATIENT_LINK, None)
    with pytest.raises(ValidationError, match="Only a clinician"):
        book(BOOKING_LINK, program, machine, THU_0900 + timedelta(days=4), early_reason="x")


def test_a_physician_who_can_see_the_patient_but_a_partner_without_write_cannot_book(physician_a, program, machine):
    assert book(physician_a, program, machine, THU_0900).state == AppointmentState.BOOKED
    with pytest.raises(PermissionDenied):
        booking.gate(_ReadOnly(), program, "scheduling.add_appointment")


class _ReadOnly:
    """A signed-in principal of every clinic whose role may only read."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True

    def has_perm(self, perm, obj=None):
        return perm.startswith("scheduling.view")


@pytest.mark.parametrize("held_days", [0, 2, 4])
def test_the_finder_gives_the_whole_horizons_answer_when_the_days_around_due_are_full(
    clinician_a, program, machine, clinic_a, held_days
):
    """It reads the bookings of the days around due first: fully booked days there must not hide better slots."""
    fill = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    Program.objects.filter(pk=fill.pk).update(earliest_next_at=NOW)
    fill.refresh_from_db()
    calendar = selectors.calendar_for(clinic_a)
    days = {(THU_0900 + timedelta(days=d)).date() for d in range(-held_days, held_days + 1)}
    taken = [start for start, _ in slots.wall_slots(calendar, NOW.date(), NOW.date() + timedelta(days=20))
             if start.astimezone(clinic_a.tzinfo).date() in days and start > NOW]  # fmt: skip
    for start in taken:
        Appointment.objects.create(
            patient=fill.patient, program=fill, clinic=clinic_a, machine=machine, starts_at=start,
            ends_at=start + timedelta(minutes=30), booked_via=BookedVia.STAFF,
        )  # fmt: skip
    window = selectors.booking_window(program, now=NOW)
    everything = selectors.live_bookings(machine_ids=[machine.pk], start=NOW, end=NOW + timedelta(days=29))
    expected = slots.free_slots(
        calendar, [machine.pk], everything, earliest=window.earliest, due=window.due, now=NOW, count=3
    )
    assert selectors.offer_slots(program, now=NOW) == expected
    assert len(expected) == 3
