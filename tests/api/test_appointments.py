# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""Appointments and slots on the partner API: book, list, read, cancel; the finder's slots; the gate."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from apps.audit.models import Event
from apps.clinics.models import MachineKind
from apps.partners.models import Partner
from apps.programs import services as program_services
from apps.programs.models import Program
from apps.scheduling import booking, selectors
from apps.scheduling.models import Appointment, AppointmentState
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db
APPOINTMENTS = "/api/v1/appointments/"
SLOTS = "/api/v1/slots/"


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bookable_program(actor, patient, *, rest_hours=1, due_days=2, **fields):
    """A started program whose earliest next session is `rest_hours` away and due in `due_days`."""
    now = timezone.now()
    draft = factories.ProgramFactory(patient=patient, prescribed_by=actor, **fields)
    program = program_services.program_start(actor=actor, program=draft, now=now - timedelta(days=7))
    Program.objects.filter(pk=program.pk).update(
        earliest_next_at=now + timedelta(hours=rest_hours), next_due_at=now + timedelta(days=due_days)
    )
    program.refresh_from_db()
    return program


def first_slot(program):
    return selectors.offer_slots(program, now=timezone.now(), count=1)[0]


def booking_body(program, slot, **extra):
    return {"program": str(program.pk), "machine": slot.machine, "starts_at": iso(slot.start), **extra}


@pytest.fixture
def machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")


@pytest.fixture
def program(clinician_a, patient_a, machine):
    return bookable_program(clinician_a, patient_a)


@pytest.fixture
def writer_b(organization, clinic_b, issue_token):
    partner = Partner.objects.create(organization=organization, name="EHR B", contact_email="it@ehr-b.test")
    partner.clinics.set([clinic_b])
    return issue_token(partner, "read_write")


@pytest.fixture
def booked(clinician_a, program, machine):
    slot = first_slot(program)
    return booking.appointment_book(actor=clinician_a, program=program, machine=machine, starts_at=slot.start)


def errors_of(response):
    return {(error["attr"], error["code"]) for error in response.json()["errors"]}


# --- Slots ----------------------------------------------------------------------------------------


def test_the_slots_of_a_program_are_the_finders_and_reading_them_is_audited(api, reader_a, program, machine):
    response = api("GET", f"{SLOTS}?program={program.pk}&count=5", token=reader_a)
    assert response.status_code == 200, response.json()
    offered = selectors.offer_slots(program, now=timezone.now(), count=5)
    assert response.json() == [{"machine": s.machine, "start": iso(s.start), "end": iso(s.end)} for s in offered]
    assert {slot["machine"] for slot in response.json()} == {machine.pk}
    assert Event.objects.filter(action="read", object_type="programs.program", object_id=str(program.pk)).exists()


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ("", "program"),
        ("?program=nope", "program"),
        ("?program={pk}&count=0", "count"),
        ("?program={pk}&count=99", "count"),
    ],
)
def test_a_bad_slot_query_is_400_on_its_parameter(api, reader_a, program, query, attr):
    response = api("GET", SLOTS + query.format(pk=program.pk), token=reader_a)
    assert response.status_code == 400
    assert attr in {error["attr"] for error in response.json()["errors"]}


def test_the_slots_of_another_clinics_program_or_an_unknown_one_are_404(api, writer_b, writer_c, program):
    for token, pk in ((writer_b, program.pk), (writer_c, program.pk), (writer_b, uuid.uuid4())):
        response = api("GET", f"{SLOTS}?program={pk}", token=token)
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"


# --- Booking --------------------------------------------------------------------------------------


