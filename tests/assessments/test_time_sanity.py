"""A strength test or questionnaire dated before the patient's birth, or ahead of the clock, is refused (issue 18).

One table of times, posted through the partner API, the staff web forms and the Django admin, for both
kinds of record: each refusal is on the time's field with the rule's message (apps.patients.chronology),
and nothing is written (no row, no audit event). The edges pass: the birth date itself (on the clinic's
wall clock) and a clock up to five minutes ahead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.audit.models import Action, Event
from apps.patients.chronology import BEFORE_BIRTH, IN_THE_FUTURE
from apps.patients.models import Patient
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")  # clinic A's zone, where the machine stands and the patient is registered
BORN = date(1970, 5, 4)
FIELD = {"test": "performed_at", "questionnaire": "completed_at"}
KINDS = list(FIELD)


def ahead(minutes: int):
    return lambda: timezone.now() + timedelta(minutes=minutes)


def at_clinic(*wall: int):
    return lambda: datetime(*wall, tzinfo=LA)


# (when, as a function read when the test runs; the message on the time's field)
REFUSED = [
    pytest.param(at_clinic(1970, 5, 3, 12), BEFORE_BIRTH, id="the-day-before-birth"),
    # 23:30 in Los Angeles on the eve of the birth date is already the birth date in UTC: still before it.
    pytest.param(at_clinic(1970, 5, 3, 23, 30), BEFORE_BIRTH, id="the-eve-of-birth-late-on-the-clinics-clock"),
    pytest.param(at_clinic(1925, 1, 1, 9), BEFORE_BIRTH, id="decades-before-birth"),
    pytest.param(ahead(10), IN_THE_FUTURE, id="ten-minutes-ahead"),
    pytest.param(ahead(60 * 24 * 365), IN_THE_FUTURE, id="next-year"),
]
ACCEPTED = [
    pytest.param(at_clinic(1970, 5, 4, 0, 0), id="the-birth-date-at-midnight-on-the-clinics-clock"),
    pytest.param(ahead(4), id="a-clock-four-minutes-ahead"),
]


@pytest.fixture
def patient(patient_a):
    Patient.objects.filter(pk=patient_a.pk).update(birth_date=BORN)
    patient_a.refresh_from_db()
    return patient_a


@pytest.fixture
def machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a)


def written() -> tuple[int, int, int]:
    events = Event.objects.exclude(action=Action.READ).count()
    return StrengthTest.objects.count(), QuestionnaireResponse.objects.count(), events


# --- API ---------------------------------------------------------------------------------------------


def api_post(call, token, kind: str, patient, machine, at: datetime):
    moment = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if kind == "test":
        points = [{"angle_deg": angle, "torque": "100"} for angle in machine.test_angles]
        body = {"machine": machine.pk, "performed_at": moment, "rom_min_deg": 0, "rom_max_deg": 72, "points": points}
        url = f"/api/v1/patients/{patient.pk}/strength-tests/"
    else:
        body = {"instrument": "pain_nrs", "completed_at": moment, "answers": [3]}
        url = f"/api/v1/patients/{patient.pk}/questionnaires/"
    return call("POST", url, token=token, body=body | {"recorded_by": "clinician_a"})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("when", "message"), REFUSED)
def test_the_api_refuses_an_impossible_time(api, writer_a, clinician_a, patient, machine, kind, when, message):  # noqa: F811
    before = written()

    response = api_post(api, writer_a, kind, patient, machine, when())

    assert response.status_code == 400, response.json()
    errors = {error["attr"]: error["detail"] for error in response.json()["errors"]}
    assert errors == {FIELD[kind]: message}
    assert written() == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("when", ACCEPTED)
def test_the_api_accepts_the_edges(api, writer_a, clinician_a, patient, machine, kind, when):  # noqa: F811
    response = api_post(api, writer_a, kind, patient, machine, when())

    assert response.status_code == 201, response.json()


# --- Staff web forms -----------------------------------------------------------------------------------


def web_post(client, kind: str, patient, machine, at: datetime):
    typed = at.astimezone(LA).strftime("%Y-%m-%dT%H:%M")  # the form's datetime-local, on the clinic's clock
    if kind == "test":
        data = {"machine": machine.pk, "performed_at": typed, "rom_min_deg": "0", "rom_max_deg": "72"}
        return client.post(f"/patients/{patient.pk}/tests/new/", data | {"torque_72": "150", "torque_60": "160"})
    url = f"/patients/{patient.pk}/questionnaires/new/?instrument=pain_nrs"
    return client.post(url, {"completed_at": typed, "rating": "6"})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("when", "message"), REFUSED)
def test_the_web_form_refuses_an_impossible_time(signed_in, clinician_a, patient, machine, kind, when, message):
    before = written()

    response = web_post(signed_in(clinician_a), kind, patient, machine, when())

    assert response.status_code == 200
    assert response.context["form"].errors == {FIELD[kind]: [message]}
    assert written() == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("when", ACCEPTED)
def test_the_web_form_accepts_the_edges(signed_in, clinician_a, patient, machine, kind, when):
    response = web_post(signed_in(clinician_a), kind, patient, machine, when())

    assert response.status_code == 302


# --- Admin ----------------------------------------------------------------------------------------------


def admin_post(client, kind: str, patient, machine, at: datetime):
    local = at.astimezone(LA)
    field = FIELD[kind]
    typed = {f"{field}_0": local.date().isoformat(), f"{field}_1": local.strftime("%H:%M:%S")}
    if kind == "test":
        form = {"patient": patient.pk, "machine": machine.pk, "rom_min_deg": "0", "rom_max_deg": "72"}
        form |= {"pain_before": "", "pain_after": "", "points": "72=150, 60=180"}
        return client.post(reverse("admin:assessments_strengthtest_add"), form | typed)
    form = {"patient": patient.pk, "instrument": "pain_nrs", "rating": "6"}
    form |= {f"section_{number}": "" for number in range(1, 11)}
    return client.post(reverse("admin:assessments_questionnaireresponse_add"), form | typed)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("when", "message"), REFUSED)
def test_the_admin_refuses_an_impossible_time(signed_in, clinician_a, patient, machine, kind, when, message):
    before = written()

    response = admin_post(signed_in(clinician_a), kind, patient, machine, when())

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {FIELD[kind]: [message]}
    assert written() == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("when", ACCEPTED)
def test_the_admin_accepts_the_edges(signed_in, clinician_a, patient, machine, kind, when):
    response = admin_post(signed_in(clinician_a), kind, patient, machine, when())

    assert response.status_code == 302
