"""The maintenance phase in the staff UI (DOMAIN.md "Maintenance"): completing a program into it from
its move page, the board's "Maintenance due" section, and the phase on the chart and the patient list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.programs import schedule, services
from apps.programs.maintenance import program_maintain
from apps.programs.models import Phase, Program, ProgramStatus
from apps.web.selectors import local_day
from tests import factories
from tests.web.conftest import chart_url, record_session
from tests.web.test_board import active_program, names, sections
from tests.web.test_display import day_label, visible

pytestmark = pytest.mark.django_db


def move_url(program) -> str:
    return f"/patients/{program.patient_id}/programs/{program.pk}/status/"


def maintain(weeks="2", reason="") -> dict:
    return {"move": "maintain", "maintenance_interval_weeks": weeks, "reason": reason}


@pytest.fixture
def trained(training, machine_a, clinician_a) -> Program:
    """patient_a's program with one completed session, 60 hours ago: it may complete into maintenance."""
    record_session(training, machine_a, clinician_a, at=timezone.now() - timedelta(hours=60))
    training.refresh_from_db()
    return training


@pytest.fixture
def in_maintenance(trained, machine_a, clinician_a) -> Program:
    """Completed into maintenance (every 2 weeks) 59 hours ago, with one maintenance session an hour ago."""
    program_maintain(actor=clinician_a, program=trained, interval_weeks=2, now=timezone.now() - timedelta(hours=59))
    record_session(trained, machine_a, clinician_a, at=timezone.now() - timedelta(hours=1))
    trained.refresh_from_db()
    return trained


def unchanged(program: Program) -> bool:
    program.refresh_from_db()
    return (program.phase, program.status, program.status_reason) == (Phase.TRAINING, ProgramStatus.ACTIVE, "")


# --- The move page -------------------------------------------------------------------------------


def test_the_move_page_asks_for_the_interval_every_2_weeks_by_default(signed_in, clinician_a, trained):
    response = signed_in(clinician_a).get(move_url(trained) + "?move=maintain")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Complete into maintenance: lumbar (low back) program" in html
    assert '<option value="2" selected>One session every 2 weeks</option>' in html
    assert [label for _, label in response.context["form"].fields["maintenance_interval_weeks"].choices] == [
        "One session every week",
        "One session every 2 weeks",
        "One session every 3 weeks",
        "One session every 4 weeks",
    ]


def test_completing_into_maintenance_sets_the_interval_and_the_next_due_time(signed_in, clinician_a, trained):
    client = signed_in(clinician_a)
    response = client.post(move_url(trained), maintain("3", "Goals met; keep it up"), follow=True)
    assert response.redirect_chain[-1][0] == f"/patients/{trained.patient_id}/#programs"
    assert "the lumbar (low back) program is now in maintenance, one session every 3 weeks." in visible(
        response.content.decode()
    )
    trained.refresh_from_db()
    assert (trained.phase, trained.status, trained.maintenance_interval_weeks) == ("maintenance", "active", 3)
    assert trained.status_reason == "Goals met; keep it up"
    assert trained.next_due_at == schedule.maintenance_due(trained.last_completed_at, 3, trained.clinic.tzinfo)


@pytest.mark.parametrize("weeks", ["0", "5", "two", ""])
def test_an_interval_outside_1_to_4_weeks_is_a_field_error_and_changes_nothing(signed_in, clinician_a, trained, weeks):
    response = signed_in(clinician_a).post(move_url(trained), maintain(weeks))
    assert response.status_code == 200
    assert response.context["form"].errors["maintenance_interval_weeks"]
    assert b"Nothing was saved." in response.content
    assert unchanged(trained)


def test_a_program_without_a_completed_session_cannot_complete_into_maintenance(signed_in, clinician_a, training):
    assert signed_in(clinician_a).post(move_url(training), maintain()).status_code == 404
    assert unchanged(training)


def test_a_program_already_in_maintenance_is_not_offered_the_move_again(signed_in, clinician_a, in_maintenance):
    client = signed_in(clinician_a)
    assert "?move=maintain" not in client.get(chart_url(in_maintenance.patient)).content.decode()
    assert client.post(move_url(in_maintenance), maintain("4")).status_code == 404
    in_maintenance.refresh_from_db()
    assert in_maintenance.maintenance_interval_weeks == 2


