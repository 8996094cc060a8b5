"""The outcomes report's CSV downloads: the figures, the de-identified rows, who may have them, audit."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.audit.models import Action, Event
from apps.outcomes import exports
from tests import factories
from tests.outcomes.fixtures import START, fact

pytestmark = pytest.mark.django_db
REPORT, ROWS = reverse("web:outcomes-export-report"), reverse("web:outcomes-export-rows")


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def table(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response))))


@pytest.fixture
def canary(clinic_a):
    """A patient whose every identifying value is unmistakable, with one program among eleven others."""
    patient = factories.PatientFactory(
        clinic=clinic_a,
        given_name="Zebulon",
        family_name="Quackenbush",
        mrn="MRN-CANARY-77",
        email="zebulon.canary@example.test",
        phone="+1 555 0199 777",
        birth_date=date(1961, 7, 23),
    )
    row = fact(
        clinic_a, patient=patient, strength_change_pct=Decimal("33.3"), prom_change=Decimal(12), prom_important=True
    )
    for index in range(11):
        fact(clinic_a, strength_change_pct=Decimal(index), prom_change=Decimal(index), prom_important=index > 4)
    return patient, row


def test_the_deidentified_rows_hold_no_identifying_marker_of_the_canary(signed_in, physician_a, canary):
    patient, row = canary
    signed_in(physician_a)

    response = signed_in(physician_a).get(ROWS)

    assert response.status_code == 200
    text = body(response)
    rows = list(csv.DictReader(io.StringIO(text)))
    # The random export codes are hex: a short marker ("1961") could turn up in one by chance.
    shown_text = "\n".join(",".join(v for k, v in row.items() if k != "export_code") for row in rows)
    markers = [
        patient.given_name, patient.family_name, patient.mrn, patient.email, patient.phone, "555", "0199",
        str(patient.pk), patient.pk.hex, str(row.program_id), row.program_id.hex,
        patient.birth_date.isoformat(), "1961", "07-23", START.date().isoformat(),
    ]  # fmt: skip
    assert [marker for marker in markers if marker.lower() in shown_text.lower()] == []
    assert all(len(row["export_code"]) == 12 for row in rows)
    assert len(rows) == 12
    assert set(rows[0]) == set(exports.ROW_COLUMNS)
    mine = next(r for r in rows if r["strength_change_pct"] == "33.3")
    assert (mine["age_band"], mine["start_month"], mine["clinic"]) == ("50-54", "2026-03", patient.clinic.name)
    assert len({r["export_code"] for r in rows}) == 12


def test_export_codes_differ_between_two_exports(signed_in, physician_a, canary):
    client = signed_in(physician_a)
    first, second = (table(client.get(ROWS)) for _ in range(2))
    assert {r["export_code"] for r in first}.isdisjoint({r["export_code"] for r in second})


def test_each_exported_row_is_audited_against_its_patient(signed_in, physician_a, canary):
    patient, row = canary
    body(signed_in(physician_a).get(ROWS))

    exported = Event.objects.filter(action=Action.EXPORT, object_type="outcomes.outcomefact")
    assert exported.count() == 12
    mine = exported.get(patient_id=patient.pk)
    assert (mine.object_id, mine.clinic_id, mine.actor) == (str(row.program_id), patient.clinic_id, physician_a)
    assert mine.request_id  # the request's, although the rows streamed after the view returned


def test_fewer_than_ten_programs_export_no_rows(signed_in, physician_a, clinic_a):
    for _ in range(9):
        fact(clinic_a)

    response = signed_in(physician_a).get(ROWS)

    assert response.status_code == 400
    assert "fewer than 10 programs" in response.content.decode()
    assert not Event.objects.filter(action=Action.EXPORT).exists()


def test_the_report_csv_holds_the_figures_and_too_few_for_small_groups(signed_in, physician_a, canary):
    response = signed_in(physician_a).get(REPORT, {"region": "lumbar"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="outcomes-report-')
    lines = {(r["section"], r["group"], r["measure"]): r for r in table(response)}
    assert lines["all", "all", "programs"]["n"] == "12"
    strength = lines["all", "all", "strength_change_pct"]
    assert (strength["n"], strength["median"]) == ("12", "5.5")
    responders = lines["all", "all", "responders"]
    assert (responders["n"], responders["rate_pct"]) == ("12", "58.3")  # 6 of the 11, and the canary
    band = lines["adherence", "2 or more a week", "responders"]
    assert (band["n"], band["median"], band["rate_pct"]) == ("12", "", "58.3")
    small = lines["adherence", "under 1 a week", "responders"]
    assert (small["n"], small["median"], small["rate_pct"]) == ("fewer than 10", "too few", "")
    event = Event.objects.get(action=Action.EXPORT, object_type="outcomes.report")
    assert (event.clinic_id, event.object_id) == (canary[0].clinic_id, f"{REPORT}?region=lumbar")


@pytest.mark.parametrize("url", [REPORT, ROWS])
def test_another_clinic_and_a_non_reader_get_404(signed_in, url, physician_a, clinician_a, clinic_b, clinic_c, canary):
    assert signed_in(physician_a).get(url, {"clinic": clinic_b.pk}).status_code == 404
    assert signed_in(physician_a).get(url, {"clinic": clinic_c.pk}).status_code == 404
    assert signed_in(physician_a).get(url, {"clinic": "x"}).status_code == 404
    assert signed_in(clinician_a).get(url).status_code == 404
    assert not Event.objects.filter(action=Action.EXPORT).exists()


@pytest.mark.parametrize("url", [REPORT, ROWS])
def test_filters_that_are_not_valid_are_a_400_sentence(signed_in, url, physician_a, canary):
    response = signed_in(physician_a).get(url, {"since": "2026-05-01", "until": "2026-04-01", "sex": "x"})

    assert response.status_code == 400
    text = response.content.decode()
    assert "until:" in text
    assert "sex:" in text
    assert text.endswith("Nothing was exported.")
