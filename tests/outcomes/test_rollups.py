"""A large network's report, counted ahead: the same figures as counting live, and when it is not used."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from apps.outcomes import rollups, rules, tasks
from apps.outcomes.models import OutcomeCurveRollup, OutcomeRollup, OutcomeRollupState
from apps.outcomes.report import Filters, outcome_report
from tests import factories
from tests.outcomes.fixtures import fact

pytestmark = pytest.mark.django_db
D = Decimal
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
OUTCOMES = (rules.COMPLETED, rules.IN_PROGRESS, rules.DISCHARGED, rules.DROPPED_OUT)


@pytest.fixture(autouse=True)
def _small_networks_count_ahead(settings):
    settings.OUTCOMES_ROLLUP_MIN_PROGRAMS = 20


@pytest.fixture
def network(clinic_a, clinic_b, clinic_c):
    """36 programs at clinics A and B of acme, lumbar and cervical, every outcome; 12 at the other
    organization's clinic C, which acme's readers never count."""
    for index in range(36):
        clinic = clinic_a if index % 3 else clinic_b
        cervical = index % 4 == 0
        fact(
            clinic,
            region="cervical" if cervical else "lumbar",
            prom_instrument="ndi" if cervical else "odi",
            outcome_status=OUTCOMES[index % 4],
            strength_change_pct=D(index * 3 - 20) / 2,
            prom_change=D(index % 9),
            prom_important=index % 9 >= 5,
            nrs_change=D(index % 5),
            nrs_important=index % 5 >= 2,
            adherence_pct=D(40 + index * 2),
            sessions_per_week_done=D(index % 3) + D("0.5"),
            sessions_completed=6 + index,
            curve=((index % 13, D(index) / 4), (24, D(index))),
        )
    for index in range(12):
        fact(clinic_c, strength_change_pct=D(90 + index), prom_change=D(30), prom_important=True)


def _live(user, filters: Filters | None = None):
    with override_settings(OUTCOMES_ROLLUP_MIN_PROGRAMS=10**9):
        return outcome_report(user, filters or Filters(), tz=UTC, now=NOW)


def _same_figures(counted, live):
    assert counted.counted_at is not None
    assert live.counted_at is None
    assert replace(counted, counted_at=None) == live


def test_a_network_counted_ahead_reports_the_figures_a_live_count_gives(org_admin, network, organization):
    assert rollups.refresh_all(now=NOW - timedelta(minutes=3)) == {organization.pk: 36}

    counted = outcome_report(org_admin, Filters(), tz=UTC, now=NOW)

    assert counted.counted_at == NOW - timedelta(minutes=3)
    assert counted.headline.n == 36
    _same_figures(counted, _live(org_admin))
    for region in ("lumbar", "cervical"):
        _same_figures(
            outcome_report(org_admin, Filters(region=region), tz=UTC, now=NOW), _live(org_admin, Filters(region=region))
        )


def test_a_superuser_sums_every_organization_s_rollup(network, organization, other_organization):
    root = factories.UserFactory(is_superuser=True)
    with override_settings(OUTCOMES_ROLLUP_MIN_PROGRAMS=12):
        assert rollups.refresh_all(now=NOW) == {organization.pk: 36, other_organization.pk: 12}
        counted = outcome_report(root, Filters(), tz=UTC, now=NOW)
    assert counted.headline.n == 48
    _same_figures(counted, _live(root))


def test_the_counted_report_reads_the_rollups_in_a_fixed_few_queries(org_admin, network):
    rollups.refresh_all(now=NOW)
    outcome_report(org_admin, Filters(), tz=UTC, now=NOW)  # the reader's roles, read once per user

    with CaptureQueriesContext(connection) as queries:
        report = outcome_report(org_admin, Filters(), tz=UTC, now=NOW)

    assert report.counted_at == NOW
    facts_read = [q["sql"] for q in queries if '"outcomes_outcomefact"' in q["sql"]]
    # The clinics, the rollups' state, their summed rows, the curve's, and the scatter's sample of facts.
    assert len(queries) == 5, "\n".join(q["sql"][:150] for q in queries)
    assert len(facts_read) == 1
    assert "LIMIT 1500" in facts_read[0]


@pytest.mark.parametrize(
    "filters",
    [Filters(status=rules.COMPLETED), Filters(sex="female"), Filters(age_band="50-54"), Filters(period="end")],
    ids=["status", "sex", "age band", "ended programs"],
)
def test_a_narrowed_report_is_counted_live(org_admin, network, filters):
    rollups.refresh_all(now=NOW)

    report = outcome_report(org_admin, filters, tz=UTC, now=NOW)

    assert report.counted_at is None
    assert report == _live(org_admin, filters)


def test_one_clinic_of_several_is_counted_live(org_admin, physician_a, network, clinic_a):
    rollups.refresh_all(now=NOW)

    assert outcome_report(physician_a, Filters(), tz=UTC, now=NOW).counted_at is None
    assert outcome_report(org_admin, Filters(clinic=clinic_a.pk), tz=UTC, now=NOW).counted_at is None


def test_a_rollup_too_old_or_counted_before_a_new_clinic_is_not_used(org_admin, network, organization):
    rollups.refresh_all(now=NOW)
    max_age = timedelta(seconds=django_settings.OUTCOMES_ROLLUP_MAX_AGE)

    assert outcome_report(org_admin, Filters(), tz=UTC, now=NOW + max_age).counted_at == NOW
    assert outcome_report(org_admin, Filters(), tz=UTC, now=NOW + max_age + timedelta(seconds=1)).counted_at is None

    factories.ClinicFactory(organization=organization, name="Clinic D")
    org_admin = type(org_admin).objects.get(pk=org_admin.pk)  # a new request: its roles read afresh
    assert outcome_report(org_admin, Filters(), tz=UTC, now=NOW).counted_at is None
    rollups.refresh_all(now=NOW)
    assert outcome_report(org_admin, Filters(), tz=UTC, now=NOW).counted_at == NOW


def test_programs_recorded_after_the_count_appear_at_the_next_one(org_admin, network, clinic_a):
    rollups.refresh_all(now=NOW)
    fact(clinic_a, strength_change_pct=D(500))

    assert outcome_report(org_admin, Filters(), tz=UTC, now=NOW).headline.n == 36
    rollups.refresh_all(now=NOW + timedelta(minutes=5))
    counted = outcome_report(org_admin, Filters(), tz=UTC, now=NOW + timedelta(minutes=5))
    assert counted.headline.n == 37
    assert counted.headline.strength.q3 == _live(org_admin).headline.strength.q3


def test_an_organization_under_the_threshold_is_not_counted_ahead_and_loses_its_rollup(
    settings, org_admin, network, organization
):
    tasks.refresh_outcome_rollups()
    assert OutcomeRollup.objects.filter(organization=organization).exists()
    assert OutcomeCurveRollup.objects.filter(organization=organization).exists()
    state = OutcomeRollupState.objects.get(organization=organization)
    assert (state.programs, sorted(state.clinic_ids)) == (36, sorted(organization.clinics.values_list("pk", flat=True)))

    settings.OUTCOMES_ROLLUP_MIN_PROGRAMS = 37
    assert tasks.refresh_outcome_rollups() == {}

    assert not OutcomeRollupState.objects.exists()
    assert not OutcomeRollup.objects.exists()
    assert not OutcomeCurveRollup.objects.exists()
    assert outcome_report(org_admin, Filters(), tz=UTC).counted_at is None


def test_the_refresh_runs_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["outcomes-refresh-rollups"]
    assert entry["task"] == "apps.outcomes.tasks.refresh_outcome_rollups"
    assert entry["schedule"] * 3 <= django_settings.OUTCOMES_ROLLUP_MAX_AGE  # two missed refreshes stay in use