def test_a_partner_books_an_offered_slot_and_the_booking_is_audited(api, writer_a, program, machine):
    slot = api("GET", f"{SLOTS}?program={program.pk}&count=1", token=writer_a).json()[0]
    body = {"program": str(program.pk), **{"machine": slot["machine"], "starts_at": slot["start"]}}
    response = api("POST", APPOINTMENTS, token=writer_a, body=body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["state"], data["booked_via"], data["machine"], data["starts_at"]) == (
        "booked",
        "partner",
        machine.pk,
        slot["start"],
    )
    assert (data["patient"], data["program"], data["supervisor"]) == (str(program.patient_id), str(program.pk), None)
    row = Appointment.objects.get()
    assert (
        Event.objects.filter(action="create", object_type="scheduling.appointment", object_id=str(row.pk)).count() == 1
    )
    # The slot is gone from the next offer.
    again = api("GET", f"{SLOTS}?program={program.pk}&count=20", token=writer_a).json()
    assert slot["start"] not in {s["start"] for s in again if s["machine"] == machine.pk}


def test_staff_book_as_themselves_with_a_supervisor(signed_in, client, clinician_a, program):
    signed_in(clinician_a)
    slot = first_slot(program)
    response = client.post(
        APPOINTMENTS, booking_body(program, slot, supervisor="clinician_a"), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["booked_via"], response.json()["supervisor"]) == ("staff", "clinician_a")


def test_a_retried_booking_with_its_idempotency_key_books_once(api, writer_a, program):
    body = booking_body(program, first_slot(program))
    first = api("POST", APPOINTMENTS, token=writer_a, body=body, **{"Idempotency-Key": "book-1"})
    again = api("POST", APPOINTMENTS, token=writer_a, body=body, **{"Idempotency-Key": "book-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "True"
    assert again.json() == first.json()
    assert Appointment.objects.count() == 1


def test_a_slot_already_taken_is_a_409_conflict(api, writer_a, booked, clinician_a, clinic_a):
    other = bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    body = {"program": str(other.pk), "machine": booked.machine_id, "starts_at": iso(booked.starts_at)}
    response = api("POST", APPOINTMENTS, token=writer_a, body=body)
    assert response.status_code == 409
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "conflict", "detail": booking.TAKEN, "attr": None}],
    }
    assert Appointment.objects.count() == 1


def _other_kind_machine(clinic):
    return factories.MachineFactory(clinic=clinic, kind=MachineKind.CERVICAL_EXTENSION).pk


@pytest.mark.parametrize(
    ("change", "attr", "code"),
    [
        (lambda b, ctx: {**b, "starts_at": iso(ctx["slot"].start + timedelta(minutes=10))}, "starts_at", "invalid"),
        (lambda b, ctx: {**b, "starts_at": b["starts_at"].replace("Z", "")}, "starts_at", "naive"),
        (lambda b, ctx: {**b, "starts_at": "next tuesday"}, "starts_at", "invalid"),
        (lambda b, ctx: {**b, "machine": _other_kind_machine(ctx["clinic_a"])}, "machine", "invalid"),
        (lambda b, ctx: {**b, "machine": _other_kind_machine(ctx["clinic_c"])}, "machine", "does_not_exist"),
        (lambda b, ctx: {**b, "program": str(uuid.uuid4())}, "program", "does_not_exist"),
        (lambda b, ctx: {**b, "program": "not-a-uuid"}, "program", "invalid"),
        (lambda b, ctx: {**b, "program": str(ctx["program_c"].pk)}, "program", "does_not_exist"),
        (lambda b, ctx: {**b, "supervisor": "clinician_b"}, "supervisor", "does_not_exist"),
        (lambda b, ctx: {key: value for key, value in b.items() if key != "starts_at"}, "starts_at", "required"),
    ],
)
def test_bad_booking_input_is_400_on_its_field_and_books_nothing(
    api,
    writer_a,
    program,
    clinic_a,
    clinic_c,
    clinician_b,
    patient_c,
    change,
    attr,
    code,
):
    slot = first_slot(program)
    clinician_c = factories.StaffFactory(username="clinician_c", clinic=clinic_c, role="physical_therapist")
    ctx = {
        "slot": slot,
        "clinic_a": clinic_a,
        "clinic_c": clinic_c,
        "program_c": bookable_program(clinician_c, patient_c),
    }
    response = api("POST", APPOINTMENTS, token=writer_a, body=change(booking_body(program, slot), ctx))
    assert response.status_code == 400, response.json()
    assert (attr, code) in errors_of(response), response.json()
    assert not Appointment.objects.exists()


