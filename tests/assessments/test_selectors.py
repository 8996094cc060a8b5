from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django_scopes import scope

from apps.assessments import selectors
from tests import factories

START = datetime(2025, 3, 3, 9, tzinfo=UTC)
LUMBAR = "lumbar"


def day(number: int) -> datetime:
    return START + timedelta(days=number)


@pytest.fixture
def lumbar_machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, kind="lumbar_extension")


@pytest.fixture
def cervical_machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, kind="cervical_extension")


@pytest.fixture
def a_test(patient_a, lumbar_machine):
    def make(on_day: int, **fields):
        return factories.StrengthTestFactory(
            patient=patient_a, machine=lumbar_machine, performed_at=day(on_day), **fields
        )

    return make


@pytest.fixture
def course(a_test):
    """Familiarisation, baseline a week later, retest at week 6: created out of order on purpose."""
    retest = a_test(42)
    familiarisation = a_test(0, is_familiarization=True)
    baseline = a_test(7)
    return familiarisation, baseline, retest


@pytest.fixture
def a_response(patient_a):
    def make(on_day: int, instrument: str = "odi", answers=None, patient=patient_a):
        extra = {} if answers is None else {"answers": answers}
        return factories.QuestionnaireResponseFactory(
            patient=patient, instrument=instrument, completed_at=day(on_day), **extra
        )

    return make


# --- strength tests -------------------------------------------------------------------------------


def test_the_baseline_is_the_first_test_after_familiarisation(patient_a, course):
    _, baseline, _ = course

    assert selectors.baseline_test(patient=patient_a, region=LUMBAR) == baseline


def test_the_latest_test_is_the_most_recent(patient_a, course):
    _, _, retest = course

    assert selectors.latest_test(patient=patient_a, region=LUMBAR) == retest


def test_a_familiarisation_alone_is_the_latest_test_but_no_baseline(patient_a, a_test):
    familiarisation = a_test(0, is_familiarization=True)

    assert selectors.baseline_test(patient=patient_a, region=LUMBAR) is None
    assert selectors.latest_test(patient=patient_a, region=LUMBAR) == familiarisation


def test_a_patient_without_tests_has_no_baseline_latest_or_progress(patient_a):
    assert selectors.baseline_test(patient=patient_a, region=LUMBAR) is None
    assert selectors.latest_test(patient=patient_a, region=LUMBAR) is None
    assert selectors.strength_progress(patient=patient_a, region=LUMBAR) is None


def test_tests_of_another_region_or_patient_do_not_count(patient_a, patient_b, cervical_machine, a_test):
    factories.StrengthTestFactory(patient=patient_a, machine=cervical_machine, performed_at=day(1))
    factories.StrengthTestFactory(patient=patient_b, performed_at=day(2))

    assert selectors.baseline_test(patient=patient_a, region=LUMBAR) is None
    assert selectors.latest_test(patient=patient_a, region=LUMBAR) is None
    assert list(selectors.tests_since(patient=patient_a, region=LUMBAR, since=day(0))) == []


def test_tests_since_includes_the_moment_itself_newest_first(patient_a, course):
    _, baseline, retest = course

    assert list(selectors.tests_since(patient=patient_a, region=LUMBAR, since=day(7))) == [retest, baseline]


def test_the_baseline_comes_with_its_points(patient_a, course, django_assert_num_queries):
    with django_assert_num_queries(2):
        baseline = selectors.baseline_test(patient=patient_a, region=LUMBAR)
        assert len(baseline.curve()) == 7


def test_strength_progress_needs_a_retest_after_the_baseline(patient_a, a_test):
    a_test(0, is_familiarization=True)
    a_test(7)

    assert selectors.strength_progress(patient=patient_a, region=LUMBAR) is None


def test_strength_progress_compares_the_retest_with_the_baseline_over_shared_angles_only(patient_a, a_test):
    a_test(0, is_familiarization=True, curve=((72, 900), (60, 900), (48, 900)))  # never compared
    # The default curve: 72:150 60:190 48:220 36:240 24:250 12:240 0:230 N·m.
    a_test(7)
    a_test(42, curve=((60, 209), (48, 242), (36, 264), (24, 275)))  # partial ROM, each +10 %

    progress = selectors.strength_progress(patient=patient_a, region=LUMBAR)

    assert [(a.angle_deg, a.before, a.after, a.change_pct) for a in progress.angles] == [
        (24, D(250), D(275), D("10.0")),
        (36, D(240), D(264), D("10.0")),
        (48, D(220), D(242), D("10.0")),
        (60, D(190), D(209), D("10.0")),
    ]
    # Over 24-60° only: (245 + 230 + 205) x 12 before, (269.5 + 253 + 225.5) x 12 after.
    assert (progress.index_before, progress.index_after, progress.index_change_pct) == (
        D(8160),
        D(8976),
        D("10.0"),
    )


