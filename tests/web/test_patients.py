"""The patient list and search, and registering and editing a patient."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import Event
from apps.patients.models import Patient
from tests import factories
from tests.web.conftest import record_session

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "A-0100",
    "given_name": "Rosa",
    "family_name": "Delgado",
    "birth_date": "1962-05-17",
    "sex": "female",
    "height_cm": "165",
    "body_mass_kg": "61.5",
    "email": "rosa@example.test",
    "phone": "",
    "preferred_language": "es",
    "email_reminder_consent": "on",
}


def listed(response) -> list[str]:
    return [patient.mrn for patient in response.context["page"].object_list]


# --- List and search -----------------------------------------------------------------------------


def test_the_list_shows_the_working_clinics_patients_with_status_last_session_and_next_due(
    signed_in, clinician_a, training, machine_a, patient_b
):
    at = timezone.now() - timedelta(hours=1)
    record_session(training, machine_a, clinician_a, at=at)
    response = signed_in(clinician_a).get("/patients/")
    assert response.status_code == 200
    assert listed(response) == ["A-0001"]
    row = response.context["page"].object_list[0]
    assert row.program_status == "active"
    assert row.last_session_at == at
    training.refresh_from_db()
    assert row.next_due_at == training.next_due_at
    assert b"Alvarez, Ana" in response.content


@pytest.mark.parametrize("term", ["alvarez", "ANA", "a-0001", "1970-01-02"])
def test_search_by_name_mrn_or_birth_date(signed_in, clinician_a, patient_a, clinic_a, term):
    patient_a.birth_date = date(1970, 1, 2)
    patient_a.save()
    factories.PatientFactory(clinic=clinic_a, family_name="Zeller", given_name="Zoe", birth_date=date(1980, 1, 1))
    assert listed(signed_in(clinician_a).get("/patients/", {"q": term})) == ["A-0001"]


def test_search_never_finds_another_clinics_patient(signed_in, clinician_a, patient_a, patient_b, patient_c):
    client = signed_in(clinician_a)
    for term in ("Brennan", "B-0001", "Castillo", "C-0001"):
        assert listed(client.get("/patients/", {"q": term, "all": "1"})) == []


def test_all_my_clinics_widens_to_every_clinic_of_the_user(signed_in, clinician_a, patient_a, patient_b, clinic_b):
    factories.MembershipFactory(user=clinician_a, clinic=clinic_b)
    client = signed_in(clinician_a)
    client.post("/clinics/", {"clinic": clinic_b.pk})
    assert listed(client.get("/patients/")) == ["B-0001"]
    assert listed(client.get("/patients/", {"all": "1"})) == ["A-0001", "B-0001"]


def test_htmx_search_answers_with_the_results_only(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).get("/patients/", {"q": "Alv"}, headers={"HX-Request": "true"})
    assert b"Alvarez" in response.content
    assert b"<html" not in response.content


def test_each_patient_listed_is_recorded_as_read(signed_in, clinician_a, patient_a, clinic_a):
    other = factories.PatientFactory(clinic=clinic_a, family_name="Zeller")
    signed_in(clinician_a).get("/patients/")
    reads = Event.objects.filter(action="read", actor=clinician_a, object_type="patients.patient")
    assert sorted(reads.values_list("object_id", flat=True)) == sorted([str(patient_a.pk), str(other.pk)])


def test_the_list_reads_with_the_same_number_of_queries_at_10_and_25_rows(signed_in, clinician_a, clinic_a):
    client = signed_in(clinician_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            client.get("/patients/")
        return len(queries)

    factories.PatientFactory.create_batch(10, clinic=clinic_a)
    ten = count()
    factories.PatientFactory.create_batch(30, clinic=clinic_a)
    assert count() == ten


# --- Register ------------------------------------------------------------------------------------


def test_register_a_patient_at_the_working_clinic(signed_in, clinician_a, clinic_a):
    response = signed_in(clinician_a).post("/patients/new/", NEW_PATIENT)
    patient = Patient.objects.get(mrn="A-0100")
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert (patient.clinic, patient.preferred_language, patient.email_reminder_consent) == (clinic_a, "es", True)
    assert Event.objects.filter(action="create", object_id=str(patient.pk), actor=clinician_a).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"mrn": ""}, "mrn", "This field is required."),
        ({"birth_date": "17/05/1962"}, "birth_date", "Enter a valid date."),
        ({"birth_date": "2999-01-01"}, "birth_date", "between 1900 and today"),
        ({"height_cm": "90"}, "height_cm", "greater than or equal to 100"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_is_written(signed_in, clinician_a, change, field, message):
    before = Patient.objects.count()
    response = signed_in(clinician_a).post("/patients/new/", NEW_PATIENT | change)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert b"Nothing was saved" in response.content
    assert Patient.objects.count() == before


def test_an_mrn_used_elsewhere_in_the_organization_is_refused(signed_in, clinician_a, patient_b):
    response = signed_in(clinician_a).post("/patients/new/", NEW_PATIENT | {"mrn": "b-0001"})
    assert response.context["form"].errors["mrn"] == ["This MRN is already used in the organization."]
    assert not Patient.objects.filter(given_name="Rosa").exists()


# --- Edit ----------------------------------------------------------------------------------------


def test_edit_a_patient(signed_in, clinician_a, patient_a):
    data = NEW_PATIENT | {"mrn": "A-0001", "home_clinic": patient_a.clinic_id, "phone": "+1 858 555 0100"}
    response = signed_in(clinician_a).post(f"/patients/{patient_a.pk}/edit/", data)
    assert response.status_code == 302
    patient_a.refresh_from_db()
    assert (patient_a.given_name, patient_a.phone) == ("Rosa", "+1 858 555 0100")


def test_edit_shows_errors_and_writes_nothing(signed_in, clinician_a, patient_a):
    data = NEW_PATIENT | {"mrn": "A-0001", "home_clinic": patient_a.clinic_id, "body_mass_kg": "900"}
    response = signed_in(clinician_a).post(f"/patients/{patient_a.pk}/edit/", data)
    assert "body_mass_kg" in response.context["form"].errors
    patient_a.refresh_from_db()
    assert patient_a.given_name == "Ana"


def test_a_home_clinic_outside_the_users_clinics_is_not_offered(signed_in, clinician_a, patient_a, clinic_b):
    data = NEW_PATIENT | {"mrn": "A-0001", "home_clinic": clinic_b.pk}
    response = signed_in(clinician_a).post(f"/patients/{patient_a.pk}/edit/", data)
    assert "home_clinic" in response.context["form"].errors
    patient_a.refresh_from_db()
    assert patient_a.clinic_id != clinic_b.pk


@pytest.mark.parametrize("user", ["clinician_b", "outsider"])
def test_another_clinics_patient_cannot_be_edited(signed_in, request, patient_a, user):
    client = signed_in(request.getfixturevalue(user))
    assert client.get(f"/patients/{patient_a.pk}/edit/").status_code == 404
    data = NEW_PATIENT | {"mrn": "A-0001", "home_clinic": patient_a.clinic_id}
    assert client.post(f"/patients/{patient_a.pk}/edit/", data).status_code == 404
    patient_a.refresh_from_db()
    assert patient_a.given_name == "Ana"
