"""Writes that name another clinic, or another clinic's patient, never succeed and change nothing.

Each case is sent by a principal of clinic A, at an endpoint of its own clinic, with a body that
points somewhere it may not reach: clinic B (same organization, not granted), clinic C (another
organization), their machines, their staff or their patients. The rows of every clinic are the
same afterwards.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.patients.models import Patient
from apps.programs import services
from apps.programs.models import Program, TrainingSession
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def machines(clinic_a, clinic_b, clinic_c):
    return {
        code: factories.MachineFactory(clinic=clinic)
        for code, clinic in zip("abc", (clinic_a, clinic_b, clinic_c), strict=True)
    }


@pytest.fixture
def started(clinician_a, patient_a, machines):
    start = timezone.now() - timedelta(days=3)
    test = factories.StrengthTestFactory(
        patient=patient_a, machine=machines["a"], performed_at=start - timedelta(days=3)
    )
    program = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=test, start_load=100
    )
    return services.program_start(actor=clinician_a, program=program, now=start)


def rows():
    """Everything a write could touch, as stored."""
    return (
        list(Patient.objects.order_by("pk").values()),
        list(Program.objects.order_by("pk").values()),
        StrengthTest.objects.count(),
        QuestionnaireResponse.objects.count(),
        TrainingSession.objects.count(),
    )


def iso(moment):
    return moment.isoformat()


def new_patient(clinic):
    return {
        "clinic": clinic.pk,
        "mrn": "X-1",
        "given_name": "Xa",
        "family_name": "Xb",
        "birth_date": "1970-01-01",
        "sex": "female",
    }


def a_set(machine):
    return {
        "machine": machine.pk,
        "performed_at": iso(timezone.now() - timedelta(hours=1)),
        "load": "100",
        "reps": 10,
        "time_under_load_s": 90,
        "reached_failure": True,
        "pain_before": 2,
        "pain_after": 2,
    }


def a_test(machine):
    points = [{"angle_deg": angle, "torque": "100"} for angle in machine.test_angles]
    return {
        "machine": machine.pk,
        "performed_at": iso(timezone.now()),
        "rom_min_deg": 0,
        "rom_max_deg": 72,
        "points": points,
    }


def nrs():
    return {"instrument": "pain_nrs", "completed_at": iso(timezone.now()), "answers": [3]}


@pytest.fixture
def cases(clinic_b, clinic_c, patient_a, patient_b, patient_c, machines, started, clinician_b):
    """(method, url, body, expected status): the partner API, as clinic A's read-write token."""
    program = f"/api/v1/programs/{started.pk}/sessions/"
    return [
        ("POST", "/api/v1/patients/", new_patient(clinic_b), 400),
        ("POST", "/api/v1/patients/", new_patient(clinic_c), 400),
        ("PATCH", f"/api/v1/patients/{patient_a.pk}/", {"clinic": clinic_b.pk}, 400),
        ("PATCH", f"/api/v1/patients/{patient_a.pk}/", {"clinic": clinic_c.pk}, 400),
        ("PATCH", f"/api/v1/patients/{patient_b.pk}/", {"phone": "1"}, 404),
        ("PATCH", f"/api/v1/patients/{patient_c.pk}/", {"phone": "1"}, 404),
        (
            "POST",
            f"/api/v1/patients/{patient_a.pk}/strength-tests/",
            {**a_test(machines["b"]), "recorded_by": "clinician_a"},
            400,
        ),
        (
            "POST",
            f"/api/v1/patients/{patient_a.pk}/strength-tests/",
            {**a_test(machines["c"]), "recorded_by": "clinician_a"},
            400,
        ),
        (
            "POST",
            f"/api/v1/patients/{patient_b.pk}/strength-tests/",
            {**a_test(machines["a"]), "recorded_by": "clinician_a"},
            404,
        ),
        ("POST", f"/api/v1/patients/{patient_c.pk}/questionnaires/", {**nrs(), "recorded_by": "clinician_a"}, 404),
        (
            "POST",
            f"/api/v1/patients/{patient_a.pk}/questionnaires/",
            {**nrs(), "recorded_by": clinician_b.username},
            400,
        ),
        (
            "POST",
            f"/api/v1/patients/{patient_a.pk}/questionnaires/",
            {**nrs(), "recorded_by": "clinician_a", "clinic": clinic_b.pk},
            400,  # `clinic` is not an input of this endpoint: refused as unknown (apps.api.bodies)
        ),
        ("POST", program, {**a_set(machines["b"]), "supervisor": "clinician_a"}, 400),
        ("POST", program, {**a_set(machines["c"]), "supervisor": "clinician_a"}, 400),
        ("POST", program, {**a_set(machines["a"]), "supervisor": clinician_b.username}, 400),
    ]


def test_partner_writes_that_name_another_clinic_fail_and_change_nothing(api, writer_a, cases, clinician_a):  # noqa: F811
    for method, url, body, expected in cases:
        before = rows()
        response = api(method, url, token=writer_a, body=body)
        assert response.status_code == expected, (method, url, body, response.content[:300])
        assert rows() == before, (method, url)


def test_staff_writes_that_name_another_clinic_fail_and_change_nothing(
    signed_in, clinician_a, clinic_b, clinic_c, patient_a, patient_b, machines, started
):
    client = signed_in(clinician_a)
    before = rows()
    pages = [
        ("/admin/patients/patient/add/", {**new_patient(clinic_b), "clinic": clinic_b.pk}),
        (f"/admin/patients/patient/{patient_a.pk}/change/", {**new_patient(clinic_c), "mrn": patient_a.mrn}),
        (f"/admin/patients/patient/{patient_b.pk}/change/", {**new_patient(clinic_b), "mrn": patient_b.mrn}),
        (f"/patients/{patient_a.pk}/edit/", {**new_patient(clinic_a_of(patient_a)), "home_clinic": clinic_c.pk}),
        (f"/patients/{patient_b.pk}/edit/", {**new_patient(clinic_b), "home_clinic": clinic_b.pk}),
        (f"/patients/{patient_a.pk}/programs/{started.pk}/sessions/new/", {**a_set(machines["b"]), "performed_at": ""}),
        (f"/patients/{patient_b.pk}/questionnaires/new/", {"instrument": "pain_nrs", "answer_0": 3}),
    ]
    for url, body in pages:
        response = client.post(url, body)
        # A form with errors (200), a refused or hidden row (403/404): never a redirect to success.
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        assert rows() == before, url


def clinic_a_of(patient):
    return patient.clinic


def test_a_body_naming_another_clinic_in_json_is_refused_by_the_staff_api_too(
    signed_in, clinician_a, clinic_b, patient_a
):
    client = signed_in(clinician_a)
    before = rows()
    response = client.post("/api/v1/patients/", data=json.dumps(new_patient(clinic_b)), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "clinic"
    assert rows() == before
