# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""FHIR R4 DiagnosticReport: a signed progress report, its stored PDF as presentedForm, the token's clinics only."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest

from apps.audit.models import Event
from apps.fhir import codes
from apps.outcomes import progress
from tests.fhir.test_views import BASE, ids, outcome, validated
from tests.outcomes.progress_history import ISSUED, History
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(clinician_a, clinic_a, physician_a):
    history = History(clinician_a, clinic_a).write()
    first = progress.progress_report_issue(actor=physician_a, program=history.program, note="Stronger.", now=ISSUED)
    later = ISSUED + timedelta(days=1)
    second = progress.progress_report_issue(actor=physician_a, program=history.program, note="Still so.", now=later)
    return first, second


def test_a_signed_report_reads_as_a_valid_final_diagnostic_report_with_its_pdf(api, writer_a, reports):
    first, second = reports

    body = validated(api("GET", f"{BASE}/DiagnosticReport/{second.pk}", token=writer_a))

    assert (body["status"], body["subject"], body["basedOn"]) == (
        "final",
        {"reference": f"Patient/{second.patient_id}"},
        [{"reference": f"CarePlan/{second.program_id}"}],
    )
    assert body["code"]["coding"][0] == {"system": codes.LOINC, "code": "11506-3", "display": "Progress note"}
    assert body["conclusion"] == "Still so."
    assert body["extension"] == [
        {"url": codes.SUPERSEDES_EXTENSION, "valueReference": {"reference": f"DiagnosticReport/{first.pk}"}}
    ]
    (form,) = body["presentedForm"]
    document = base64.b64decode(form["data"])
    assert document == bytes(second.pdf)  # the PDF stored at signing, not one made again
    assert document.startswith(b"%PDF")
    assert form["size"] == len(document)
    assert form["hash"] == base64.b64encode(hashlib.sha1(document, usedforsecurity=False).digest()).decode()
    assert form["contentType"] == "application/pdf"
    assert Event.objects.filter(action="read", object_type="outcomes.progressreport", object_id=str(second.pk)).exists()


def test_search_by_patient_newest_first_and_another_clinic_sees_nothing(api, writer_a, writer_c, reports):
    first, second = reports
    patient = first.patient_id

    bundle = validated(api("GET", f"{BASE}/DiagnosticReport?patient={patient}", token=writer_a))
    assert ids(bundle) == [str(second.pk), str(first.pk)]
    assert "extension" not in bundle["entry"][1]["resource"]
    after = (second.signed_at - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    later = validated(api("GET", f"{BASE}/DiagnosticReport", token=writer_a))
    assert set(ids(later)) == {str(first.pk), str(second.pk)}
    recent = api("GET", f"{BASE}/DiagnosticReport?_lastUpdated=ge{after}", token=writer_a)
    assert ids(validated(recent)) == [str(second.pk)]

    outcome(api("GET", f"{BASE}/DiagnosticReport/{first.pk}", token=writer_c), 404, "not-found")
    assert ids(validated(api("GET", f"{BASE}/DiagnosticReport", token=writer_c))) == []
    outcome(api("GET", f"{BASE}/DiagnosticReport?patient={patient}", token=writer_c), 404, "not-found")


def test_the_capability_statement_lists_it(api):
    body = validated(api("GET", f"{BASE}/metadata"))
    (resource,) = [r for r in body["rest"][0]["resource"] if r["type"] == "DiagnosticReport"]
    assert {i["code"] for i in resource["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in resource["searchParam"]} == {"patient", "_lastUpdated"}
