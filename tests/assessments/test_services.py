from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from django_scopes import scope

from apps.assessments import services
from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestPoint
from apps.assessments.selectors import baseline_test
from apps.audit.models import Action, Event
from apps.patients.models import RedFlagScreen, ReviewOutcome, ScreenResult
from tests import factories

# Foot-pounds, as the lumbar machine captures them.
LUMBAR_POINTS = [(72, 100), (60, 120), (48, 110), (36, 130), (24, 140), (12, 135), (0, 125)]
ODI_16_OF_50 = [2, 2, 2, 2, 2, 2, 1, 1, 1, 1]
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


def rows() -> tuple[int, int, int, int]:
    return (
        StrengthTest.objects.count(),
        StrengthTestPoint.objects.count(),
        QuestionnaireResponse.objects.count(),
        Event.objects.count(),
    )


@pytest.fixture
def nothing_written(db):
    """Assert the test writes no test, point, response or event (request it after the rows it needs)."""
    before = rows()
    yield
    assert rows() == before


def the_only_event() -> Event:
    (event,) = Event.objects.all()
    return event


@pytest.fixture
def lumbar_machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, kind="lumbar_extension")


@pytest.fixture
def cervical_machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, kind="cervical_extension")


@pytest.fixture
def front_desk_a(clinic_a):
    return factories.StaffFactory(username="front_desk_a", clinic=clinic_a, role="front_desk")


@pytest.fixture
def member_of_a_and_c(clinic_a, clinic_c):
    user = factories.StaffFactory(username="two_orgs", clinic=clinic_a)
    factories.MembershipFactory(user=user, clinic=clinic_c)
    return user


@pytest.fixture
def deleted_patient(patient_a, clinic_admin_a):
    patient_a.deleted_at, patient_a.deleted_by = timezone.now(), clinic_admin_a
    patient_a.save()
    return patient_a


@pytest.fixture
def referred_screen(patient_a, clinician_a):
    return RedFlagScreen.objects.create(
        patient=patient_a,
        clinic=patient_a.clinic,
        region="lumbar",
        answers={"major_trauma": True},
        result=ScreenResult.REFER,
        screened_by=clinician_a,
        screened_at=timezone.now() - timedelta(days=1),
    )


@pytest.fixture
def record_test(clinician_a, patient_a, lumbar_machine):
    def record(**overrides):
        given = {
            "actor": clinician_a,
            "patient": patient_a,
            "machine": lumbar_machine,
            "performed_at": timezone.now() - timedelta(hours=1),
            "rom_min_deg": 0,
            "rom_max_deg": 72,
            "points": LUMBAR_POINTS,
        }
        return services.strength_test_record(**{**given, **overrides})

    return record


@pytest.fixture
def record_response(clinician_a, patient_a):
    def record(**overrides):
        given = {
            "actor": clinician_a,
            "patient": patient_a,
            "instrument": "odi",
            "answers": ODI_16_OF_50,
            "completed_at": timezone.now() - timedelta(minutes=10),
        }
        return services.questionnaire_record(**{**given, **overrides})

    return record


# --- strength_test_record: what is stored ---------------------------------------------------------


def test_a_test_keeps_the_points_as_captured_and_in_newton_metres(record_test, clinician_a, patient_a, clinic_a):
    test = record_test(points=[(72, 100), (60, 120), (48, 110)], pain_before=3, pain_after=4)

    test.refresh_from_db()
    assert (test.patient, test.clinic, test.recorded_by, test.region) == (patient_a, clinic_a, clinician_a, "lumbar")
    assert (test.rom_min_deg, test.rom_max_deg, test.pain_before, test.pain_after) == (0, 72, 3, 4)
    assert [(p.angle_deg, p.torque, p.unit, p.torque_nm) for p in test.points.all()] == [
        (72, D("100.00"), "ft_lbf", D("135.58")),
        (60, D("120.00"), "ft_lbf", D("162.70")),
        (48, D("110.00"), "ft_lbf", D("149.14")),
    ]


def test_the_peak_and_strength_index_are_computed_in_newton_metres(record_test):
    test = record_test(points=[(72, 100), (60, 120), (48, 110)])

    test.refresh_from_db()
    assert test.peak_torque_nm == D("162.70")
    # (149.14 + 162.70) / 2 x 12 + (162.70 + 135.58) / 2 x 12 = 1871.04 + 1789.68
    assert test.strength_index_nm_deg == D("3660.7")