def test_strength_progress_reads_two_tests_and_their_points_in_three_queries(
    patient_a, course, django_assert_num_queries
):
    with django_assert_num_queries(3):
        progress = selectors.strength_progress(patient=patient_a, region=LUMBAR)

    assert len(progress.angles) == 7


# --- questionnaires -------------------------------------------------------------------------------


def test_baseline_and_latest_responses_go_by_completion_time(patient_a, a_response):
    latest = a_response(28)
    baseline = a_response(0)
    a_response(14)
    a_response(42, instrument="ndi")

    assert selectors.baseline_response(patient=patient_a, instrument="odi") == baseline
    assert selectors.latest_response(patient=patient_a, instrument="odi") == latest


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "change", "criteria"),
    [
        pytest.param("odi", [2] * 10, [2] * 5 + [1] * 5, D("10.0"), ("points",), id="odi-40-to-30-exactly-10"),
        pytest.param("odi", [2] * 10, [2] * 6 + [1] * 4, D("8.0"), (), id="odi-40-to-32"),
        pytest.param("odi", [1] * 10, [1] * 7 + [0] * 3, D("6.0"), ("percent",), id="odi-20-to-14-is-30-pct"),
        pytest.param("ndi", [2] * 10, [2] * 5 + [1] * 5, D("5.0"), ("points",), id="ndi-20-to-15"),
        pytest.param("ndi", [2] * 10, [2] * 6 + [1] * 4, D("4.0"), (), id="ndi-20-to-16"),
        pytest.param("pain_nrs", [6], [4], D(2), ("points", "percent"), id="nrs-6-to-4"),
        pytest.param("pain_nrs", [8], [7], D(1), (), id="nrs-8-to-7"),
    ],
)
def test_score_progress_flags_a_clinically_important_improvement(
    patient_a, a_response, instrument, baseline, latest, change, criteria
):
    a_response(28, instrument=instrument, answers=latest)
    a_response(0, instrument=instrument, answers=baseline)

    progress = selectors.score_progress(patient=patient_a, instrument=instrument)

    assert (progress.change, progress.criteria, progress.important) == (change, criteria, bool(criteria))


def test_score_progress_needs_two_responses(patient_a, a_response):
    assert selectors.score_progress(patient=patient_a, instrument="odi") is None

    a_response(0)

    assert selectors.score_progress(patient=patient_a, instrument="odi") is None


def test_last_response_at_is_the_latest_of_the_instruments_asked_for(patient_a, patient_b, a_response):
    a_response(0, instrument="odi")
    a_response(14, instrument="ndi")
    a_response(20, instrument="pain_nrs", answers=[3])
    a_response(30, instrument="odi", patient=patient_b)

    assert selectors.last_response_at(patient=patient_a, instrument_in={"odi", "ndi"}) == day(14)
    assert selectors.last_response_at(patient=patient_a, instrument_in=["pain_nrs"]) == day(20)
    assert selectors.last_response_at(patient=patient_b, instrument_in=["ndi"]) is None


def test_the_scope_of_another_clinic_hides_the_patients_assessments(patient_a, clinic_b, course, a_response):
    a_response(0)

    with scope(clinic=[clinic_b.pk]):
        assert selectors.latest_test(patient=patient_a, region=LUMBAR) is None
        assert selectors.strength_progress(patient=patient_a, region=LUMBAR) is None
        assert selectors.last_response_at(patient=patient_a, instrument_in=["odi"]) is None


def test_the_patients_own_clinic_scope_shows_them(patient_a, clinic_a, course, a_response):
    a_response(0)

    with scope(clinic=[clinic_a.pk]):
        assert selectors.strength_progress(patient=patient_a, region=LUMBAR) is not None
        assert selectors.last_response_at(patient=patient_a, instrument_in=["odi"]) == day(0)
