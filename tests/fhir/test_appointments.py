# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""FHIR R4 Appointment, Slot and Schedule: read and search through the gate, valid R4, audited."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import Event
from apps.scheduling import booking, selectors
from apps.scheduling.visits import appointment_cancel
from tests import factories
from tests.api.test_appointments import bookable_program
from tests.fhir.test_views import BASE, ids, outcome, validated
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db


def fhir_instant(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")


def book(actor, patient, machine):
    program = bookable_program(actor, patient)
    slot = selectors.offer_slots(program, now=timezone.now(), count=1)[0]
    return booking.appointment_book(actor=actor, program=program, machine=machine, starts_at=slot.start)


@pytest.fixture
def booked(clinician_a, patient_a, machine):
    return book(clinician_a, patient_a, machine)


@pytest.fixture
def cancelled(clinician_a, clinic_a, machine):
    appointment = book(clinician_a, factories.PatientFactory(clinic=clinic_a), machine)
    return appointment_cancel(actor=clinician_a, appointment=appointment, reason="Patient is ill.")


def reads_of(appointment):
    return Event.objects.filter(action="read", object_type="scheduling.appointment", object_id=str(appointment.pk))


# --- Read -----------------------------------------------------------------------------------------


def test_an_appointment_reads_as_valid_r4_and_is_audited(api, writer_a, booked, machine):
    body = validated(api("GET", f"{BASE}/Appointment/{booked.pk}", token=writer_a))
    assert (body["resourceType"], body["id"], body["status"]) == ("Appointment", str(booked.pk), "booked")
    assert (body["start"], body["end"], body["minutesDuration"]) == (
        fhir_instant(booked.starts_at),
        fhir_instant(booked.ends_at),
        30,
    )
    actors = [participant["actor"]["reference"] for participant in body["participant"]]
    assert actors == [f"Patient/{booked.patient_id}", f"Location/{booked.clinic_id}"]
    assert body["slot"] == [{"reference": f"Slot/{booked.pk}"}]
    assert body["supportingInformation"] == [{"reference": f"CarePlan/{booked.program_id}"}]
    assert body["extension"][0]["valueReference"] == {"reference": f"Schedule/{machine.pk}"}
    assert reads_of(booked).count() == 1


def test_a_cancelled_appointment_has_its_reason_and_holds_no_slot(api, writer_a, cancelled):
    body = validated(api("GET", f"{BASE}/Appointment/{cancelled.pk}", token=writer_a))
    assert (body["status"], body["cancelationReason"]) == ("cancelled", {"text": "Patient is ill."})
    assert "slot" not in body
    outcome(api("GET", f"{BASE}/Slot/{cancelled.pk}", token=writer_a), 404, "not-found")


def test_a_slot_is_the_busy_time_of_a_live_appointment_and_is_audited(api, writer_a, booked, machine):
    body = validated(api("GET", f"{BASE}/Slot/{booked.pk}", token=writer_a))
    assert body == {
        "resourceType": "Slot",
        "id": str(booked.pk),
        "meta": body["meta"],
        "schedule": {"reference": f"Schedule/{machine.pk}"},
        "status": "busy",
        "start": fhir_instant(booked.starts_at),
        "end": fhir_instant(booked.ends_at),
    }
    assert reads_of(booked).count() == 1


def test_a_schedule_is_a_machine_of_the_principals_clinics(api, writer_a, machine, clinic_a, clinic_c):
    body = validated(api("GET", f"{BASE}/Schedule/{machine.pk}", token=writer_a))
    assert (body["id"], body["active"], body["comment"]) == (str(machine.pk), True, "Lumbar 1")
    assert body["actor"] == [{"reference": f"Location/{clinic_a.pk}"}]
    other = factories.MachineFactory(clinic=clinic_c)
    outcome(api("GET", f"{BASE}/Schedule/{other.pk}", token=writer_a), 404, "not-found")
    outcome(api("GET", f"{BASE}/Schedule/nope", token=writer_a), 404, "not-found")


@pytest.mark.parametrize("kind", ["Appointment", "Slot"])
def test_another_clinics_appointment_or_slot_is_404(api, writer_c, booked, kind):
    outcome(api("GET", f"{BASE}/{kind}/{booked.pk}", token=writer_c), 404, "not-found")
    outcome(api("GET", f"{BASE}/{kind}/not-a-uuid", token=writer_c), 404, "not-found")
    assert not reads_of(booked).exists()


# --- Search ---------------------------------------------------------------------------------------


def test_appointments_are_searched_by_patient_status_and_date_and_each_shown_is_audited(
    api, writer_a, booked, cancelled
):
    def found(query):
        return set(ids(validated(api("GET", f"{BASE}/Appointment?{query}", token=writer_a))))

    both = {str(booked.pk), str(cancelled.pk)}
    assert found("") == both
    assert reads_of(booked).count() == 1
    assert found(f"patient=Patient/{booked.patient_id}") == {str(booked.pk)}
    assert found("status=booked") == {str(booked.pk)}
    assert found("status=cancelled,noshow") == {str(cancelled.pk)}
    assert found("status=waitlist") == set()
    day = booked.starts_at.astimezone(UTC).date()
    assert str(booked.pk) in found(f"date={day.isoformat()}")
    # The two hold different slots of one machine: only the booked one starts in its own half hour.
    window = f"date=ge{fhir_instant(booked.starts_at)}&date=lt{fhir_instant(booked.ends_at)}"
    assert found(window) == {str(booked.pk)}
    assert found(f"date=gt{(day + timedelta(days=60)).isoformat()}") == set()
    # Before the earlier of the two days (near midnight UTC the cancelled one may start the day before).
    first_day = min(booked.starts_at, cancelled.starts_at).astimezone(UTC).date()
    assert found(f"date=le{(first_day - timedelta(days=1)).isoformat()}") == set()


def test_an_appointment_search_by_another_clinics_patient_is_404(api, writer_c, booked):
    outcome(api("GET", f"{BASE}/Appointment?patient={booked.patient_id}", token=writer_c), 404, "not-found")
    assert validated(api("GET", f"{BASE}/Appointment", token=writer_c))["total"] == 0


@pytest.mark.parametrize(
    "query", ["date=tomorrow", "date=2026-12-17T09:00:00", "date=xx2026-12-17", "status=booked&status=noshow"]
)
def test_a_bad_appointment_search_is_400(api, writer_a, query):
    outcome(api("GET", f"{BASE}/Appointment?{query}", token=writer_a), 400, "invalid")


def test_slots_are_searched_by_schedule_start_and_status(api, writer_a, booked, cancelled, machine, clinic_a):
    def found(query):
        return set(ids(validated(api("GET", f"{BASE}/Slot?{query}", token=writer_a))))

    assert found("") == {str(booked.pk)}  # only live appointments hold a slot
    assert found(f"schedule=Schedule/{machine.pk}&status=busy") == {str(booked.pk)}
    other = factories.MachineFactory(clinic=clinic_a)
    assert found(f"schedule={other.pk}") == set()
    assert found("schedule=nonsense") == set()
    assert found("status=free") == set()
    assert found(f"start=ge{fhir_instant(booked.starts_at)}&start=lt{fhir_instant(booked.ends_at)}") == {str(booked.pk)}
    assert reads_of(booked).exists()


def test_schedules_are_the_principals_machines_by_clinic(api, writer_a, machine, clinic_a, clinic_c):
    factories.MachineFactory(clinic=clinic_c)
    body = validated(api("GET", f"{BASE}/Schedule", token=writer_a))
    assert (body["total"], ids(body)) == (1, [str(machine.pk)])
    assert ids(validated(api("GET", f"{BASE}/Schedule?actor=Location/{clinic_a.pk}", token=writer_a))) == [
        str(machine.pk)
    ]
    assert ids(validated(api("GET", f"{BASE}/Schedule?actor=Location/{clinic_c.pk}", token=writer_a))) == []


def test_the_capability_statement_lists_appointment_slot_and_schedule(api):
    body = validated(api("GET", f"{BASE}/metadata"))
    resources = {resource["type"]: resource for resource in body["rest"][0]["resource"]}
    params = {name: {p["name"] for p in resources[name]["searchParam"]} for name in ("Appointment", "Slot", "Schedule")}
    assert params == {
        "Appointment": {"patient", "date", "status", "_lastUpdated"},
        "Slot": {"schedule", "start", "status", "_lastUpdated"},
        "Schedule": {"actor"},
    }
    for name in params:
        assert [i["code"] for i in resources[name]["interaction"]] == ["read", "search-type"]


def test_the_appointment_search_query_count_does_not_grow_with_count(api, writer_a, clinician_a, clinic_a):
    machines = [factories.MachineFactory(clinic=clinic_a) for _ in range(3)]
    for machine in machines:
        book(clinician_a, factories.PatientFactory(clinic=clinic_a), machine)
    api("GET", f"{BASE}/Appointment", token=writer_a)  # first use stamps last_used_at
    counts = []
    for count in (1, 3):
        with CaptureQueriesContext(connection) as queries:
            body = validated(api("GET", f"{BASE}/Appointment?_count={count}", token=writer_a))
        assert len(body["entry"]) == count
        counts.append(len(queries))
    assert counts[0] == counts[1]