@pytest.mark.parametrize(
    ("machine", "unit", "torque", "captured", "in_nm"),
    [
        ("lumbar_machine", None, 100, D("100.00"), D("135.58")),  # 100 x 1.355818
        ("cervical_machine", None, 300, D("300.00"), D("33.90")),  # 300 x 0.1129848 = 33.89544
        ("lumbar_machine", "N_m", "135.5", D("135.50"), D("135.50")),
        # Rounded half up as stored, then converted from what is stored (100.01 x 1.355818 = 135.595),
        # so torque_nm always follows from torque; the raw input would give 135.589 → 135.59.
        ("lumbar_machine", "ft_lbf", "100.005", D("100.01"), D("135.60")),
        ("cervical_machine", "ft_lbf", 10, D("10.00"), D("13.56")),  # a unit other than the machine's own
    ],
)
def test_torque_is_normalised_to_newton_metres(request, record_test, machine, unit, torque, captured, in_nm):
    machine = request.getfixturevalue(machine)
    expected_unit = unit or machine.load_unit

    test = record_test(machine=machine, rom_max_deg=machine.rom_max_deg, points=[(72, torque)], unit=unit)

    (point,) = test.points.all()
    assert (point.torque, point.unit, point.torque_nm) == (captured, expected_unit, in_nm)
    assert test.peak_torque_nm == in_nm


def test_the_region_follows_the_machine(record_test, cervical_machine):
    test = record_test(machine=cervical_machine, rom_max_deg=126, points=[(126, 200), (108, 250)])

    assert test.region == "cervical"


def test_a_partial_range_of_motion_with_fewer_angles_is_accepted(record_test):
    test = record_test(rom_min_deg=24, rom_max_deg=60, points=[(60, 120), (48, 110), (36, 130), (24, 140)])

    test.refresh_from_db()
    assert (test.rom_min_deg, test.rom_max_deg) == (24, 60)
    assert [point.angle_deg for point in test.points.all()] == [60, 48, 36, 24]


def test_the_first_test_in_a_region_is_familiarisation_and_the_next_the_baseline(
    record_test, patient_a, cervical_machine
):
    first = record_test(performed_at=timezone.now() - timedelta(days=14))
    second = record_test(performed_at=timezone.now() - timedelta(days=7))
    third = record_test()
    first_neck = record_test(machine=cervical_machine, rom_max_deg=126, points=[(126, 200)])

    assert [t.is_familiarization for t in (first, second, third, first_neck)] == [True, False, False, True]
    assert baseline_test(patient=patient_a, region="lumbar") == second


def test_another_patients_tests_do_not_make_a_first_test_a_retest(record_test, clinic_a):
    factories.StrengthTestFactory(patient=factories.PatientFactory(clinic=clinic_a))

    assert record_test().is_familiarization


def test_a_test_writes_one_create_event(record_test, clinician_a, patient_a):
    test = record_test()

    event = the_only_event()
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        Action.CREATE,
        clinician_a,
        "assessments.strengthtest",
        str(test.pk),
    )
    assert (event.patient_id, event.clinic_id, event.organization_id) == (
        patient_a.pk,
        patient_a.clinic_id,
        patient_a.organization_id,
    )


def test_a_test_is_recorded_at_the_machines_clinic(record_test, clinician_a, clinic_b):
    factories.MembershipFactory(user=clinician_a, clinic=clinic_b, role="physical_therapist")
    machine_at_b = factories.MachineFactory(clinic=clinic_b)

    assert record_test(machine=machine_at_b).clinic == clinic_b


@pytest.mark.parametrize(("minutes_ahead", "accepted"), [(4, True), (6, False)])
def test_a_test_time_may_run_ahead_of_the_server_by_five_minutes_only(record_test, minutes_ahead, accepted):
    performed_at = timezone.now() + timedelta(minutes=minutes_ahead)

    if accepted:
        assert record_test(performed_at=performed_at).performed_at == performed_at
    else:
        with pytest.raises(ValidationError) as refused:
            record_test(performed_at=performed_at)
        assert refused.value.message_dict == {"performed_at": ["This is in the future."]}


def test_a_test_and_a_response_are_recorded_inside_the_scope_a_request_runs_in(record_test, record_response, clinic_a):
    with scope(clinic=[clinic_a.pk]):
        test, response = record_test(), record_response()

    assert (test.is_familiarization, response.score) == (True, D("32.0"))