def test_the_move_page_needs_a_signed_in_user(client, trained):
    for response in (client.get(move_url(trained) + "?move=maintain"), client.post(move_url(trained), maintain())):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert unchanged(trained)


@pytest.mark.parametrize("user", ["clinician_b", "outsider"])
def test_another_clinics_program_is_404(signed_in, request, trained, user):
    client = signed_in(request.getfixturevalue(user))
    assert client.get(move_url(trained) + "?move=maintain").status_code == 404
    assert client.post(move_url(trained), maintain()).status_code == 404
    assert unchanged(trained)


def test_front_desk_cannot_complete_a_program_into_maintenance(signed_in, clinic_a, trained):
    desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    client = signed_in(desk)
    assert "?move=maintain" not in client.get(chart_url(trained.patient)).content.decode()
    response = client.post(move_url(trained), maintain())
    assert "does not allow this" in str(response.context["form"].non_field_errors())
    assert unchanged(trained)


def test_the_chart_offers_the_move_to_a_clinician(signed_in, clinician_a, trained):
    html = signed_in(clinician_a).get(chart_url(trained.patient)).content.decode()
    assert f'href="{move_url(trained)}?move=maintain">Complete into maintenance</a>' in html


# --- The today board -----------------------------------------------------------------------------


def maintenance_program(clinic, *, due, overdue=None, lapse=None, weeks=2, **fields):
    now = timezone.now()
    started = {"maintenance_started_at": now - timedelta(days=20), "maintenance_interval_weeks": weeks}
    return active_program(clinic, due=due, overdue=overdue, lapse=lapse, phase=Phase.MAINTENANCE, **started, **fields)


def tags(section) -> dict[str, str]:
    return {row.patient.family_name: row.tag for row in section.rows}


def test_maintenance_due_today_has_its_own_section_and_training_due_keeps_its_own(signed_in, clinician_a, clinic_a):
    now = timezone.now()
    _, tomorrow = local_day(clinic_a, now)
    training = active_program(clinic_a, due=now - timedelta(hours=2))
    kept = maintenance_program(clinic_a, due=now - timedelta(days=2), overdue=now + timedelta(days=5), weeks=3)
    later = maintenance_program(clinic_a, due=tomorrow + timedelta(hours=1))
    late = maintenance_program(clinic_a, due=now - timedelta(days=7), overdue=now)  # overdue at the instant

    response = signed_in(clinician_a).get("/board/")

    board = sections(response)
    assert names(board["due"]) == [training.patient.family_name]
    assert names(board["maintenance_due"]) == [kept.patient.family_name]
    assert board["maintenance_due"].count == 1
    assert later.patient.family_name not in names(board["maintenance_due"])
    assert names(board["overdue"]) == [late.patient.family_name]
    assert tags(board["overdue"]) == {late.patient.family_name: "maintenance"}
    html = visible(response.content.decode())
    assert f"Lumbar (low back): maintenance, one session every 3 weeks · due {day_label(kept.next_due_at)}" in html


def test_overdue_and_lapsed_keep_both_phases_and_tag_maintenance(signed_in, clinician_a, clinic_a):
    now = timezone.now()
    overdue = {"due": now - timedelta(days=5), "overdue": now - timedelta(hours=1)}
    lapsed = {"due": now - timedelta(days=15), "overdue": now - timedelta(days=8), "lapse": now - timedelta(hours=1)}
    training_overdue, kept_overdue = active_program(clinic_a, **overdue), maintenance_program(clinic_a, **overdue)
    training_lapsed, kept_lapsed = active_program(clinic_a, **lapsed), maintenance_program(clinic_a, **lapsed)

    response = signed_in(clinician_a).get("/board/")

    board = sections(response)
    assert tags(board["overdue"]) == {
        training_overdue.patient.family_name: "",
        kept_overdue.patient.family_name: "maintenance",
    }
    assert tags(board["lapsed"]) == {
        training_lapsed.patient.family_name: "",
        kept_lapsed.patient.family_name: "maintenance",
    }
    assert board["due"].count == board["maintenance_due"].count == 0
    assert response.content.decode().count('<span class="status status-maintenance">maintenance</span>') == 2


