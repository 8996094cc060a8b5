"""The outcome facts of the scale dataset (bench/scale.py) and the outcomes benchmark (bench/outcomes_report.py).

A tiny network (200 patients, two clinics) is generated in the test database: its facts, made in SQL
from the numbers the records were made of, must be what `apps.outcomes.facts` computes from the
records; and the benchmark's every side runs on it, once or twice, and agrees with the report.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from apps.outcomes import facts
from apps.outcomes.models import OutcomeCurvePoint, OutcomeFact
from apps.programs.models import Program
from bench import outcomes_report, scale
from bench.common import DATASET_TABLE

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database, as the benchmark's own psycopg connections name it."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def network():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL")
    made = scale.generate(200, seed=7, per_clinic=100, log=lambda line: None)
    yield made
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {DATASET_TABLE}")


def _same(stored: object, computed: object) -> bool:
    if isinstance(computed, Decimal) and stored is not None:
        return Decimal(stored) == computed.quantize(Decimal(stored))  # the column's own decimal places
    return stored == computed


def test_every_program_has_the_facts_a_rebuild_would_compute(network):
    assert network.version == scale.VERSION
    assert network.counts["outcomes_outcomefact"] == network.counts["programs_program"]
    # A curve point per retest: every test but the programs' baselines (one patient per program's region).
    assert network.counts["outcomes_outcomecurvepoint"] == (
        network.counts["assessments_strengthtest"] - network.counts["programs_program"]
    )
    differing = []
    with scopes_disabled():
        programs = list(Program._base_manager.select_related("patient").order_by("pk"))
        stored = {row["program_id"]: row for row in OutcomeFact._base_manager.values()}
        curves: dict[object, list] = {}
        for point in OutcomeCurvePoint.objects.order_by("session_number").values_list(
            "program_id", "session_number", "change_pct"
        ):
            curves.setdefault(point[0], []).append((point[1], point[2]))
        for program in programs:
            values, curve = facts.fact_values(program, program.patient, network.anchor)
            row = stored[program.pk]
            wrong = {name: (row[name], value) for name, value in values.items() if not _same(row[name], value)}
            if curves.get(program.pk, []) != [(point.session_number, point.change_pct) for point in curve]:
                wrong["curve"] = (curves.get(program.pk), curve)
            if wrong:
                differing.append((program.pk, wrong))
    assert differing == []
    # The dataset has every outcome the report shows: responders and not, dropouts by week, a curve.
    rows = OutcomeFact._base_manager
    assert set(rows.values_list("outcome_status", flat=True)) == {"in_progress", "completed", "dropped_out"}
    assert rows.filter(prom_important=True).exists()
    assert rows.filter(prom_important=False).exists()
    assert rows.filter(nrs_important=True).exists()
    assert rows.filter(dropout_week__isnull=False).exists()
    assert set(OutcomeCurvePoint.objects.values_list("session_number", flat=True)) >= {11, 12, 23, 24}


def test_the_benchmark_runs_end_to_end_and_its_sides_agree(network, settings):
    url = database_url()
    settings.OUTCOMES_ROLLUP_MIN_PROGRAMS = 100  # the tiny network is counted ahead, as a large one is
    with scopes_disabled():
        chosen = outcomes_report.readers(network)
        rollup = outcomes_report.refresh_rollups(network)
    assert len(chosen["network"][1]) == 2
    assert rollup["programs"] == {network.organization_id: network.counts["programs_program"]}
    reports = {
        name: outcomes_report.measure_report(url, network, name, user_id, clinics, repeat=1)
        for name, (user_id, clinics) in chosen.items()
    }
    for measured in reports.values():
        assert measured["agrees"] == {"n": True, "strength_median": True, "responders": True}
        assert measured["figures"]["selector"]["n"] == 1
        assert "Execution Time" in next(iter(measured["explain"].values()))
    assert reports["network"]["headline"]["n"] == network.counts["programs_program"]
    assert reports["network"]["counted_ahead"]
    assert not reports[outcomes_report.LIVE]["counted_ahead"]
    assert reports[outcomes_report.LIVE]["headline"] == reports["network"]["headline"]
    records = {
        name: outcomes_report.measure_records(url, network, clinics, repeat=1)
        for name, (_, clinics) in chosen.items()
        if name != outcomes_report.LIVE
    }
    # The records alone give the facts' headline: the same n and responders.
    raw = reports["network"]["raw_headline"]
    assert records["network"]["headline"][0] == raw[0]
    assert records["network"]["headline"][-2:] == raw[7:9]
    write = outcomes_report.measure_write(2)
    assert {figures["n"] for figures in write["figures"].values()} == {2}
    # The facts followed the sessions recorded with the receivers connected, not the others (warm-up included),
    # and what they kept is what a full refresh computes.
    assert write["facts_sessions"] == {"with facts": 3, "without facts": 0}
    assert write["facts_equal_rebuild"]
    results = outcomes_report._results(network, reports, records, write, rollup)
    labels = [row["label"] for row in results["table"]]
    assert labels[-2:] == ["session record, with facts", "outcomes rollup refresh (beat, every 5 min)"]
    assert "outcomes report, network, counted ahead (vs raw aggregate)" in labels
    assert "outcomes report, network, counted live (vs raw aggregate)" in labels
    assert len(labels) == 10
    outcomes_report._print(results)  # the table prints, a row without a baseline included