# --- strength_test_record: what is refused --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        pytest.param(
            {"rom_min_deg": 12, "rom_max_deg": 60, "points": [(72, 100), (60, 120)]},
            {"points": ["72°: outside the range of motion reached (12-60°)."]},
            id="angle-outside-the-rom-reached",
        ),
        pytest.param(
            {"points": [(60, 100), (60, 110)]},
            {"points": ["60°: recorded more than once."]},
            id="duplicate-angle",
        ),
        pytest.param(
            {"points": [(60, 601)]},
            {"points": ["60°: torque 601 ft·lbf is above the plausible maximum of 600 ft·lbf."]},
            id="torque-above-the-cap",
        ),
        pytest.param(
            {"points": [(60, "813.5")], "unit": "N_m"},
            {"points": ["60°: torque 813.5 N·m is above the plausible maximum of 813.4908 N·m."]},
            id="torque-above-the-cap-in-the-unit-given",
        ),
        pytest.param(
            {"points": [(50, 100)]},
            {"points": ["50°: not one of this machine's test angles (72, 60, 48, 36, 24, 12, 0)."]},
            id="not-a-standard-angle",
        ),
        pytest.param(
            {"points": [(60, -1)]},
            {"points": ["60°: torque -1 ft·lbf is negative."]},
            id="negative-torque",
        ),
        pytest.param(
            {"points": []},
            {"points": ["No points: record the torque at one angle at least."]},
            id="no-points",
        ),
        pytest.param(
            {"points": [(60, "lots")]},
            {"points": ["Point 1: angle and torque must be numbers."]},
            id="torque-not-a-number",
        ),
        pytest.param(
            {"points": [(60,)]},
            {"points": ["Give the points as (angle in degrees, torque) pairs."]},
            id="not-a-pair",
        ),
        pytest.param(
            {"points": [(60, 100), (60, 100), (50, 700)]},
            {
                "points": [
                    "60°: recorded more than once.",
                    "50°: not one of this machine's test angles (72, 60, 48, 36, 24, 12, 0).",
                    "50°: torque 700 ft·lbf is above the plausible maximum of 600 ft·lbf.",
                ]
            },
            id="every-problem-at-once",
        ),
        pytest.param(
            {"unit": "kg"},
            {"unit": ["Unknown torque unit 'kg': use ft_lbf, in_lbf, N_m."]},
            id="unknown-unit",
        ),
        pytest.param(
            {"rom_max_deg": 84},
            {"rom_max_deg": ["84° is outside the machine's range of motion (0-72°)."]},
            id="rom-beyond-the-machine",
        ),
        pytest.param(
            {"rom_min_deg": 36, "rom_max_deg": 36, "points": [(36, 100)]},
            {"rom_max_deg": ["The extension end (36°) must be above the flexion end (36°)."]},
            id="rom-empty",
        ),
        pytest.param(
            {"rom_min_deg": 60, "rom_max_deg": 12, "points": [(36, 100)]},
            {"rom_max_deg": ["The extension end (12°) must be above the flexion end (60°)."]},
            id="rom-reversed",
        ),
        pytest.param(
            {"rom_min_deg": "0", "rom_max_deg": 72.0},
            {"rom_min_deg": ["Give whole degrees."], "rom_max_deg": ["Give whole degrees."]},
            id="rom-not-whole-degrees",
        ),
        pytest.param(
            {"pain_before": 11},
            {"pain_before": ["Pain before must be a whole number from 0 to 10; got 11."]},
            id="pain-before-above-10",
        ),
        pytest.param(
            {"pain_after": -1},
            {"pain_after": ["Pain after must be a whole number from 0 to 10; got -1."]},
            id="pain-after-negative",
        ),
        pytest.param(
            {"performed_at": datetime(2025, 1, 6, 9)},  # naive on purpose
            {"performed_at": ["Give a date and time with its time zone."]},
            id="naive-time",
        ),
        pytest.param(
            {"performed_at": FAR_FUTURE},
            {"performed_at": ["This is in the future."]},
            id="future-time",
        ),
        pytest.param(
            {"performed_at": FAR_FUTURE, "pain_after": 12, "points": [(60, 700)]},
            {
                "performed_at": ["This is in the future."],
                "pain_after": ["Pain after must be a whole number from 0 to 10; got 12."],
                "points": ["60°: torque 700 ft·lbf is above the plausible maximum of 600 ft·lbf."],
            },
            id="every-field-at-once",
        ),
    ],
)
def test_an_invalid_test_is_refused_and_nothing_is_written(record_test, changes, errors, nothing_written):
    with pytest.raises(ValidationError) as refused:
        record_test(**changes)

    assert refused.value.message_dict == errors


