"""Strength tests and questionnaires in the admin (apps.assessments.admin): recorded through the services, whose
signals update the program; refusals are form errors, nothing is written on a refusal."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.audit.models import Action, Event
from apps.programs import services
from apps.programs.models import Program
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
TEST_ADD = "admin:assessments_strengthtest_add"
RESPONSE_ADD = "admin:assessments_questionnaireresponse_add"


@pytest.fixture
def now():
    return timezone.now().replace(second=0, microsecond=0)


@pytest.fixture
def yesterday_noon():
    """A wall time that exists once in Los Angeles (never in a DST gap or fold): typed times read back exactly."""
    day = timezone.localdate(timezone=LA) - timedelta(days=1)
    return datetime.combine(day, time(12), tzinfo=LA)


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


def when(field, moment) -> dict[str, str]:
    local = moment.astimezone(LA)
    return {f"{field}_0": local.date().isoformat(), f"{field}_1": local.strftime("%H:%M:%S")}


def strength_form(patient, machine, at, **changes) -> dict:
    form = {"patient": patient.pk, "machine": machine.pk, "rom_min_deg": "0", "rom_max_deg": "72"}
    form |= {"pain_before": "", "pain_after": "", "points": "72=150, 60=180, 48=200"}
    return {**form, **when("performed_at", at), **changes}


def response_form(patient, at, instrument="odi", sections=(2,) * 10, rating="") -> dict:
    form = {"patient": patient.pk, "instrument": instrument, "rating": rating, **when("completed_at", at)}
    return form | {f"section_{n}": "" if s is None else s for n, s in enumerate(sections, start=1)}


def nothing_written() -> tuple:
    events = Event.objects.exclude(action=Action.READ).count()
    return StrengthTest.objects.count(), QuestionnaireResponse.objects.count(), events


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


# --- Strength tests ---------------------------------------------------------------------------------


def test_a_strength_test_is_recorded_from_points_typed_as_angle_equals_torque(
    signed_in, clinician_a, patient_a, machine_a, yesterday_noon
):
    performed_at = yesterday_noon

    response = signed_in(clinician_a).post(reverse(TEST_ADD), strength_form(patient_a, machine_a, performed_at))

    assert response.status_code == 302
    test = StrengthTest.objects.get()
    assert (test.performed_at, test.is_familiarization, test.recorded_by) == (performed_at, True, clinician_a)
    points = list(test.points.values_list("angle_deg", "torque", "unit", "torque_nm"))
    assert points == [
        (72, Decimal(150), "ft_lbf", Decimal("203.37")),  # 150 ft·lbf at 1.355818 N·m each
        (60, Decimal(180), "ft_lbf", Decimal("244.05")),
        (48, Decimal(200), "ft_lbf", Decimal("271.16")),
    ]
    assert Event.objects.filter(action=Action.CREATE, object_type="assessments.strengthtest").count() == 1


def test_an_angle_outside_the_range_reached_is_a_form_error_on_points_and_writes_nothing(
    signed_in, clinician_a, patient_a, machine_a, now
):
    before = nothing_written()

    response = signed_in(clinician_a).post(
        reverse(TEST_ADD), strength_form(patient_a, machine_a, now, rom_max_deg="60")
    )

    assert response.status_code == 200
    assert form_errors(response)["points"] == ["72°: outside the range of motion reached (0-60°)."]
    assert nothing_written() == before


@pytest.mark.parametrize("points", ["72:150", "72=150, sixty=180", "", "72=1e3"])
def test_unreadable_points_are_a_form_error_showing_the_expected_format(
    signed_in, clinician_a, patient_a, machine_a, now, points
):
    response = signed_in(clinician_a).post(reverse(TEST_ADD), strength_form(patient_a, machine_a, now, points=points))

    assert response.status_code == 200
    assert "points" in form_errors(response)
    assert not StrengthTest.objects.exists()


def test_the_test_page_shows_each_point_as_captured_and_in_newton_metres(
    signed_in, clinician_a, patient_a, machine_a, now
):
    signed_in(clinician_a).post(reverse(TEST_ADD), strength_form(patient_a, machine_a, now))

    page = signed_in(clinician_a).get(
        reverse("admin:assessments_strengthtest_change", args=[StrengthTest.objects.get().pk])
    )

    assert "<tr><td>72°</td><td>150 ft·lbf</td><td>203.37 N·m</td></tr>" in page.content.decode()
    assert not page.context["has_change_permission"]


def test_a_test_recorded_in_the_admin_becomes_the_draft_programs_baseline(
    signed_in, clinician_a, patient_a, machine_a, now
):
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar")
    client = signed_in(clinician_a)

    client.post(reverse(TEST_ADD), strength_form(patient_a, machine_a, now - timedelta(days=2)))  # familiarisation
    client.post(reverse(TEST_ADD), strength_form(patient_a, machine_a, now - timedelta(hours=1)))

    program.refresh_from_db()
    assert program.baseline_test == StrengthTest.objects.get(is_familiarization=False)
    assert program.start_load == 99  # the peak 271.16 N·m is 199.998 ft·lbf: half, rounded down to 1 ft·lbf


def test_the_patient_autocomplete_of_the_test_form_answers_only_with_the_users_patients(
    signed_in, clinician_b, patient_a, patient_b
):
    response = signed_in(clinician_b).get(
        reverse("admin:autocomplete"),
        {"app_label": "assessments", "model_name": "strengthtest", "field_name": "patient", "term": ""},
    )

    assert [result["id"] for result in response.json()["results"]] == [str(patient_b.pk)]


def test_the_front_desk_records_questionnaires_but_not_strength_tests(signed_in, clinic_a):
    client = signed_in(factories.StaffFactory(clinic=clinic_a, role="front_desk"))

    assert client.get(reverse(TEST_ADD)).status_code == 403
    assert client.get(reverse(RESPONSE_ADD)).status_code == 200


# --- Questionnaires ---------------------------------------------------------------------------------


def test_an_odi_with_every_section_answered_is_recorded_with_its_score_and_band(
    signed_in, clinician_a, patient_a, yesterday_noon
):
    response = signed_in(clinician_a).post(reverse(RESPONSE_ADD), response_form(patient_a, yesterday_noon))

    assert response.status_code == 302
    recorded = QuestionnaireResponse.objects.get()
    assert (recorded.instrument, recorded.answers, recorded.score, recorded.band) == (
        "odi",
        [2] * 10,
        Decimal("40.0"),
        "moderate",
    )
    assert recorded.completed_at == yesterday_noon


def test_an_odi_with_8_sections_answered_is_a_form_error_and_writes_nothing(signed_in, clinician_a, patient_a, now):
    before = nothing_written()

    response = signed_in(clinician_a).post(
        reverse(RESPONSE_ADD), response_form(patient_a, now, sections=(2,) * 8 + (None, None))
    )

    assert response.status_code == 200
    assert form_errors(response)["__all__"] == ["ODI needs at least 9 of 10 sections answered; 8 were."]
    assert nothing_written() == before


def test_a_pain_rating_is_recorded_and_a_missing_one_is_an_error_on_the_rating(signed_in, clinician_a, patient_a, now):
    client, blank = signed_in(clinician_a), (None,) * 10

    missing = client.post(reverse(RESPONSE_ADD), response_form(patient_a, now, "pain_nrs", blank))
    recorded = client.post(reverse(RESPONSE_ADD), response_form(patient_a, now, "pain_nrs", blank, rating=6))

    assert "rating" in form_errors(missing)
    assert recorded.status_code == 302
    assert QuestionnaireResponse.objects.get().score == 6


def test_section_scores_given_with_a_pain_rating_are_refused(signed_in, clinician_a, patient_a, now):
    response = signed_in(clinician_a).post(reverse(RESPONSE_ADD), response_form(patient_a, now, "pain_nrs", rating=6))

    assert response.status_code == 200
    assert "Section scores are for ODI and NDI" in str(form_errors(response)["__all__"])
    assert not QuestionnaireResponse.objects.exists()


def test_an_odi_recorded_in_the_admin_moves_the_programs_next_questionnaire_due(
    signed_in, clinician_a, patient_a, machine_a, now
):
    baseline = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=now - timedelta(days=3))
    program = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=100
    )
    services.program_start(actor=clinician_a, program=program, now=now - timedelta(days=1))
    due_before = Program.objects.get(pk=program.pk).questionnaire_due_at

    signed_in(clinician_a).post(reverse(RESPONSE_ADD), response_form(patient_a, now))

    assert Program.objects.get(pk=program.pk).questionnaire_due_at > due_before