def test_a_slot_before_the_earliest_next_session_needs_a_clinicians_reason(
    api, writer_a, clinician_a, clinic_a, machine
):
    resting = bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a), rest_hours=24 * 5, due_days=6)
    early = first_slot(bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a)))
    assert early.start < resting.earliest_next_at
    response = api("POST", APPOINTMENTS, token=writer_a, body=booking_body(resting, early))
    assert response.status_code == 400
    assert "starts_at" in {error["attr"] for error in response.json()["errors"]}
    # A partner is no clinician: its reason is refused too.
    response = api("POST", APPOINTMENTS, token=writer_a, body=booking_body(resting, early, early_reason="Travels."))
    assert ("early_reason", "invalid") in errors_of(response)
    assert not Appointment.objects.exists()


def test_a_clinician_books_early_with_a_reason(signed_in, client, clinician_a, clinic_a, machine):
    resting = bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a), rest_hours=24 * 5, due_days=6)
    early = first_slot(bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a)))
    signed_in(clinician_a)
    body = booking_body(resting, early, early_reason="Travels on the due day.")
    response = client.post(APPOINTMENTS, body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["early_reason"] == "Travels on the due day."


def test_a_read_only_token_cannot_book_or_cancel(api, reader_a, program, booked):
    response = api("POST", APPOINTMENTS, token=reader_a, body=booking_body(program, first_slot(program)))
    assert response.status_code == 403
    response = api("POST", f"{APPOINTMENTS}{booked.pk}/cancel/", token=reader_a, body={"reason": "Ill."})
    assert response.status_code == 403
    assert Appointment.objects.get().state == AppointmentState.BOOKED


@pytest.mark.parametrize("url", [APPOINTMENTS, SLOTS, f"{APPOINTMENTS}{uuid.uuid4()}/"])
def test_appointments_and_slots_need_authentication(api, url):
    assert api("GET", url).status_code == 401


def test_booking_needs_authentication(api, program):
    assert api("POST", APPOINTMENTS, body=booking_body(program, first_slot(program))).status_code == 401


# --- Reading and cancelling -----------------------------------------------------------------------


def test_an_appointment_is_read_with_its_etag_and_audited(api, reader_a, booked):
    response = api("GET", f"{APPOINTMENTS}{booked.pk}/", token=reader_a)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["state"]) == (str(booked.pk), "booked")
    unchanged = api("GET", f"{APPOINTMENTS}{booked.pk}/", token=reader_a, **{"If-None-Match": response["ETag"]})
    assert unchanged.status_code == 304
    assert Event.objects.filter(action="read", object_id=str(booked.pk)).count() == 2


def test_another_clinics_appointment_is_404_to_read_cancel_and_list(api, writer_b, writer_c, booked):
    for token in (writer_b, writer_c):
        assert api("GET", f"{APPOINTMENTS}{booked.pk}/", token=token).status_code == 404
        cancel = api("POST", f"{APPOINTMENTS}{booked.pk}/cancel/", token=token, body={"reason": "x"})
        assert cancel.status_code == 404
        assert api("GET", APPOINTMENTS, token=token).json()["results"] == []
        assert api("GET", f"{APPOINTMENTS}?patient={booked.patient_id}", token=token).json()["results"] == []
    assert Appointment.objects.get().state == AppointmentState.BOOKED


