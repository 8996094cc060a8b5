"""A key no write takes is a 400 `unknown_field` that names it, and nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.patients.models import Patient
from apps.programs import services
from apps.programs.models import TrainingSession
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def record(clinic_a, clinician_a, patient_a):
    """The patient, a machine and a started program of clinic A, and a valid body for each write."""
    machine = factories.MachineFactory(clinic=clinic_a)
    start = timezone.now() - timedelta(days=3)
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine, performed_at=start - timedelta(days=3))
    program = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=test, start_load=100
    )
    program = services.program_start(actor=clinician_a, program=program, now=start)
    an_hour_ago = iso(timezone.now() - timedelta(hours=1))
    return {
        "patient": {
            "clinic": clinic_a.pk, "mrn": "UF-1", "given_name": "Ada", "family_name": "Lind",
            "birth_date": "1971-04-02", "sex": "female",
        },
        "questionnaire": {
            "instrument": "pain_nrs", "completed_at": an_hour_ago, "answers": [4], "recorded_by": "clinician_a",
        },
        "test": {
            "machine": machine.pk, "performed_at": an_hour_ago, "rom_min_deg": 0, "rom_max_deg": 72,
            "points": [{"angle_deg": 72, "torque": "100"}, {"angle_deg": 36, "torque": "140"}],
            "recorded_by": "clinician_a",
        },
        "session": {
            "machine": machine.pk, "performed_at": an_hour_ago, "load": "100", "reps": 10, "time_under_load_s": 90,
            "reached_failure": True, "pain_before": 2, "pain_after": 2, "supervisor": "clinician_a",
        },
        "urls": {
            "patient": "/api/v1/patients/",
            "questionnaire": f"/api/v1/patients/{patient_a.pk}/questionnaires/",
            "test": f"/api/v1/patients/{patient_a.pk}/strength-tests/",
            "session": f"/api/v1/programs/{program.pk}/sessions/",
        },
    }  # fmt: skip


COUNTS = {
    "patient": lambda: Patient._base_manager.count(),
    "questionnaire": lambda: QuestionnaireResponse._base_manager.count(),
    "test": lambda: StrengthTest._base_manager.count(),
    "session": lambda: TrainingSession._base_manager.count(),
}


def _unknown(response):
    assert response.status_code == 400, response.json()
    (error,) = response.json()["errors"]
    assert (error["code"], error["attr"]) == ("unknown_field", "non_field_errors")
    return error["detail"]


@pytest.mark.parametrize("write", ["patient", "questionnaire", "test", "session"])
def test_a_typo_in_a_body_is_refused_by_name_and_writes_nothing(api, writer_a, record, write):  # noqa: F811
    body, url = record[write], record["urls"][write]
    before = COUNTS[write]()

    detail = _unknown(api("POST", url, token=writer_a, body={**body, "pain_befor": 3}))

    assert detail.startswith("Unknown field 'pain_befor': this body takes ")
    assert COUNTS[write]() == before
    # The same body without the typo is written: the key alone was the fault.
    assert api("POST", url, token=writer_a, body=body).status_code == 201
    assert COUNTS[write]() == before + 1


def test_a_typo_in_a_nested_point_is_refused_too(api, writer_a, record):  # noqa: F811
    body = record["test"]
    body = {**body, "points": [body["points"][0], {"angle_deg": 36, "torqe": "140"}]}

    response = api("POST", record["urls"]["test"], token=writer_a, body=body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unknown_field"
    assert "'torqe'" in response.json()["errors"][0]["detail"]
    assert not StrengthTest._base_manager.filter(performed_at__gt=timezone.now() - timedelta(hours=2)).exists()


def test_a_patch_naming_a_read_only_or_unknown_field_changes_nothing(api, writer_a, patient_a):  # noqa: F811
    url = f"/api/v1/patients/{patient_a.pk}/"
    before = api("GET", url, token=writer_a).json()

    detail = _unknown(api("PATCH", url, token=writer_a, body={"given_name": "Eve", "id": "x", "birth_dat": "1970"}))

    assert detail.startswith("Unknown fields 'birth_dat', 'id': ")
    patient_a.refresh_from_db()
    assert patient_a.given_name == before["given_name"]
