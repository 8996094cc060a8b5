"""The outcomes report: figures by hand, who may read it, the small-group rule, and its query count."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from apps.outcomes import aggregates, rules, stats
from apps.outcomes.report import Filters, outcome_report, report_facts
from tests.outcomes.fixtures import START, fact

pytestmark = pytest.mark.django_db
D = Decimal
STRENGTH = [
    D(v) for v in ("-5.0", "0.0", "4.5", "10.0", "12.5", "18.0", "20.0", "25.5", "30.0", "41.0", "55.0", "80.0")
]


@pytest.fixture
def twelve(clinic_a):
    """Twelve programs at clinic A with known figures: 7 responders of 12, adherence 50-105 %."""
    rows = []
    for index, change in enumerate(STRENGTH):
        rows.append(
            fact(
                clinic_a,
                strength_change_pct=change,
                prom_baseline=D(40),
                prom_latest=D(40 - 2 * index),
                prom_change=D(2 * index),
                prom_important=index >= 5,  # 7 responders
                nrs_change=D(index % 4),
                nrs_important=index % 4 >= 2,
                adherence_pct=D(50 + 5 * index),
                sessions_per_week_done=D("0.5") if index < 3 else D("1.5") if index < 8 else D("2.5"),
                sessions_completed=10 + index,
                curve=((12, change / 2), (24, change)),
            )
        )
    return rows


def test_the_headline_is_the_hand_computed_medians_quartiles_and_wilson_rates(physician_a, twelve):
    report = outcome_report(physician_a, Filters(), tz=UTC)
    head = report.headline

    assert head.n == 12
    # Type 7 quartiles of the 12 strength changes, at positions 2.75, 5.5 and 8.25 of the sorted values:
    # 4.5 + 0.75 x (10 - 4.5), 18 + 0.5 x (20 - 18), 30 + 0.25 x (41 - 30).
    assert head.strength == stats.Summary(12, D("19.0"), D("8.625"), D("32.75"))
    assert head.prom["odi"] == stats.Summary(12, D(11), D("5.5"), D("16.5"))
    assert head.prom["ndi"] == stats.TooFew(0)
    assert head.adherence == stats.Summary(12, D("77.5"), D("63.75"), D("91.25"))
    assert head.responders == stats.rate(7, 12)
    assert head.responders.low == pytest.approx(D("0.3195"), abs=D("0.0001"))
    assert head.responders.high == pytest.approx(D("0.8068"), abs=D("0.0001"))
    assert head.nrs_responders == stats.rate(6, 12)
    assert head.dropout == stats.rate(0, 12)  # every program ended, none dropped out


def test_breakdowns_curve_and_scatter(physician_a, twelve):
    report = outcome_report(physician_a, Filters(), tz=UTC)

    (clinic,) = report.by_clinic
    assert (clinic.n, clinic.responders) == (12, stats.rate(7, 12))
    # Bands of 3, 5 and 4 programs: each too few, and too few together to be read as the total's rest.
    assert [(group.key, group.n, group.shown) for group in report.by_adherence] == [
        (stats.UNDER_1, 3, False),
        (stats.ONE_TO_2, 5, False),
        (stats.TWO_PLUS, 4, False),
    ]
    assert all(isinstance(group.responders, stats.TooFew) for group in report.by_adherence)
    assert [(point.label, point.figure.median) for point in report.curve] == [("12-15", D("9.5")), ("24-27", D("19.0"))]
    assert len(report.scatter) == 12
    assert {(p.strength_change_pct, p.prom_change) for p in report.scatter} == {
        (change, D(2 * index)) for index, change in enumerate(STRENGTH)
    }


def test_nine_programs_show_too_few_everywhere(physician_a, clinic_a):
    for change in range(9):
        fact(clinic_a, strength_change_pct=D(change), prom_change=D(change), prom_important=True)

    report = outcome_report(physician_a, Filters(), tz=UTC)

    head = report.headline
    figures = [
        head.strength,
        head.nrs,
        head.adherence,
        head.sessions,
        head.responders,
        head.dropout,
        *head.prom.values(),
    ]
    assert all(isinstance(figure, stats.TooFew) for figure in figures)
    assert not any(group.shown for group in report.by_clinic + report.by_adherence)
    assert report.scatter == []
    assert report.dropout == []


def test_a_small_clinic_beside_a_shown_total_hides_the_next_smallest_too(org_admin, clinic_a, clinic_b):
    for index in range(12):
        fact(clinic_a, prom_change=D(5), prom_important=index < 6)
    for _ in range(3):
        fact(clinic_b, prom_change=D(20), prom_important=True)

    report = outcome_report(org_admin, Filters(), tz=UTC)

    assert report.headline.responders == stats.rate(9, 15)
    # Clinic B's 3 alone would be the total minus clinic A: so clinic A is hidden as well.
    assert [group.shown for group in report.by_clinic] == [False, False]


def test_dropout_by_week_and_the_dropout_rate_of_ended_programs(physician_a, clinic_a):
    for week in (2, 2, 5):
        fact(clinic_a, outcome_status=rules.DROPPED_OUT, dropout_week=week)
    for _ in range(7):
        fact(clinic_a)
    for _ in range(3):
        fact(clinic_a, outcome_status=rules.IN_PROGRESS)

    report = outcome_report(physician_a, Filters(), tz=UTC)

    assert report.headline.dropout == stats.rate(3, 10)  # of the 10 that ended
    assert [(w.week, w.dropped, w.share) for w in report.dropout] == [(2, 2, D(2) / 13), (5, 1, D(1) / 13)]


def test_filters_narrow_the_facts(physician_a, clinic_a):
    fact(clinic_a, sex="female", age_band="40-44")
    fact(clinic_a, sex="male", age_band="40-44", started_at=START + timedelta(days=40))
    fact(clinic_a, sex="male", age_band="70-74", outcome_status=rules.IN_PROGRESS)

    def count(**filters):
        facts, _ = report_facts(physician_a, Filters(**filters), tz=UTC)
        return facts.count()

    assert count() == 3
    assert count(sex="male") == 2
    assert count(age_band="40-44", sex="male") == 1
    assert count(status=rules.IN_PROGRESS) == 1
    assert count(since=START.date() + timedelta(days=1)) == 1
    assert count(until=START.date()) == 2
    assert count(period="end") == 2  # the running program has no end
    assert count(region="cervical") == 0


def test_bad_filters_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="sex must be one of"):
        Filters(sex="x")
    with pytest.raises(ValueError, match="since must not be after until"):
        Filters(since=date(2026, 2, 1), until=date(2026, 1, 1))


def test_only_admins_and_physicians_read_and_only_their_clinics(
    clinician_a, physician_a, clinic_admin_a, org_admin, outsider, clinic_a, clinic_b, clinic_c
):
    fact(clinic_a)
    fact(clinic_b)
    fact(clinic_c)

    def clinics(user, **filters):
        return sorted(clinic.name for clinic in report_facts(user, Filters(**filters), tz=UTC)[1])

    with pytest.raises(Http404):
        report_facts(clinician_a, Filters(), tz=UTC)  # a therapist, not a reader of the report
    assert clinics(physician_a) == clinics(clinic_admin_a) == [clinic_a.name]
    assert clinics(org_admin) == sorted([clinic_a.name, clinic_b.name])
    with pytest.raises(Http404):
        report_facts(physician_a, Filters(clinic=clinic_b.pk), tz=UTC)
    with pytest.raises(Http404):
        report_facts(org_admin, Filters(clinic=clinic_c.pk), tz=UTC)
    assert report_facts(org_admin, Filters(clinic=clinic_b.pk), tz=UTC)[0].get().clinic == clinic_b


def test_the_report_reads_the_same_number_of_queries_for_12_and_40_programs(physician_a, clinic_a, twelve):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            outcome_report(physician_a, Filters(), tz=UTC)
        return len(captured)

    queries()  # the reader's roles, remembered on the user from here on
    few = queries()
    for index in range(28):
        fact(clinic_a, strength_change_pct=D(index), prom_change=D(index), curve=((12, D(index)),))
    # The clinics, whether a rollup counts them ahead (apps.outcomes.rollups: not here), three over the facts.
    assert few == queries() == 5


def test_the_union_form_other_databases_run_gives_the_grouping_sets_figures(physician_a, twelve):
    facts, _ = report_facts(physician_a, Filters(), tz=UTC)
    inner, params = aggregates._inner_sql(facts)
    results = []
    for vendor in ("postgresql", "sqlite"):
        sql, repeats = aggregates._grouping_sql(inner, vendor)
        with connection.cursor() as cursor:
            cursor.execute(sql, params * repeats)
            results.append(aggregates.Totals(cursor.fetchall()))
    grouping_sets, union = results
    assert grouping_sets.headline() == union.headline()
    assert grouping_sets.group(("band", stats.TWO_PLUS), "") == union.group(("band", stats.TWO_PLUS), "")


def test_the_scatter_samples_evenly_above_its_cap(physician_a, clinic_a, monkeypatch):
    monkeypatch.setattr(aggregates, "SCATTER_MAX", 10)
    for index in range(40):
        fact(clinic_a, strength_change_pct=D(index), prom_change=D(index))

    report = outcome_report(physician_a, Filters(), tz=UTC)

    assert 0 < len(report.scatter) <= 10


@given(st.lists(st.tuples(st.decimals(-100, 500, places=1), st.integers(1, 5)), max_size=30))
def test_quartiles_from_counts_equal_quartiles_of_the_values(pairs):
    values = [value for value, times in pairs for _ in range(times)]
    assert stats.counted_summary(pairs) == stats.summary_or_too_few(values)


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ([], set()),
        ([12, 40], set()),
        ([3, 12, 40], {0, 1}),
        ([3, 8, 40], {0, 1}),  # 11 hidden together: nothing more
        ([0, 12, 40], {0}),  # an empty group reads out nothing
        ([9, 9], {0, 1}),
        ([1, 15, 12], {0, 2}),
    ],
)
def test_hidden_groups(sizes, hidden):
    assert stats.hidden_groups(sizes) == hidden