def test_a_partner_cancels_an_appointment_and_a_second_cancel_is_400(api, writer_a, booked):
    url = f"{APPOINTMENTS}{booked.pk}/cancel/"
    response = api("POST", url, token=writer_a, body={"reason": "Patient is ill."})
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["cancel_reason"]) == ("cancelled", "Patient is ill.")
    assert Event.objects.filter(action="update", object_id=str(booked.pk)).count() == 1
    again = api("POST", url, token=writer_a, body={"reason": "Again."})
    assert again.status_code == 400
    assert "state" in {error["attr"] for error in again.json()["errors"]}


def test_a_cancel_needs_a_reason(api, writer_a, booked):
    response = api("POST", f"{APPOINTMENTS}{booked.pk}/cancel/", token=writer_a, body={"reason": "  "})
    assert response.status_code == 400
    assert ("reason", "blank") in errors_of(response)


def test_the_list_filters_by_patient_state_machine_and_start(api, reader_a, booked, clinician_a, clinic_a):
    other = bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    second = booking.appointment_book(
        actor=clinician_a, program=other, machine=booked.machine, starts_at=first_slot(other).start
    )
    booking_visits_cancel(clinician_a, second)

    def ids(query):
        response = api("GET", f"{APPOINTMENTS}?{query}", token=reader_a)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {str(booked.pk), str(second.pk)}
    assert ids(f"patient={booked.patient_id}") == {str(booked.pk)}
    assert ids(f"program={other.pk}") == {str(second.pk)}
    assert ids("state=cancelled") == {str(second.pk)}
    assert ids(f"machine={booked.machine_id}&booked_via=staff") == {str(booked.pk), str(second.pk)}
    assert ids(f"starts_after={iso(booked.starts_at)}&starts_before={iso(booked.ends_at)}") == {str(booked.pk)}
    assert ids(f"clinic={clinic_a.pk}&booked_via=partner") == set()


def booking_visits_cancel(actor, appointment):
    from apps.scheduling.visits import appointment_cancel

    return appointment_cancel(actor=actor, appointment=appointment, reason="Moved.")


@pytest.mark.parametrize("query", ["starts_after=2026-12-17T09:00:00%2B15:00", "starts_before=tomorrow", "state=gone"])
def test_a_bad_list_filter_is_400(api, reader_a, query):
    assert api("GET", f"{APPOINTMENTS}?{query}", token=reader_a).status_code == 400


def _appointments(clinic, rows):
    program = factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic))
    machine = factories.MachineFactory(clinic=clinic)
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    Appointment.objects.bulk_create(
        Appointment(
            patient=program.patient,
            program=program,
            clinic=clinic,
            machine=machine,
            supervisor=program.prescribed_by,
            starts_at=start + timedelta(minutes=30 * n),
            ends_at=start + timedelta(minutes=30 * (n + 1)),
            booked_via="staff",
        )
        for n in range(rows)
    )
    return program


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_query_count_does_not_grow_with_the_page(api, reader_a, clinic_a, rows, django_assert_num_queries):
    _appointments(clinic_a, rows)
    api("GET", APPOINTMENTS, token=reader_a)  # first use stamps last_used_at
    # token + partner + granted clinics (one query), the page with patients and supervisors, audit INSERT.
    with django_assert_num_queries(3):
        response = api("GET", APPOINTMENTS, token=reader_a)
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_the_slot_query_count_does_not_grow_with_the_bookings(api, reader_a, clinic_a, rows, django_assert_num_queries):
    program = _appointments(clinic_a, rows)
    Program.objects.filter(pk=program.pk).update(status="active", earliest_next_at=timezone.now())
    api("GET", f"{SLOTS}?program={program.pk}", token=reader_a)
    # token; the program and its patient through the gate; audit INSERT; the clinic and its calendar;
    # machines; the program's next appointment; the live bookings.
    with django_assert_num_queries(9):
        response = api("GET", f"{SLOTS}?program={program.pk}", token=reader_a)
    assert response.status_code == 200