def test_the_overdue_and_lapsed_titles_say_the_thresholds_are_instants(signed_in, clinician_a, clinic_a):
    board = sections(signed_in(clinician_a).get("/board/"))
    assert board["overdue"].title == "Overdue (7 days or more)"
    assert board["lapsed"].title == "Lapsed (14 days or more)"
    assert board["maintenance_due"].title == "Maintenance due"


def test_another_clinics_maintenance_never_appears(signed_in, clinician_a, clinic_b, clinic_c):
    for clinic in (clinic_b, clinic_c):
        maintenance_program(clinic, due=timezone.now())
    board = sections(signed_in(clinician_a).get("/board/"))
    assert board["maintenance_due"].count == 0
    assert board["maintenance_due"].rows == []


def test_a_program_completed_into_maintenance_falls_due_one_interval_after_its_last_session(
    signed_in, clinician_a, patient_a, machine_a
):
    """Through the services: the last training session 7 days and 3 hours ago made the patient overdue in
    training; completed into maintenance every week, the same patient is due (3 hours ago), not overdue."""
    now = timezone.now()
    baseline = factories.StrengthTestFactory(
        patient=patient_a, machine=machine_a, performed_at=now - timedelta(days=20)
    )
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)
    services.program_start(actor=clinician_a, program=program, now=now - timedelta(days=20))
    for days in (17, 14, 10):
        record_session(program, machine_a, clinician_a, at=now - timedelta(days=days))
    record_session(program, machine_a, clinician_a, at=now - timedelta(days=7, hours=3))
    client = signed_in(clinician_a)
    assert names(sections(client.get("/board/"))["overdue"]) == ["Alvarez"]

    program_maintain(actor=clinician_a, program=program, interval_weeks=1)

    board = sections(client.get("/board/"))
    assert names(board["maintenance_due"]) == ["Alvarez"]
    assert board["overdue"].count == board["due"].count == 0


# --- Chart and patient list ----------------------------------------------------------------------


def test_the_chart_shows_the_phase_its_start_and_each_sessions_phase(signed_in, clinician_a, in_maintenance):
    response = signed_in(clinician_a).get(chart_url(in_maintenance.patient))

    html = response.content.decode()
    since = day_label(in_maintenance.maintenance_started_at)
    programs = html.split('id="programs"')[1].split("</section>")[0]
    facts = {term: visible(value) for term, value in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", programs)}
    assert facts["Phase"] == f"Maintenance since {since}, every 2 weeks"
    header = html.split('class="card chart-header"')[1].split("</section>")[0]
    assert "Lumbar (low back): active maintenance, every 2 weeks" in visible(header)
    (loads,) = response.context["series"]["loads"]
    assert [point[4] for point in loads["points"]] == [False, True]  # the training session, then maintenance
    assert loads["maintenance"] == {
        "from": int(in_maintenance.maintenance_started_at.timestamp() * 1000),
        "since": since,
        "every": "every 2 weeks",
    }
    caption = f"shaded: maintenance since {since}, every 2 weeks, its sessions as diamonds"
    assert caption in visible(html)
    log = html.split('id="sessions"')[1].split("</section>")[0]
    assert log.count('<span class="status status-maintenance">maintenance</span>') == 1


def test_a_training_program_has_no_maintenance_on_its_chart(signed_in, clinician_a, trained):
    response = signed_in(clinician_a).get(chart_url(trained.patient))
    (loads,) = response.context["series"]["loads"]
    assert loads["maintenance"] is None
    assert [point[4] for point in loads["points"]] == [False]
    assert "<dt>Phase</dt><dd>Training</dd>" in response.content.decode()
    assert "status-maintenance" not in response.content.decode()


def test_the_patient_list_shows_maintenance_beside_the_status(signed_in, clinician_a, in_maintenance, clinic_a):
    factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_a), status="active")
    response = signed_in(clinician_a).get("/patients/")
    rows = {patient.mrn: patient.program_phase for patient in response.context["page"].object_list}
    assert rows["A-0001"] == "maintenance"
    assert set(rows.values()) == {"maintenance", "training"}
    html = response.content.decode()
    assert html.count('<span class="status status-maintenance">maintenance</span>') == 1
    (row,) = [row for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html, re.S) if "A-0001" in row]
    assert "Active maintenance" in visible(row)
