"""The progress report pages: list, issue, signed report, PDF; the chart banner and the board item."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import Event
from apps.outcomes import progress
from apps.outcomes.models import ProgressReport
from tests import factories
from tests.outcomes.progress_history import ISSUED, History
from tests.web.conftest import chart_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(clinician_a, clinic_a, patient_a):
    return History(clinician_a, clinic_a, patient=patient_a).write()


@pytest.fixture
def report(history, physician_a):
    return progress.progress_report_issue(
        actor=physician_a, program=history.program, note="Doing well; continue.", now=ISSUED
    )


def urls(patient, program=None, report=None) -> dict[str, str]:
    base = f"/patients/{patient.pk}/reports/"
    found = {"list": base}
    if program is not None:
        found["new"] = f"{base}new/{program.pk}/"
    if report is not None:
        found["detail"] = f"{base}{report.pk}/"
        found["pdf"] = f"{base}{report.pk}/pdf/"
    return found


def test_the_list_shows_the_reports_and_records_their_reads(signed_in, clinician_a, history, report):
    response = signed_in(clinician_a).get(urls(history.patient)["list"])
    assert response.status_code == 200
    text = response.content.decode()
    assert "Doing well" not in text  # the list names reports; the note is on the report
    assert f"/reports/{report.pk}/" in text
    assert "Issue a report" in text
    reads = Event.objects.filter(action="read", actor=clinician_a, object_type="outcomes.progressreport")
    assert list(reads.values_list("object_id", flat=True)) == [str(report.pk)]


def test_the_issue_page_previews_the_figures_and_signs_them_with_the_note(signed_in, physician_a, history):
    client = signed_in(physician_a)
    page = client.get(urls(history.patient, history.program)["new"])
    assert page.status_code == 200
    assert "Not signed yet" in page.content.decode()
    assert "135.6" in page.content.decode()

    response = client.post(urls(history.patient, history.program)["new"], {"note": "Continue as planned."})

    report = ProgressReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == urls(history.patient, report=report)["detail"]
    assert (report.note, report.signed_by) == ("Continue as planned.", physician_a)


def test_a_missing_note_is_a_form_error_and_signs_nothing(signed_in, physician_a, history):
    response = signed_in(physician_a).post(urls(history.patient, history.program)["new"], {"note": "  "})
    assert response.status_code == 200
    assert progress.NOTE_REQUIRED in response.content.decode()
    assert not ProgressReport.objects.exists()


def test_front_desk_cannot_issue(signed_in, clinic_a, history):
    desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    client = signed_in(desk)
    url = urls(history.patient, history.program)["new"]
    assert client.get(url).status_code == 403
    assert client.post(url, {"note": "Signed by the desk."}).status_code == 403
    assert not ProgressReport.objects.exists()
    assert "Issue a report" not in client.get(urls(history.patient)["list"]).content.decode()


def test_the_signed_report_shows_its_snapshot_and_signature(signed_in, clinician_a, history, report):
    history.session(ISSUED + timedelta(days=2))  # the records move on; the report does not
    response = signed_in(clinician_a).get(urls(history.patient, report=report)["detail"])
    text = response.content.decode()
    assert response.status_code == 200
    assert "Doing well; continue." in text
    assert f"{physician_name(report)}, Physician" in text
    assert "Sessions completed</dt><dd>4<" in text.replace("\n", "").replace("  ", "")
    assert Event.objects.filter(action="read", object_id=str(report.pk), actor=clinician_a).count() == 1


def physician_name(report) -> str:
    return report.signed_by.get_full_name() or report.signed_by.username


def test_the_pdf_is_a_download_of_the_signed_report(signed_in, clinician_a, history, report):
    response = signed_in(clinician_a).get(urls(history.patient, report=report)["pdf"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="progress-report-')
    assert response.content.startswith(b"%PDF")
    assert Event.objects.filter(action="read", object_id=str(report.pk), actor=clinician_a).count() == 1


def test_another_clinic_gets_404_everywhere(signed_in, clinician_b, history, report):
    client = signed_in(clinician_b)
    for url in urls(history.patient, history.program, report).values():
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"note": "x"}).status_code == 404, url


def test_a_report_under_another_patient_is_404(signed_in, physician_a, clinic_a, history, report):
    other = factories.PatientFactory(clinic=clinic_a)
    client = signed_in(physician_a)
    for key in ("detail", "pdf"):
        assert client.get(urls(other, report=report)[key]).status_code == 404
    assert client.get(urls(other, history.program)["new"]).status_code == 404


def test_it_needs_a_sign_in(client, history, report):
    for url in urls(history.patient, history.program, report).values():
        assert client.get(url).status_code == 302


# --- Due: the chart banner and the board ---------------------------------------------------------


def due_program(clinic, patient, sessions=10):
    return factories.ProgramFactory(
        patient=patient,
        clinic=clinic,
        status="active",
        started_at=timezone.now() - timedelta(days=12),
        completed_sessions=sessions,
    )


def test_the_chart_says_when_a_report_is_due(signed_in, clinician_a, clinic_a, patient_a):
    program = due_program(clinic_a, patient_a, sessions=9)
    client = signed_in(clinician_a)
    assert "Progress report due" not in client.get(chart_url(patient_a)).content.decode()
    program.completed_sessions = 10
    program.save()
    text = client.get(chart_url(patient_a)).content.decode()
    assert "Progress report due" in text
    assert "10 sessions since the start" in text


def test_the_board_lists_who_is_due_a_report(signed_in, clinician_a, clinic_a, patient_a, physician_a):
    program = due_program(clinic_a, patient_a)
    client = signed_in(clinician_a)
    section = next(s for s in client.get("/board/").context["sections"] if s.key == "reports")
    assert (section.count, [row.patient for row in section.rows]) == (1, [patient_a])
    assert "10 sessions since the start" in section.rows[0].detail

    progress.progress_report_issue(actor=physician_a, program=program, note="Seen.", now=timezone.now())
    section = next(s for s in client.get("/board/").context["sections"] if s.key == "reports")
    assert (section.count, section.rows) == (0, [])
