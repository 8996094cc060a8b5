"""Birth and death dates that cannot be true are refused, the same way, wherever a patient is written (issue 18).

One table of cases, posted through the partner API (create and update), the staff web forms (register and
edit) and the Django admin (add and change): each refusal names its field with the rule's message, and
nothing is written (no row, no change, no audit event).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, Event
from apps.patients.chronology import BIRTH_DATE_OUT_OF_RANGE, DEATH_BEFORE_BIRTH, DEATH_IN_FUTURE
from apps.patients.models import Patient

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")  # clinic A's zone
BORN = "1970-05-04"
NEW_MRN = "A-0100"


def after_tomorrow_at_clinic_a() -> str:
    """A date that has begun nowhere yet (the zone furthest ahead is at most a day ahead of Los Angeles)."""
    return (timezone.localdate(timezone=LA) + timedelta(days=2)).isoformat()


def today_at_clinic_a() -> str:
    return timezone.localdate(timezone=LA).isoformat()


def today_in_utc() -> str:
    """What a partner's server writes for today: at 17:00 in Los Angeles, already tomorrow at the clinic."""
    return timezone.now().astimezone(UTC).date().isoformat()


# (change to a patient born on BORN, the field refused, its message). Dates relative to today are
# functions, read when the test runs.
REFUSED = [
    pytest.param({"birth_date": "2099-01-01"}, "birth_date", BIRTH_DATE_OUT_OF_RANGE, id="born-in-2099"),
    pytest.param(
        {"birth_date": after_tomorrow_at_clinic_a}, "birth_date", BIRTH_DATE_OUT_OF_RANGE, id="born-after-tomorrow"
    ),
    pytest.param({"birth_date": "1800-01-01"}, "birth_date", BIRTH_DATE_OUT_OF_RANGE, id="born-in-1800"),
    pytest.param({"birth_date": "1899-12-31"}, "birth_date", BIRTH_DATE_OUT_OF_RANGE, id="born-the-eve-of-1900"),
    pytest.param({"deceased_on": "1970-05-03"}, "deceased_on", DEATH_BEFORE_BIRTH, id="died-the-eve-of-birth"),
    pytest.param({"deceased_on": "1950-01-01"}, "deceased_on", DEATH_BEFORE_BIRTH, id="died-20-years-before-birth"),
    pytest.param({"deceased_on": after_tomorrow_at_clinic_a}, "deceased_on", DEATH_IN_FUTURE, id="died-after-tomorrow"),
    pytest.param({"deceased_on": "2099-01-01"}, "deceased_on", DEATH_IN_FUTURE, id="died-in-2099"),
]
BIRTH_ONLY = [case for case in REFUSED if "birth_date" in case.values[0]]  # registration has no date of death

ACCEPTED = [
    pytest.param({"birth_date": "1900-01-01"}, id="born-on-the-first-day-of-1900"),
    pytest.param({"birth_date": today_at_clinic_a}, id="born-today"),
    pytest.param({"birth_date": today_in_utc}, id="born-today-in-utc"),
    pytest.param({"deceased_on": BORN}, id="died-the-day-of-birth"),
    pytest.param({"deceased_on": today_at_clinic_a}, id="died-today"),
    pytest.param({"deceased_on": today_in_utc}, id="died-today-in-utc"),
]


def resolved(change: dict) -> dict:
    return {name: value() if callable(value) else value for name, value in change.items()}


def writes() -> int:
    return Event.objects.exclude(action=Action.READ).count()


@pytest.fixture
def patient(patient_a):
    """patient_a born on BORN, alive."""
    Patient.objects.filter(pk=patient_a.pk).update(birth_date=date.fromisoformat(BORN), deceased_on=None)
    patient_a.refresh_from_db()
    return patient_a


def stored(patient: Patient) -> tuple:
    return Patient.objects.filter(pk=patient.pk).values_list("birth_date", "deceased_on", "updated_at").get()


# --- API ---------------------------------------------------------------------------------------------

PATIENTS = "/api/v1/patients/"


def api_body(clinic, change: dict) -> dict:
    body = {"clinic": clinic.pk, "mrn": NEW_MRN, "given_name": "Dana", "family_name": "Diaz", "sex": "female"}
    return body | {"email": "dana@example.test", "birth_date": BORN} | resolved(change)


def field_errors(response) -> dict[str, str]:
    return {error["attr"]: error["detail"] for error in response.json()["errors"]}