def test_a_patient_blocked_by_a_red_flag_cannot_be_tested(referred_screen, record_test, nothing_written):
    with pytest.raises(ValidationError) as refused:
        record_test()

    assert refused.value.message_dict == {
        "patient": ["Testing is blocked until a physician review clears the red-flag screen."]
    }


def test_a_physicians_clearance_lifts_the_block(referred_screen, physician_a, record_test):
    referred_screen.reviewed_by, referred_screen.reviewed_at = physician_a, timezone.now()
    referred_screen.review_outcome = ReviewOutcome.CLEARED
    referred_screen.save()

    assert record_test().pk is not None


def test_a_deleted_patient_cannot_be_tested(deleted_patient, record_test, nothing_written):
    with pytest.raises(ValidationError) as refused:
        record_test(patient=deleted_patient)

    assert refused.value.message_dict == {"patient": ["This patient has been deleted."]}


def test_an_inactive_machine_is_refused(lumbar_machine, record_test, nothing_written):
    lumbar_machine.is_active = False
    lumbar_machine.save()

    with pytest.raises(ValidationError) as refused:
        record_test()

    assert refused.value.message_dict == {"machine": ["This machine is out of service."]}


def test_a_machine_of_another_organization_is_refused(member_of_a_and_c, clinic_c, record_test, nothing_written):
    with pytest.raises(ValidationError) as refused:
        record_test(actor=member_of_a_and_c, machine=factories.MachineFactory(clinic=clinic_c))

    assert refused.value.message_dict == {"machine": ["The machine must be at a clinic of the patient's organization."]}


def test_a_clinic_other_than_the_machines_is_refused(clinician_a, clinic_b, record_test, nothing_written):
    factories.MembershipFactory(user=clinician_a, clinic=clinic_b, role="physical_therapist")

    with pytest.raises(ValidationError) as refused:
        record_test(clinic=clinic_b)

    assert refused.value.message_dict == {"clinic": ["A test is recorded at the clinic where the machine is."]}


def test_a_clinician_of_b_testing_their_patient_on_a_machine_at_a_gets_404(
    clinician_b, patient_b, record_test, nothing_written
):
    with pytest.raises(Http404):
        record_test(actor=clinician_b, patient=patient_b)


def test_a_clinician_of_b_cannot_reach_a_patient_of_a(clinician_b, record_test, nothing_written):
    with pytest.raises(Http404):
        record_test(actor=clinician_b)


@pytest.mark.parametrize("actor", ["front_desk_a", "clinic_admin_a"])
def test_only_a_clinician_may_record_a_test(request, actor, record_test, nothing_written):
    with pytest.raises(PermissionDenied):
        record_test(actor=request.getfixturevalue(actor))


# --- questionnaire_record -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "answers", "stored", "score", "percent", "band", "answered"),
    [
        pytest.param("odi", ODI_16_OF_50, ODI_16_OF_50, D("32.0"), D("32.0"), "moderate", 10, id="odi-16-of-50"),
        pytest.param(
            "odi", [2] * 9 + [None], [2] * 9 + [None], D("40.0"), D("40.0"), "moderate", 9, id="odi-9-answered"
        ),
        pytest.param("ndi", [1, 2] * 5, [1, 2] * 5, D("15.0"), D("30.0"), "moderate", 10, id="ndi-raw-and-percent"),
        pytest.param(
            "ndi",
            [None, 2, 2, 2, 2, 2, 1, 1, 1, 1],
            [None, 2, 2, 2, 2, 2, 1, 1, 1, 1],
            D("15.6"),  # 14 x 10 / 9 = 15.56
            D("31.2"),
            "moderate",
            9,
            id="ndi-9-answered",
        ),
        pytest.param("pain_nrs", 7, [7], D("7"), D("70"), "", 1, id="nrs-as-a-number"),
        pytest.param("pain_nrs", [0], [0], D("0"), D("0"), "", 1, id="nrs-as-a-list"),
    ],
)
def test_a_response_stores_its_answers_score_and_band(
    record_response, instrument, answers, stored, score, percent, band, answered
):
    response = record_response(instrument=instrument, answers=answers)

    response.refresh_from_db()
    assert (response.instrument, response.answers) == (instrument, stored)
    assert (response.score, response.percent, response.band, response.answered) == (score, percent, band, answered)


