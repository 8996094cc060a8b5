"""Recording at the machine: sessions, strength tests, questionnaires, red-flag screens, programs."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.patients.models import RedFlagScreen
from apps.patients.screening import CERVICAL_ITEMS, LUMBAR_ITEMS
from apps.programs.models import Program, TrainingSession
from tests import factories
from tests.web.conftest import record_session

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")


def session_url(program) -> str:
    return f"/patients/{program.patient_id}/programs/{program.pk}/sessions/new/"


def local(moment) -> str:
    return moment.astimezone(LA).strftime("%Y-%m-%dT%H:%M")


def a_set(machine, at, load, **changes) -> dict:
    return {
        "machine": machine.pk,
        "performed_at": local(at),
        "status": "completed",
        "load": str(load),
        "reps": "10",
        "time_under_load_s": "90",
        "reached_failure": "on",
        "pain_before": "2",
        "pain_after": "2",
        **changes,
    }


# --- Training session ----------------------------------------------------------------------------


def test_the_session_form_shows_the_proposal_and_its_reason(signed_in, clinician_a, training):
    response = signed_in(clinician_a).get(session_url(training))
    assert response.status_code == 200
    proposal = response.context["proposal"]
    assert proposal.load == training.proposed_load == 92  # 50 % of 250 N·m, in ft·lbf, rounded down
    assert "50 % of the baseline peak torque" in proposal.reason
    assert response.context["form"].initial["load"] == "92"
    assert b"Proposed load" in response.content
    assert not proposal.early


def test_recording_at_the_proposed_load(signed_in, clinician_a, training, machine_a):
    at = timezone.now() - timedelta(minutes=30)
    response = signed_in(clinician_a).post(session_url(training), a_set(machine_a, at, 92))
    assert response.status_code == 302
    session = TrainingSession.objects.get(program=training)
    assert (session.load, session.proposed_load, session.override_reason) == (92, 92, "")
    assert session.performed_at == at.replace(second=0, microsecond=0)  # typed on the clinic's clock
    training.refresh_from_db()
    assert training.completed_sessions == 1


def test_an_override_without_a_reason_is_refused_and_writes_nothing(signed_in, clinician_a, training, machine_a):
    response = signed_in(clinician_a).post(session_url(training), a_set(machine_a, timezone.now(), 95))
    assert response.status_code == 200
    assert "The proposed load is 92 ft·lbf" in response.context["form"].errors["override_reason"][0]
    assert not TrainingSession.objects.exists()
    training.refresh_from_db()
    assert training.completed_sessions == 0


def test_an_override_with_a_reason_is_recorded(signed_in, clinician_a, training, machine_a):
    data = a_set(machine_a, timezone.now(), 90, override_reason="Stiff after a long drive")
    assert signed_in(clinician_a).post(session_url(training), data).status_code == 302
    session = TrainingSession.objects.get()
    assert (session.load, session.proposed_load, session.overridden) == (90, 92, True)


def test_a_session_inside_the_recovery_window_warns_and_needs_a_reason(signed_in, clinician_a, training, machine_a):
    record_session(training, machine_a, clinician_a, at=timezone.now() - timedelta(hours=20))
    training.refresh_from_db()
    client = signed_in(clinician_a)
    page = client.get(session_url(training))
    assert page.context["proposal"].early
    assert b"Earlier than the recovery window allows" in page.content

    refused = client.post(session_url(training), a_set(machine_a, timezone.now(), training.proposed_load))
    assert "48 h" in refused.context["form"].errors["early_reason"][0]
    assert TrainingSession.objects.count() == 1

    data = a_set(machine_a, timezone.now(), training.proposed_load, early_reason="Travelling next week")
    assert client.post(session_url(training), data).status_code == 302
    assert TrainingSession.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [({"reps": "abc"}, "reps"), ({"pain_after": "11"}, "pain_after"), ({"performed_at": "yesterday"}, "performed_at")],
)
def test_a_bad_session_shows_its_field_error_and_writes_nothing(
    signed_in, clinician_a, training, machine_a, change, field
):
    data = a_set(machine_a, timezone.now(), 92) | change
    response = signed_in(clinician_a).post(session_url(training), data)
    assert field in response.context["form"].errors
    assert b"Nothing was saved" in response.content
    assert not TrainingSession.objects.exists()


def test_a_load_off_the_machine_increment_is_refused(signed_in, clinician_a, training, machine_a):
    data = a_set(machine_a, timezone.now(), "92.5", override_reason="half a pound")
    response = signed_in(clinician_a).post(session_url(training), data)
    assert "not a multiple of the machine's increment" in response.context["form"].errors["load"][0]
    assert not TrainingSession.objects.exists()


def test_the_proposal_panel_follows_the_time_typed(signed_in, clinician_a, training, machine_a):
    record_session(training, machine_a, clinician_a, at=timezone.now() - timedelta(hours=2))
    url = f"/patients/{training.patient_id}/programs/{training.pk}/proposal/"
    client = signed_in(clinician_a)
    soon = client.get(url, {"machine": machine_a.pk, "performed_at": local(timezone.now())})
    later = client.get(url, {"machine": machine_a.pk, "performed_at": local(timezone.now() + timedelta(days=3))})
    assert soon.context["proposal"].early
    assert not later.context["proposal"].early
    assert b"<html" not in soon.content


def test_front_desk_cannot_record_a_session(signed_in, clinic_a, training, machine_a):
    desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    response = signed_in(desk).post(session_url(training), a_set(machine_a, timezone.now(), 92))
    assert "does not allow this" in str(response.context["form"].non_field_errors())
    assert not TrainingSession.objects.exists()


@pytest.mark.parametrize("user", ["clinician_b", "outsider"])
def test_another_clinics_program_is_404(signed_in, request, training, machine_a, user):
    client = signed_in(request.getfixturevalue(user))
    assert client.get(session_url(training)).status_code == 404
    assert client.post(session_url(training), a_set(machine_a, timezone.now(), 92)).status_code == 404
    assert not TrainingSession.objects.exists()


def test_a_program_of_another_patient_is_404(signed_in, clinician_a, training, clinic_a):
    other = factories.PatientFactory(clinic=clinic_a)
    assert signed_in(clinician_a).get(f"/patients/{other.pk}/programs/{training.pk}/sessions/new/").status_code == 404


def test_a_machine_of_another_clinic_is_refused(signed_in, clinician_a, training, clinic_b):
    elsewhere = factories.MachineFactory(clinic=clinic_b)
    response = signed_in(clinician_a).post(session_url(training), a_set(elsewhere, timezone.now(), 92))
    assert "machine" in response.context["form"].errors
    assert not TrainingSession.objects.exists()


# --- Strength test -------------------------------------------------------------------------------


def test_a_strength_test_with_partial_rom_is_recorded(signed_in, clinician_a, patient_a, training, machine_a):
    url = f"/patients/{patient_a.pk}/tests/new/"
    client = signed_in(clinician_a)
    form = client.get(url).context["form"]
    assert [field.name for field in form.angle_fields()] == [f"torque_{a}" for a in (72, 60, 48, 36, 24, 12, 0)]
    data = {"machine": machine_a.pk, "performed_at": local(timezone.now()), "rom_min_deg": "12", "rom_max_deg": "60"}
    data |= {"torque_60": "140", "torque_48": "160", "torque_36": "175", "torque_24": "180", "torque_12": "170"}
    assert client.post(url, data).status_code == 302
    test = StrengthTest.objects.of_patient(patient_a).latest("created_at")
    assert sorted(test.points.values_list("angle_deg", flat=True)) == [12, 24, 36, 48, 60]
    assert test.points.get(angle_deg=60).unit == "ft_lbf"


def test_a_torque_outside_the_rom_reached_is_refused(signed_in, clinician_a, patient_a, machine_a):
    url = f"/patients/{patient_a.pk}/tests/new/"
    data = {"machine": machine_a.pk, "performed_at": local(timezone.now()), "rom_min_deg": "24", "rom_max_deg": "60"}
    data |= {"torque_72": "150", "torque_48": "160"}
    response = signed_in(clinician_a).post(url, data)
    assert "outside the range of motion reached" in str(response.context["form"].non_field_errors())
    assert not StrengthTest.objects.of_patient(patient_a).exists()


def test_a_machine_outside_the_users_clinics_is_404(signed_in, clinician_a, patient_a, clinic_b):
    elsewhere = factories.MachineFactory(clinic=clinic_b)
    assert (
        signed_in(clinician_a).get(f"/patients/{patient_a.pk}/tests/new/", {"machine": elsewhere.pk}).status_code == 404
    )


# --- Questionnaires ------------------------------------------------------------------------------


def questionnaire(answers) -> dict:
    data = {"completed_at": local(timezone.now())}
    return data | {f"section_{n}": "" if a is None else str(a) for n, a in enumerate(answers, start=1)}


def test_an_odi_is_recorded_with_the_servers_score(signed_in, clinician_a, patient_a, training):
    url = f"/patients/{patient_a.pk}/questionnaires/new/?instrument=odi"
    client = signed_in(clinician_a)
    page = client.get(url)
    assert page.context["rule"] == {
        "instrument": "odi",
        "minAnswered": 9,
        "bands": [[20, "minimal"], [40, "moderate"], [60, "severe"], [80, "crippled"]],
        "topBand": "bed-bound",  # a label, not the stored code: the browser shows it as it comes
    }
    assert b'id="score-rule"' in page.content
    response = client.post(url, questionnaire([3, 2, 2, 1, 3, 2, 2, None, 1, 2]), follow=True)
    recorded = QuestionnaireResponse.objects.get(patient=patient_a)
    assert (recorded.instrument, recorded.score, recorded.band, recorded.answered) == ("odi", 40, "moderate", 9)
    assert b"Oswestry Disability Index recorded: 40.0 (moderate)" in response.content


def test_a_questionnaire_with_too_few_answers_is_refused(signed_in, clinician_a, patient_a):
    url = f"/patients/{patient_a.pk}/questionnaires/new/?instrument=ndi"
    response = signed_in(clinician_a).post(url, questionnaire([1, 2, 3, None, None, 1, 1, 1, 1, 1]))
    assert "at least 9 of 10 sections" in str(response.context["form"].non_field_errors())
    assert not QuestionnaireResponse.objects.exists()


def test_a_pain_rating_is_recorded(signed_in, clinician_a, patient_a):
    url = f"/patients/{patient_a.pk}/questionnaires/new/?instrument=pain_nrs"
    client = signed_in(clinician_a)
    assert client.post(url, {"completed_at": local(timezone.now())}).context["form"].errors["rating"]
    assert client.post(url, {"completed_at": local(timezone.now()), "rating": "6"}).status_code == 302
    assert QuestionnaireResponse.objects.get(patient=patient_a).score == 6


# --- Red-flag screens ----------------------------------------------------------------------------


def test_a_clear_screen_is_recorded(signed_in, clinician_a, patient_a):
    url = f"/patients/{patient_a.pk}/screens/new/?region=cervical"
    response = signed_in(clinician_a).post(url, dict.fromkeys(CERVICAL_ITEMS, "no"))
    assert response.status_code == 302
    assert RedFlagScreen.objects.get(patient=patient_a).result == "clear"


def test_an_unanswered_item_is_shown_and_nothing_written(signed_in, clinician_a, patient_a):
    data = dict.fromkeys(list(LUMBAR_ITEMS)[1:], "no")
    response = signed_in(clinician_a).post(f"/patients/{patient_a.pk}/screens/new/?region=lumbar", data)
    assert response.context["form"].errors[next(iter(LUMBAR_ITEMS))] == ["This field is required."]
    assert not RedFlagScreen.objects.exists()


def test_a_positive_screen_is_reviewed_by_a_physician_only(signed_in, clinician_a, physician_a, patient_a):
    answers = dict.fromkeys(LUMBAR_ITEMS, "no") | {"major_trauma": "yes"}
    signed_in(clinician_a).post(f"/patients/{patient_a.pk}/screens/new/?region=lumbar", answers)
    screen = RedFlagScreen.objects.get(patient=patient_a)
    url = f"/patients/{patient_a.pk}/screens/{screen.pk}/review/"
    refused = signed_in(clinician_a).post(url, {"outcome": "cleared"})
    assert "Only a physician" in str(refused.context["form"].non_field_errors())
    assert signed_in(physician_a).post(url, {"outcome": "cleared", "note": "X-ray clear"}).status_code == 302
    screen.refresh_from_db()
    assert (screen.review_outcome, screen.reviewed_by) == ("cleared", physician_a)


# --- Programs ------------------------------------------------------------------------------------


def prescription(**changes) -> dict:
    defaults = {"region": "lumbar", "sessions_per_week": "2", "planned_weeks": "10", "rep_min": "8", "rep_max": "12"}
    defaults |= {"tul_min_s": "45", "tul_max_s": "150", "progression_step_pct": "5", "min_rest_hours": "48"}
    return defaults | changes


def test_a_program_is_created_started_held_and_discharged(signed_in, clinician_a, physician_a, patient_a, machine_a):
    factories.StrengthTestFactory(patient=patient_a, machine=machine_a)
    client = signed_in(clinician_a)
    assert client.post(f"/patients/{patient_a.pk}/programs/new/", prescription()).status_code == 302
    program = Program.objects.get(patient=patient_a)
    assert (program.status, program.start_load) == ("draft", 92)
    move = f"/patients/{patient_a.pk}/programs/{program.pk}/status/"
    assert client.post(move, {"move": "start"}).status_code == 302
    assert client.post(move, {"move": "on_hold", "reason": "Away two weeks"}).status_code == 302
    program.refresh_from_db()
    assert (program.status, program.status_reason) == ("on_hold", "Away two weeks")
    refused = client.post(move, {"move": "discharged", "reason": "Goals met"})
    assert "does not allow this" in str(refused.context["form"].non_field_errors())
    assert signed_in(physician_a).post(move, {"move": "discharged", "reason": "Goals met"}).status_code == 302
    program.refresh_from_db()
    assert program.status == "discharged"


def test_a_bad_prescription_shows_errors_and_writes_nothing(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).post(f"/patients/{patient_a.pk}/programs/new/", prescription(rep_min="14"))
    assert response.context["form"].errors["rep_max"]
    assert not Program.objects.exists()


def test_a_move_the_program_cannot_make_is_404(signed_in, clinician_a, training):
    url = f"/patients/{training.patient_id}/programs/{training.pk}/status/"
    assert signed_in(clinician_a).post(url, {"move": "lapsed"}).status_code == 404
    assert signed_in(clinician_a).post(url, {"move": "start"}).status_code == 404


@pytest.mark.parametrize("user", ["clinician_b", "outsider"])
def test_another_clinics_patient_has_no_recording_pages(signed_in, request, patient_a, training, user):
    client = signed_in(request.getfixturevalue(user))
    base = f"/patients/{patient_a.pk}"
    for path in ("/tests/new/", "/questionnaires/new/", "/screens/new/", "/programs/new/"):
        assert client.get(base + path).status_code == 404, path
    assert client.post(base + "/programs/new/", prescription(region="cervical")).status_code == 404
    assert Program.objects.count() == 1