@pytest.mark.parametrize(("change", "field", "message"), REFUSED)
def test_the_api_refuses_to_create_a_patient_with_an_impossible_date(api, writer_a, clinic_a, change, field, message):
    before = writes()

    response = api("POST", PATIENTS, token=writer_a, body=api_body(clinic_a, change))

    assert response.status_code == 400, response.json()
    assert field_errors(response) == {field: message}
    assert not Patient.objects.filter(mrn=NEW_MRN).exists()
    assert writes() == before


@pytest.mark.parametrize(("change", "field", "message"), REFUSED)
def test_the_api_refuses_to_change_a_patient_to_an_impossible_date(api, writer_a, patient, change, field, message):
    before, rows = stored(patient), writes()

    response = api("PATCH", f"{PATIENTS}{patient.pk}/", token=writer_a, body=resolved(change))

    assert response.status_code == 400, response.json()
    assert field_errors(response) == {field: message}
    assert (stored(patient), writes()) == (before, rows)


@pytest.mark.parametrize("change", ACCEPTED)
def test_the_api_accepts_the_dates_at_the_edges(api, writer_a, clinic_a, change):
    response = api("POST", PATIENTS, token=writer_a, body=api_body(clinic_a, change))

    assert response.status_code == 201, response.json()
    assert {name: response.json()[name] for name in change} == resolved(change)


# --- Staff web forms -----------------------------------------------------------------------------------


def web_form(change: dict, **extra: str) -> dict:
    form = {"mrn": NEW_MRN, "given_name": "Rosa", "family_name": "Delgado", "birth_date": BORN, "sex": "female"}
    form |= {"preferred_language": "en", "deceased_on": ""}
    return form | extra | resolved(change)


@pytest.mark.parametrize(("change", "field", "message"), BIRTH_ONLY)
def test_registration_refuses_an_impossible_birth_date(signed_in, clinician_a, change, field, message):
    before = writes()

    response = signed_in(clinician_a).post("/patients/new/", web_form(change))

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not Patient.objects.filter(mrn=NEW_MRN).exists()
    assert writes() == before


@pytest.mark.parametrize(("change", "field", "message"), REFUSED)
def test_the_edit_form_refuses_an_impossible_date(signed_in, clinician_a, patient, change, field, message):
    before, rows = stored(patient), writes()
    form = web_form(change, mrn=patient.mrn, home_clinic=str(patient.clinic_id))

    response = signed_in(clinician_a).post(f"/patients/{patient.pk}/edit/", form)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert (stored(patient), writes()) == (before, rows)


@pytest.mark.parametrize("change", ACCEPTED)
def test_the_edit_form_accepts_the_dates_at_the_edges(signed_in, clinician_a, patient, change):
    form = web_form(change, mrn=patient.mrn, home_clinic=str(patient.clinic_id))

    response = signed_in(clinician_a).post(f"/patients/{patient.pk}/edit/", form)

    assert response.status_code == 302
    patient.refresh_from_db()
    assert {name: getattr(patient, name).isoformat() for name in change} == resolved(change)


# --- Admin ----------------------------------------------------------------------------------------------


def admin_form(clinic, change: dict, **extra: str) -> dict:
    form = web_form(change, **extra) | {"clinic": str(clinic.pk), "height_cm": "", "body_mass_kg": "", "email": ""}
    return form | {"phone": ""}


@pytest.mark.parametrize(("change", "field", "message"), REFUSED)
def test_the_admin_add_form_refuses_an_impossible_date(signed_in, clinician_a, clinic_a, change, field, message):
    before = writes()

    response = signed_in(clinician_a).post(reverse("admin:patients_patient_add"), admin_form(clinic_a, change))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not Patient.objects.filter(mrn=NEW_MRN).exists()
    assert writes() == before


@pytest.mark.parametrize(("change", "field", "message"), REFUSED)
def test_the_admin_change_form_refuses_an_impossible_date(signed_in, clinician_a, patient, change, field, message):
    before, rows = stored(patient), writes()
    form = admin_form(patient.clinic, change, mrn=patient.mrn)

    response = signed_in(clinician_a).post(reverse("admin:patients_patient_change", args=[patient.pk]), form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert (stored(patient), writes()) == (before, rows)


@pytest.mark.parametrize("change", ACCEPTED)
def test_the_admin_accepts_the_dates_at_the_edges(signed_in, clinician_a, clinic_a, change):
    response = signed_in(clinician_a).post(reverse("admin:patients_patient_add"), admin_form(clinic_a, change))

    assert response.status_code == 302
    saved = Patient.objects.get(mrn=NEW_MRN)
    assert {name: getattr(saved, name).isoformat() for name in change} == resolved(change)