@pytest.mark.parametrize(
    ("instrument", "answers", "errors"),
    [
        pytest.param(
            "odi",
            [2] * 8 + [None, None],
            {"answers": ["ODI needs at least 9 of 10 sections answered; 8 were."]},
            id="odi-8-answered",
        ),
        pytest.param("odi", [2] * 9, {"answers": ["ODI has 10 sections; got 9 answers."]}, id="odi-9-sections"),
        pytest.param(
            "odi",
            [6] + [2] * 9,
            {"answers": ["ODI section 1 (pain intensity): 6 is not a score 0-5."]},
            id="odi-section-above-5",
        ),
        pytest.param(
            "odi",
            16,
            {"answers": ["Give the ODI answers as ten section scores (0-5, or null)."]},
            id="odi-as-a-number",
        ),
        pytest.param(
            "ndi",
            [None, None] + [1] * 8,
            {"answers": ["NDI needs at least 9 of 10 sections answered; 8 were."]},
            id="ndi-8-answered",
        ),
        pytest.param("pain_nrs", 11, {"answers": ["Pain must be a whole number from 0 to 10; got 11."]}, id="nrs-11"),
        pytest.param(
            "pain_nrs", [11], {"answers": ["Pain must be a whole number from 0 to 10; got 11."]}, id="nrs-[11]"
        ),
        pytest.param(
            "pain_nrs", -1, {"answers": ["Pain must be a whole number from 0 to 10; got -1."]}, id="nrs-negative"
        ),
        pytest.param(
            "pain_nrs", "7", {"answers": ["Pain must be a whole number from 0 to 10; got '7'."]}, id="nrs-text"
        ),
        pytest.param(
            "pain_nrs", 7.5, {"answers": ["Pain must be a whole number from 0 to 10; got 7.5."]}, id="nrs-fraction"
        ),
        pytest.param(
            "pain_nrs",
            [7, 8],
            {"answers": ["Pain must be a whole number from 0 to 10; got [7, 8]."]},
            id="nrs-two-ratings",
        ),
        pytest.param(
            "sf36", [1], {"instrument": ["Unknown instrument 'sf36': use odi, ndi or pain_nrs."]}, id="unknown"
        ),
    ],
)
def test_an_invalid_response_is_refused_and_nothing_is_written(
    record_response, instrument, answers, errors, nothing_written
):
    with pytest.raises(ValidationError) as refused:
        record_response(instrument=instrument, answers=answers)

    assert refused.value.message_dict == errors


@pytest.mark.parametrize(
    ("completed_at", "message"),
    [
        (datetime(2025, 1, 6, 9), "Give a date and time with its time zone."),  # naive on purpose
        (FAR_FUTURE, "This is in the future."),
    ],
)
def test_a_response_needs_an_aware_time_not_in_the_future(record_response, completed_at, message, nothing_written):
    with pytest.raises(ValidationError) as refused:
        record_response(completed_at=completed_at)

    assert refused.value.message_dict == {"completed_at": [message]}


def test_a_response_writes_one_create_event(record_response, clinician_a, patient_a):
    response = record_response()

    event = the_only_event()
    assert (event.action, event.actor, event.object_type, event.object_id, event.patient_id, event.clinic_id) == (
        Action.CREATE,
        clinician_a,
        "assessments.questionnaireresponse",
        str(response.pk),
        patient_a.pk,
        patient_a.clinic_id,
    )


def test_front_desk_may_record_a_response(record_response, front_desk_a, clinic_a):
    response = record_response(actor=front_desk_a)

    assert (response.recorded_by, response.clinic) == (front_desk_a, clinic_a)


def test_a_response_for_a_deleted_patient_is_refused(deleted_patient, record_response, nothing_written):
    with pytest.raises(ValidationError) as refused:
        record_response(patient=deleted_patient)

    assert refused.value.message_dict == {"patient": ["This patient has been deleted."]}


def test_a_response_for_a_patient_of_another_clinic_is_404(clinician_b, record_response, nothing_written):
    with pytest.raises(Http404):
        record_response(actor=clinician_b)


def test_a_response_at_a_clinic_the_actor_cannot_see_is_404(clinic_b, record_response, nothing_written):
    with pytest.raises(Http404):
        record_response(clinic=clinic_b)


def test_a_response_at_a_clinic_of_another_organization_is_refused(
    member_of_a_and_c, clinic_c, record_response, nothing_written
):
    with pytest.raises(ValidationError) as refused:
        record_response(actor=member_of_a_and_c, clinic=clinic_c)

    assert refused.value.message_dict == {"clinic": ["It must be done at a clinic of the patient's organization."]}
