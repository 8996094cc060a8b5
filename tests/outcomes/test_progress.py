"""Progress reports: issuing signs an immutable snapshot of the figures, audited; a later one supersedes it.
The board's one query agrees with the due rule; the PDF holds the patient's figures."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.utils import timezone

from apps.audit.models import Event
from apps.outcomes import pdf, progress
from apps.outcomes.models import ProgressReport, ReportImmutable
from apps.programs.models import Program
from tests import factories
from tests.outcomes.progress_history import ISSUED, START, History

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def history(clinician_a, clinic_a):
    return History(clinician_a, clinic_a).write()


def issue(history, actor, note="Stronger and less disabled: continue as planned.", at=ISSUED):
    return progress.progress_report_issue(actor=actor, program=history.program, note=note, now=at)


def test_issuing_signs_the_figures_of_the_records(history, physician_a):
    report = issue(history, physician_a)

    report.refresh_from_db()
    content = report.content
    assert (report.signed_by, report.signed_at, report.sessions_completed) == (physician_a, ISSUED, 4)
    assert (report.signed_by_role, report.period_start, report.supersedes) == ("Physician", START, None)
    angles = {row["angle"]: row for row in content["strength"]["angles"]}
    assert angles[72] == {
        "angle": 72,
        "before_nm": "135.6",  # 135.58 N·m
        "before_unit": "100.0",  # ft·lbf, back from N·m
        "after_nm": "162.7",
        "after_unit": "120.0",
        "change_pct": "20.0",
    }
    strength = content["strength"]
    assert (strength["index_before"], strength["index_after"], strength["index_change_pct"]) == (
        "8623.0",  # 8622.96
        "10347.7",  # 10347.72
        "20.0",
    )
    odi, nrs = content["scores"]
    assert (odi["instrument"], odi["baseline"], odi["latest"], odi["change"], odi["important"]) == (
        "odi",
        "80.0",
        "40.0",
        "40.0",
        True,
    )
    assert (nrs["baseline"], nrs["latest"], nrs["change"], nrs["change_pct"], nrs["important"]) == (
        "6.0",
        "3.0",
        "3.0",
        "50.0",
        True,
    )
    # 11 days at 2 a week: 3 prescribed to date (floored), 4 done.
    attendance = content["attendance"]
    assert (attendance["sessions_completed"], attendance["sessions_prescribed"], attendance["adherence_pct"]) == (
        4,
        3,
        "133.3",
    )
    # Days 3 and 5 in week 1 (days 0-6), days 7 and 10 in week 2.
    assert [(week["week"], week["sessions"]) for week in content["loads"]] == [(1, 2), (2, 2)]
    assert content["plan"]["sessions_per_week"] == 2


def test_issuing_is_audited_in_its_transaction(history, physician_a):
    report = issue(history, physician_a)
    created = Event.objects.filter(action="create", object_type="outcomes.progressreport", object_id=str(report.pk))
    assert list(created.values_list("actor", "patient_id")) == [(physician_a.pk, history.patient.pk)]


def test_a_signed_report_never_changes(history, physician_a):
    report = issue(history, physician_a)
    signed = ProgressReport.objects.filter(pk=report.pk).values().get()

    report.note = "Changed my mind."
    with pytest.raises(ReportImmutable):
        report.save()
    with pytest.raises(ReportImmutable):
        ProgressReport.objects.filter(pk=report.pk).update(note="Changed")
    with pytest.raises(ReportImmutable):
        report.delete()
    with pytest.raises(ReportImmutable):
        ProgressReport.objects.filter(pk=report.pk).delete()

    assert ProgressReport.objects.filter(pk=report.pk).values().get() == signed


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE outcomes_progressreport SET note = 'x'",
        "DELETE FROM outcomes_progressreport",
        "UPDATE outcomes_progressreport SET note = 'x' WHERE false",  # refused even when it matches nothing
    ],
)
def test_the_database_refuses_to_change_a_report_by_any_path(history, physician_a, sql):
    issue(history, physician_a)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert ProgressReport.objects.count() == 1


def test_the_snapshot_stays_when_the_records_move_on(history, physician_a):
    report = issue(history, physician_a)
    history.session(START + timedelta(days=13))
    report.refresh_from_db()
    assert report.content["attendance"]["sessions_completed"] == 4
    assert report.sessions_completed == 4


def test_a_later_report_supersedes_the_earlier_one_without_touching_it(history, physician_a, clinician_a):
    first = issue(history, physician_a)
    signed = ProgressReport.objects.filter(pk=first.pk).values().get()
    history.session(START + timedelta(days=13))
    later = issue(history, clinician_a, note="Five sessions on.", at=START + timedelta(days=14))

    first.refresh_from_db()
    assert later.supersedes == first
    assert first.superseded_by == later
    assert later.period_start == first.signed_at
    assert (later.sessions_completed, later.signed_by_role) == (5, "Physical therapist")
    assert ProgressReport.objects.filter(pk=first.pk).values().get() == signed
    assert list(ProgressReport.objects.current()) == [later]


def test_front_desk_cannot_issue(history, clinic_a):
    front_desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    with pytest.raises(PermissionDenied):
        issue(history, front_desk)
    assert not ProgressReport.objects.exists()


def test_another_clinic_cannot_issue_at_all(history, clinician_b):
    with pytest.raises(Http404):
        issue(history, clinician_b)


@pytest.mark.parametrize("note", ["", "   \n "])
def test_a_report_needs_a_note(history, physician_a, note):
    with pytest.raises(ValidationError) as refused:
        issue(history, physician_a, note=note)
    assert "note" in refused.value.message_dict
    assert not ProgressReport.objects.exists()


def test_reads_of_a_report_are_audited(history, physician_a):
    report = issue(history, physician_a)
    progress.report_get(user=physician_a, patient=history.patient, report_id=report.pk)
    reads = Event.objects.filter(action="read", object_type="outcomes.progressreport", object_id=str(report.pk))
    assert reads.count() == 1


def test_a_report_of_another_patient_is_404(history, physician_a, clinic_a):
    report = issue(history, physician_a)
    other = factories.PatientFactory(clinic=clinic_a)
    with pytest.raises(Http404):
        progress.report_get(user=physician_a, patient=other, report_id=report.pk)


# --- Due: the rule on the chart, and the board's one query ----------------------------------------------


def program_at(clinic, *, started_days_ago, sessions, status="active", ended_days_ago=None):
    now = timezone.now()
    ended = None if ended_days_ago is None else now - timedelta(days=ended_days_ago)
    return factories.ProgramFactory(
        patient=factories.PatientFactory(clinic=clinic),
        clinic=clinic,
        status=status,
        started_at=now - timedelta(days=started_days_ago),
        completed_sessions=sessions,
        ended_at=ended,
    )


def test_the_board_query_agrees_with_the_rule(clinic_a, physician_a):
    now = timezone.now()
    cases = {
        "nine sessions, 20 days": program_at(clinic_a, started_days_ago=20, sessions=9),
        "ten sessions": program_at(clinic_a, started_days_ago=20, sessions=10),
        "29 days": program_at(clinic_a, started_days_ago=29, sessions=3),
        "31 days": program_at(clinic_a, started_days_ago=31, sessions=3),
        "discharged": program_at(clinic_a, started_days_ago=40, sessions=8, status="discharged", ended_days_ago=2),
        "long discharged": program_at(
            clinic_a, started_days_ago=200, sessions=8, status="discharged", ended_days_ago=100
        ),
        "lapsed": program_at(clinic_a, started_days_ago=45, sessions=4, status="lapsed"),
        "cancelled": program_at(clinic_a, started_days_ago=45, sessions=4, status="cancelled", ended_days_ago=1),
    }
    listed = Program.objects.filter(clinic=clinic_a).select_related("clinic")
    by_rule = {program.pk for program in (found.program for found in progress.reports_due(list(listed), now))}
    by_board = set(progress.programs_due_report(listed, now=now, tz=clinic_a.tzinfo).values_list("pk", flat=True))

    due = {"ten sessions", "31 days", "discharged", "long discharged", "lapsed"}
    assert by_rule == {cases[name].pk for name in due}
    # The board lists a discharge report for 30 days only (progress.DISCHARGE_ON_BOARD).
    assert by_board == by_rule - {cases["long discharged"].pk}


def test_a_report_answers_what_was_due(clinic_a, physician_a):
    program = program_at(clinic_a, started_days_ago=31, sessions=10)
    now = timezone.now()
    assert progress.reports_due([program], now)[0].text == "10 sessions since the start and 30 days since the start"
    progress.progress_report_issue(actor=physician_a, program=program, note="On track.", now=now)
    assert progress.reports_due([program], now) == []
    listed = Program.objects.filter(pk=program.pk)
    assert not progress.programs_due_report(listed, now=now, tz=clinic_a.tzinfo).exists()


# --- The PDF ------------------------------------------------------------------------------------------


def test_the_pdf_holds_the_patient_s_figures(history, physician_a, tmp_path):
    report = issue(history, physician_a)
    report = ProgressReport.objects.select_related("patient", "supersedes").get(pk=report.pk)
    with timezone.override(history.patient.clinic.tzinfo):
        document = pdf.render_pdf(
            "web/progress/document.html", {"report": report, "content": report.content, "patient": report.patient}
        )
    assert document.startswith(b"%PDF")
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftoppm, pdftotext) is not installed: scripts/pdf.sh installs it")
    path = tmp_path / "report.pdf"
    path.write_bytes(document)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    for figure in ("Quintero, Rosa", "PR-0042", "135.6", "100.0", "162.7", "120.0", "8623.0", "10347.7"):
        assert figure in text, figure
    for figure in ("80.0", "40.0", "Yes ✓", "133.3 %", "Stronger and less disabled", "Physician"):
        assert figure in text, figure
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(prefix)], check=True)
    page = next(tmp_path.glob("page*.png"))
    shutil.copy(page, ARTIFACTS / "progress-report.png")
    assert page.read_bytes().startswith(b"\x89PNG")


def test_the_pdf_fetches_nothing_but_static_files():
    assert pdf.static_name(pdf.BASE_URL + "static/web/report.css") == "web/report.css"
    for url in ("https://example.com/x.png", "file:///etc/passwd", pdf.BASE_URL + "static/../settings.py"):
        with pytest.raises(pdf.RefusedFetch):
            pdf.static_name(url)
    html = '<img src="https://example.com/tracker.png"><link rel="stylesheet" href="file:///etc/passwd"><p>ok</p>'
    assert pdf.html_to_pdf(html).startswith(b"%PDF")
