"""Benchmark: the outcomes report of one clinic and of the whole network, and what the facts cost a session.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench_100k python -m bench.outcomes_report

It reads the dataset `bench.scale` generated, outcome facts included (`outcomes_outcomefact` and its
curve points, one row per program). Two readers: the first clinic's administrator (one clinic) and an
organization administrator of the network (every clinic; made here once, `scale.orgadmin`). For each:

- **selector**: `apps.outcomes.report.outcome_report(user, Filters())`, everything the reader sees;
- **replay**: the SQL the selector emitted (captured once with CaptureQueriesContext), run verbatim
  through psycopg (PERFORMANCE.md's baseline: what the ORM and the Python around it add);
- **raw aggregate**: a hand-written SQL over the same facts computing the same figures
  (count, `percentile_cont` quartiles of the strength, ODI/NDI and NRS changes, adherence and sessions,
  responder counts, per-clinic and per-band responder counts, the curve's quartiles by session bin,
  dropout by week, the scatter sample) — the bar: the selector at most 2x this;
- **raw records**: the headline figures computed from the records (programs, tests and their points,
  questionnaires, sessions) without the facts table: what the facts buy.

A network of at least `OUTCOMES_ROLLUP_MIN_PROGRAMS` programs is counted ahead by beat
(apps.outcomes.rollups): the refresh is run and timed first, as of the anchor, and the network's
report sums the rollups; the same report counted live ("network, counted live", the rollups set aside)
is measured beside it against the same raw aggregate.

And **session recording**: `apps.programs.sessions.session_record` for a program of its own
organization (`outcomes-bench`, made here, invisible to the readers above), with the outcomes
receivers connected (the facts row refreshed in the session's transaction) and disconnected, the two
interleaved: at most 1.2x. `EXPLAIN (ANALYZE, BUFFERS)` of the hot statements is printed and kept.
"""

# The SQL below is composed from this module's constants only; values travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from bench.common import (
    arguments,
    database_url,
    dataset,
    explain,
    interleaved,
    ratio,
    setup_django,
    stats,
    table_row,
    write_json,
)

GOAL = 2.0  # the selector against the raw aggregate over the same facts (issue 17)
GOAL_NETWORK_MS = 500.0  # the network's report, median, at 1M patients
GOAL_WRITE = 1.2  # a session recorded with the facts update against without it
ORG_ADMIN = "scale.orgadmin"
LIVE = "network, counted live"  # the network's report with the rollups set aside: what counting ahead saves
WRITE_ORG = "outcomes-bench"
QUARTILES = "ARRAY[0.25, 0.5, 0.75]"
CURVE_BIN = 4


def q3(column: str, where: str = "") -> str:
    """SQL: the three quartiles of a column (linear interpolation, as the report's), optionally filtered."""
    filtered = f" FILTER (WHERE {where})" if where else ""
    return f"percentile_cont({QUARTILES}) WITHIN GROUP (ORDER BY {column}){filtered}"


RESPONDERS = "count(prom_important) AS prom_known, count(*) FILTER (WHERE prom_important) AS prom_yes"
BAND = (
    "CASE WHEN sessions_per_week_done < 1 THEN 'under_1' WHEN sessions_per_week_done < 2 THEN '1_to_2'"
    " ELSE '2_plus' END"
)
# The raw aggregate over the facts: the same figures as the report, by hand. `%(clinics)s` is the reader's.
RAW_AGGREGATE = {
    "headline": f"""SELECT count(*), {q3("strength_change_pct")}, {q3("prom_change", "prom_instrument = 'odi'")},
        {q3("prom_change", "prom_instrument = 'ndi'")}, {q3("nrs_change")}, {q3("adherence_pct")},
        {q3("sessions_completed")}, {RESPONDERS},
        count(nrs_important) AS nrs_known, count(*) FILTER (WHERE nrs_important) AS nrs_yes,
        count(*) FILTER (WHERE outcome_status <> 'in_progress') AS ended,
        count(*) FILTER (WHERE outcome_status = 'dropped_out') AS dropped,
        count(*) FILTER (WHERE strength_change_pct IS NOT NULL AND prom_change IS NOT NULL) AS paired
        FROM outcomes_outcomefact WHERE clinic_id = ANY(%(clinics)s)""",
    "by clinic": f"""SELECT clinic_id, count(*), {q3("strength_change_pct")}, {RESPONDERS}
        FROM outcomes_outcomefact WHERE clinic_id = ANY(%(clinics)s) GROUP BY clinic_id""",
    "by adherence band": f"""SELECT {BAND} AS band, count(*), {q3("strength_change_pct")}, {RESPONDERS}
        FROM outcomes_outcomefact WHERE clinic_id = ANY(%(clinics)s) GROUP BY 1""",
    "curve": f"""SELECT c.session_number / {CURVE_BIN} AS bin, count(*), {q3("c.change_pct")}
        FROM outcomes_outcomecurvepoint c JOIN outcomes_outcomefact f ON f.program_id = c.program_id
        WHERE f.clinic_id = ANY(%(clinics)s) AND c.change_pct IS NOT NULL GROUP BY 1 ORDER BY 1""",
    "dropout": """SELECT dropout_week, count(*) FROM outcomes_outcomefact
        WHERE clinic_id = ANY(%(clinics)s) AND dropout_week IS NOT NULL GROUP BY 1 ORDER BY 1""",
    "scatter": """SELECT strength_change_pct, prom_change, prom_instrument FROM outcomes_outcomefact
        WHERE clinic_id = ANY(%(clinics)s) AND strength_change_pct IS NOT NULL AND prom_change IS NOT NULL
          AND program_id < %(scatter_below)s ORDER BY program_id LIMIT 1500""",
}

# The headline from the records alone: per program its baseline and latest test's strength index (the
# trapezoids of its points), its first and last ODI/NDI and NRS in the program's window (a month before
# the start to two weeks after the end), its sessions and the prescribed sessions to date.
INDEX_OF = """(SELECT sum((x.torque_nm + x.prev_torque) / 2 * (x.angle_deg - x.prev_angle)) FROM (
    SELECT torque_nm, angle_deg, lag(torque_nm) OVER w AS prev_torque, lag(angle_deg) OVER w AS prev_angle
    FROM assessments_strengthtestpoint WHERE test_id = {test} WINDOW w AS (ORDER BY angle_deg)) x)"""
WINDOW = """q.patient_id = pr.patient_id AND q.completed_at >= pr.started_at - interval '30 days'
    AND (pr.ended_at IS NULL OR q.completed_at <= pr.ended_at + interval '14 days')"""
RAW_RECORDS = f"""
WITH program AS (
    SELECT pr.id, pr.region, pr.status,
        CASE WHEN pr.region = 'lumbar' THEN 'odi' ELSE 'ndi' END AS instrument,
        bi.value AS strength_before, li.value AS strength_after,
        pm.first AS prom_first, CASE WHEN pm.n > 1 THEN pm.last END AS prom_last,
        nrs.first AS nrs_first, CASE WHEN nrs.n > 1 THEN nrs.last END AS nrs_last,
        ss.n AS sessions,
        greatest(1, least(floor(pr.sessions_per_week * extract(epoch FROM CASE
            WHEN pr.ended_at IS NOT NULL THEN pr.ended_at
            WHEN pr.status = 'lapsed' THEN least(pr.lapse_at, %(now)s) ELSE %(now)s END - pr.started_at) / 604800),
            pr.sessions_per_week * pr.planned_weeks)) AS prescribed
    FROM programs_program pr
    JOIN assessments_strengthtest b ON b.id = pr.baseline_test_id
    LEFT JOIN LATERAL (SELECT t.id FROM assessments_strengthtest t
        WHERE t.patient_id = pr.patient_id AND t.region = pr.region AND NOT t.is_familiarization
          AND t.performed_at > b.performed_at
          AND (pr.ended_at IS NULL OR t.performed_at <= pr.ended_at + interval '14 days')
        ORDER BY t.performed_at DESC, t.created_at DESC LIMIT 1) lt ON true
    CROSS JOIN LATERAL (SELECT {INDEX_OF.format(test="b.id")} AS value) bi
    LEFT JOIN LATERAL (SELECT {INDEX_OF.format(test="lt.id")} AS value) li ON lt.id IS NOT NULL
    CROSS JOIN LATERAL (SELECT count(*) AS n, (array_agg(q.score ORDER BY q.completed_at, q.created_at))[1] AS first,
        (array_agg(q.score ORDER BY q.completed_at DESC, q.created_at DESC))[1] AS last
        FROM assessments_questionnaireresponse q WHERE q.instrument = CASE WHEN pr.region = 'lumbar' THEN 'odi'
        ELSE 'ndi' END AND {WINDOW}) pm
    CROSS JOIN LATERAL (SELECT count(*) AS n, (array_agg(q.score ORDER BY q.completed_at, q.created_at))[1] AS first,
        (array_agg(q.score ORDER BY q.completed_at DESC, q.created_at DESC))[1] AS last
        FROM assessments_questionnaireresponse q WHERE q.instrument = 'pain_nrs' AND {WINDOW}) nrs
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM programs_trainingsession s WHERE s.program_id = pr.id) ss
    WHERE pr.clinic_id = ANY(%(clinics)s) AND pr.status <> 'draft' AND pr.started_at IS NOT NULL
)
SELECT count(*),
    {q3("round((strength_after - strength_before) / nullif(strength_before, 0) * 100, 1)")},
    {q3("prom_first - prom_last", "instrument = 'odi'")}, {q3("prom_first - prom_last", "instrument = 'ndi'")},
    {q3("nrs_first - nrs_last")}, {q3("round(sessions * 100.0 / prescribed, 1)")},
    count(prom_last) AS prom_known,
    count(*) FILTER (WHERE CASE WHEN instrument = 'odi' THEN prom_first - prom_last >= 10
        OR (prom_first > 0 AND (prom_first - prom_last) * 100 >= 30 * prom_first)
        ELSE prom_first - prom_last >= 5 END) AS prom_yes
FROM program
"""


# --- The readers ------------------------------------------------------------------------------------


def readers(made: Any) -> dict[str, Any]:
    """The first clinic's administrator and the network's organization administrator (made once)."""
    from django.contrib.auth import get_user_model

    from apps.clinics.models import OrganizationAdmin

    users = get_user_model()
    admin, _ = users.objects.get_or_create(username=ORG_ADMIN)
    OrganizationAdmin.objects.get_or_create(user=admin, organization_id=made.organization_id)
    return {
        "one clinic": (users.objects.get(username="scale.admin.001").pk, [made.clinic_ids[0]]),
        "network": (admin.pk, list(made.clinic_ids)),
        LIVE: (admin.pk, list(made.clinic_ids)),
    }


def refresh_rollups(made: Any) -> dict[str, Any]:
    """What beat does every 5 minutes (apps.outcomes.rollups), timed, as of the dataset's anchor."""
    from apps.outcomes import rollups
    from apps.outcomes.models import OutcomeRollup, OutcomeRollupState

    started = time.perf_counter()
    done = rollups.refresh_all(now=made.anchor)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "programs": done,
        "rows": OutcomeRollup.objects.count(),
        "per_organization_s": list(OutcomeRollupState.objects.values_list("seconds", flat=True)),
    }


def _report_call(anchor: datetime) -> Any:
    """`outcome_report` with everything the reader sees, whatever its keyword for the time (now or tz)."""
    from apps.outcomes.report import Filters, outcome_report

    keywords = inspect.signature(outcome_report).parameters
    extra: dict[str, Any] = {}
    if "now" in keywords:
        extra["now"] = anchor
    if "tz" in keywords:
        extra["tz"] = UTC
    return lambda user: outcome_report(user, Filters(), **extra)


def _fresh(user_id: int) -> Any:
    """The user as a request would have it: no roles cached from an earlier report."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user_id)


def _headline(report: Any) -> dict[str, Any]:
    head = report.headline

    def median(figure: Any) -> Any:
        return getattr(figure, "median", None)

    responders = head.responders
    return {
        "n": head.n,
        "strength_median": median(head.strength),
        "odi_median": median(head.prom.get("odi")),
        "ndi_median": median(head.prom.get("ndi")),
        "nrs_median": median(head.nrs),
        "adherence_median": median(head.adherence),
        "responders": getattr(responders, "successes", None),
        "responders_of": getattr(responders, "n", None),
        "clinics": len(report.by_clinic),
        "curve_bins": len(report.curve),
        "dropout_weeks": len(report.dropout),
        "scatter": len(report.scatter),
    }


def _number(value: Any) -> Any:
    return None if value is None else Decimal(str(value))


def measure_report(url: str, made: Any, name: str, user_id: int, clinics: list[int], repeat: int) -> dict[str, Any]:
    from django.test.utils import override_settings

    if name != LIVE:
        return _measure_report(url, made, name, user_id, clinics, repeat)
    with override_settings(OUTCOMES_ROLLUP_MIN_PROGRAMS=10**9):
        return _measure_report(url, made, name, user_id, clinics, repeat)


def _measure_report(url: str, made: Any, name: str, user_id: int, clinics: list[int], repeat: int) -> dict[str, Any]:
    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    report_of = _report_call(made.anchor)
    with CaptureQueriesContext(connection) as captured:
        report = report_of(_fresh(user_id))
    statements = [query["sql"] for query in captured.captured_queries]
    head = _headline(report)
    conn = psycopg.connect(url, autocommit=True)
    paired = conn.execute(RAW_AGGREGATE["headline"], {"clinics": clinics}).fetchone()[-1]
    top = (1 << 128) - 1
    scatter_below = UUID(int=min(top, (1 << 128) * 1500 // paired)) if paired > 1500 else UUID(int=top)
    params = {"clinics": clinics, "scatter_below": scatter_below}

    def replay() -> None:
        for statement in statements:
            cursor = conn.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()

    def raw() -> list[Any]:
        return [conn.execute(sql, params).fetchall() for sql in RAW_AGGREGATE.values()]

    users = iter([_fresh(user_id) for _ in range(repeat + 1)])
    figures = interleaved({"selector": lambda: report_of(next(users)), "replay": replay, "raw": raw}, repeat)
    raw_rows = raw()
    headline_row = raw_rows[0][0]
    agrees = {
        "n": headline_row[0] == head["n"],
        "strength_median": head["strength_median"] is None
        or abs(_number(headline_row[1][1]) - head["strength_median"]) < Decimal("0.001"),
        "responders": (headline_row[8], headline_row[7]) == (head["responders"], head["responders_of"]),
    }
    # The slowest of the selector's statements, timed once each through psycopg, and its plan.
    timings = []
    for statement in statements:
        started = time.perf_counter()
        cursor = conn.execute(statement)
        if cursor.description is not None:
            cursor.fetchall()
        timings.append((time.perf_counter() - started, statement))
    timings.sort(reverse=True)
    plans = {
        f"selector, slowest statement ({timings[0][0] * 1000:.0f} ms)": explain(conn, timings[0][1]),
        f"selector, second statement ({timings[1][0] * 1000:.0f} ms)": explain(conn, timings[1][1]),
    }
    conn.close()
    return {
        "reader": name,
        "clinics": len(clinics),
        "queries": len(statements),
        "statements": [statement[:2000] for _, statement in timings],
        "statement_ms": [round(seconds * 1000, 1) for seconds, _ in timings],
        "headline": head,
        "counted_ahead": getattr(report, "counted_at", None) is not None,
        "raw_headline": [str(value) for value in headline_row],
        "agrees": agrees,
        "figures": figures,
        "explain": plans,
    }


def measure_records(url: str, made: Any, clinics: list[int], repeat: int) -> dict[str, Any]:
    import psycopg

    params = {"clinics": clinics, "now": made.anchor}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off")  # a one-off analytic statement: JIT compilation would be counted too
        samples: list[float] = []
        row = None
        for _ in range(repeat):
            started = time.perf_counter()
            row = conn.execute(RAW_RECORDS, params).fetchone()
            samples.append(time.perf_counter() - started)
    return {"figures": stats(samples), "headline": [str(value) for value in row]}


# --- Recording a session, with and without the facts ---------------------------------------------------


def _write_cast() -> dict[str, Any]:
    """An organization of its own with a clinic, a lumbar machine and a therapist (made once)."""
    from django.contrib.auth import get_user_model

    from apps.clinics.models import MACHINE_DEFAULTS, Clinic, Machine, Membership, Organization

    organization, _ = Organization.objects.get_or_create(slug=WRITE_ORG, defaults={"name": "Outcomes bench"})
    clinic, _ = Clinic.objects.get_or_create(
        organization=organization,
        name="Outcomes bench clinic",
        defaults={"timezone": "Europe/Zurich", "city": "Bench"},
    )
    machine, _ = Machine.objects.get_or_create(
        clinic=clinic,
        kind="lumbar_extension",
        defaults={
            "name": "Lumbar bench",
            "serial_number": "OUTCOMES-BENCH-1",
            "min_load": 0,
            "max_load": 1000,
            **MACHINE_DEFAULTS["lumbar_extension"],
        },
    )
    therapist, _ = get_user_model().objects.get_or_create(username="outcomes.bench.pt")
    Membership.objects.get_or_create(user=therapist, clinic=clinic, defaults={"role": "physical_therapist"})
    return {"organization": organization, "clinic": clinic, "machine": machine, "therapist": therapist}


class Subject:
    """A patient with a started program, a baseline and a retest, and an ODI, recorded through the services."""

    def __init__(self, cast: dict[str, Any], label: str, start: datetime) -> None:
        from apps.assessments import services as assessments
        from apps.patients.models import Patient
        from apps.programs import services

        self.cast, therapist = cast, cast["therapist"]
        stamp = f"{label}-{time.time_ns()}"
        self.patient = Patient._base_manager.create(
            organization=cast["organization"],
            clinic=cast["clinic"],
            mrn=f"OB-{stamp}"[:32],
            given_name="Bench",
            family_name=label,
            birth_date=datetime(1970, 6, 1).date(),
            sex="female",
            height_cm=170,
            body_mass_kg=70,
            email=f"{stamp}@outcomes-bench.test",
        )
        curve = [(72, 100), (48, 150), (24, 130)]
        for days in (7, 3):  # the first test of a patient is a familiarisation; the second, the baseline
            baseline = assessments.strength_test_record(
                actor=therapist, patient=self.patient, machine=cast["machine"],
                performed_at=start - timedelta(days=days), rom_min_deg=0, rom_max_deg=72, points=curve,
            )  # fmt: skip
        assessments.questionnaire_record(
            actor=therapist, patient=self.patient, instrument="odi", answers=[3] * 10,
            completed_at=start - timedelta(days=1),
        )  # fmt: skip
        program = services.program_create(
            actor=therapist, patient=self.patient, region="lumbar", baseline_test=baseline,
            planned_weeks=12, sessions_per_week=2,
        )  # fmt: skip
        self.program = services.program_start(actor=therapist, program=program, now=start)
        self.at = start

    def session(self) -> None:
        from apps.programs import sessions

        self.at += timedelta(hours=84)
        self.program.refresh_from_db()
        sessions.session_record(
            actor=self.cast["therapist"], program=self.program, machine=self.cast["machine"], performed_at=self.at,
            load=self.program.proposed_load, reps=10, time_under_load_s=90, reached_failure=True,
            pain_before=2, pain_after=2, now=self.at + timedelta(hours=1),
        )  # fmt: skip


def _receivers(connected: bool) -> None:
    from apps.assessments.models import QuestionnaireResponse, StrengthTest
    from apps.assessments.signals import questionnaire_recorded, strength_test_recorded
    from apps.outcomes import receivers
    from apps.programs.models import Program
    from apps.programs.signals import program_saved

    hooks = (
        (program_saved, Program, receivers._program_saved, "outcomes.program_saved"),
        (strength_test_recorded, StrengthTest, receivers._strength_test_recorded, "outcomes.after_test"),
        (
            questionnaire_recorded,
            QuestionnaireResponse,
            receivers._questionnaire_recorded,
            "outcomes.after_questionnaire",
        ),
    )
    for signal, sender, handler, uid in hooks:
        if connected:
            signal.connect(handler, sender=sender, dispatch_uid=uid)
        else:
            signal.disconnect(sender=sender, dispatch_uid=uid)


PER_PROGRAM = 20  # sessions a program takes here (its plan: 24); then a new pair of programs


@contextmanager
def _mode(side: str) -> Iterator[None]:
    """The receivers as a side of the write benchmark has them; connected as the app has them after."""
    if side == "without facts":
        _receivers(False)
    try:
        yield
    finally:
        _receivers(True)


def measure_write(repeat: int) -> dict[str, Any]:
    """`repeat` sessions on each side, interleaved: facts kept (receivers connected) and not."""
    from django_scopes import scopes_disabled

    from apps.outcomes.models import OutcomeFact

    samples: dict[str, list[float]] = {"with facts": [], "without facts": []}
    kept: dict[str, Any] = {}
    with scopes_disabled():
        cast = _write_cast()
        start = datetime.now(UTC) - timedelta(hours=84 * (PER_PROGRAM + 3))
        done = 0
        while done < repeat:
            subjects = {name: Subject(cast, name.split()[0], start) for name in samples}
            for name, subject in subjects.items():  # a warm-up session each, outside the figures
                with _mode(name):
                    subject.session()
            for _ in range(min(PER_PROGRAM - 1, repeat - done)):
                for name, subject in subjects.items():
                    with _mode(name):
                        began = time.perf_counter()
                        subject.session()
                        samples[name].append(time.perf_counter() - began)
                done += 1
            kept = {
                name: OutcomeFact._base_manager.filter(program_id=subject.program.pk)
                .values_list("sessions_completed", flat=True)
                .first()
                for name, subject in subjects.items()
            }
        agrees = _agrees_with_rebuild(subjects["with facts"])
    figures = {name: stats(values) for name, values in samples.items()}
    return {"figures": figures, "facts_sessions": kept, "facts_equal_rebuild": agrees}


def _agrees_with_rebuild(subject: Subject) -> bool:
    """The row the sessions kept equals what a full refresh computes for the program as it stands."""
    from apps.outcomes import facts
    from apps.outcomes.models import OutcomeFact

    subject.program.refresh_from_db()
    values, _ = facts.fact_values(subject.program, subject.patient, subject.at + timedelta(hours=1))
    row = OutcomeFact._base_manager.filter(program_id=subject.program.pk).values().get()
    return all(row[name] == value for name, value in values.items())


# --- The run ---------------------------------------------------------------------------------------------


def _results(
    made: Any, reports: dict[str, dict], records: dict[str, dict], write: dict | None, rollup: dict | None = None
) -> dict[str, Any]:
    table = []
    big = made.patients >= 1_000_000
    for name, measured in reports.items():
        figures = measured["figures"]
        selector, raw, replay = figures["selector"], figures["raw"], figures["replay"]
        times = ratio(selector, raw)
        met = times["median"] <= GOAL
        goal = f"<= {GOAL:.0f}x"
        if name == "network" and big:  # what an organization administrator waits for
            met = met and selector["median_ms"] <= GOAL_NETWORK_MS
            goal += f", <= {GOAL_NETWORK_MS:.0f} ms median"
        shown = "network, counted ahead" if name == "network" and measured.get("counted_ahead") else name
        measured["ratio_to_raw"], measured["ratio_to_replay"] = times, ratio(selector, replay)
        table.append(table_row(f"outcomes report, {shown} (vs raw aggregate)", selector, raw, goal=goal, met=met))
        table.append(table_row(f"outcomes report, {shown} (vs replay)", selector, replay, goal="(reported)", met=True))
        if name in records:
            base = records[name]["figures"]
            records[name]["ratio_facts_to_records"] = ratio(raw, base)
            table.append(table_row(f"outcomes raw records, {name} (vs facts)", base, raw, goal="(reported)", met=True))
    if write is not None:
        kept, plain = write["figures"]["with facts"], write["figures"]["without facts"]
        write["ratio"] = ratio(kept, plain)
        met = write["ratio"]["median"] <= GOAL_WRITE
        table.append(table_row("session record, with facts", kept, plain, goal=f"<= {GOAL_WRITE}x", met=met))
    if rollup is not None:
        once = {"median_ms": rollup["seconds"] * 1000, "p95_ms": rollup["seconds"] * 1000, "n": 1}
        table.append(table_row("outcomes rollup refresh (beat, every 5 min)", once, None, goal="(reported)", met=True))
    explains = {f"{name}: {label}": plan for name, m in reports.items() for label, plan in m["explain"].items()}
    return {
        "patients": made.patients,
        "reports": reports,
        "raw_records": records,
        "session_record": write,
        "rollup_refresh": rollup,
        "table": table,
        "explain": explains,
    }


def _print(results: dict[str, Any]) -> None:
    print(f"\noutcomes report at {results['patients']:,} patients")
    print(f"{'':62}{'median ms':>11}{'p95 ms':>10}{'ratio':>8}")
    for row in results["table"]:
        ratio_text = "-" if row["ratio_median"] is None else f"{row['ratio_median']:.2f}x"
        base = "" if row["baseline_median"] is None else f"  base {row['baseline_median']:.1f} ms"
        print(
            f"{row['label'][:62]:62}{row['median']:>11.1f}{row['p95']:>10.1f}{ratio_text:>8}{base}  "
            f"{row['goal']}: {'met' if row['met'] else 'MISSED'}"
        )
    for name, measured in results["reports"].items():
        print(f"\n{name}: {measured['queries']} queries, statements (ms): {measured['statement_ms']}")
        print(f"  headline {measured['headline']}")
        print(f"  raw aggregate headline {measured['raw_headline'][:3]} …  agrees: {measured['agrees']}")
    for name, measured in results["raw_records"].items():
        print(f"raw records, {name}: headline {measured['headline'][:3]} …")
    if results["rollup_refresh"]:
        print(f"rollup refresh: {results['rollup_refresh']}")
    if results["session_record"]:
        write = results["session_record"]
        print(
            f"session record: facts rows show sessions {write['facts_sessions']}, equal to a rebuild: "
            f"{write['facts_equal_rebuild']}"
        )
    for label, plan in results["explain"].items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) {label}\n{plan}")


def main(argv: list[str] | None = None) -> int:
    parser = arguments(
        __doc__,
        repeat=dict(type=int, default=None, help="report runs each side, interleaved (default 15; 7 at 1M)"),
        records_repeat=dict(
            type=int, default=None, help="runs of the raw-records SQL (default 5; at 1M 3, and 1 for the network)"
        ),
        write_repeat=dict(type=int, default=30, help="sessions recorded each side"),
    )
    args = parser.parse_args(argv)
    url = database_url()
    setup_django(url)
    made = dataset(url)
    from django_scopes import scopes_disabled

    with scopes_disabled():
        chosen = readers(made)
        rollup = refresh_rollups(made)
    big = made.patients >= 1_000_000  # a network report takes seconds there: fewer rounds
    repeat = args.repeat or (7 if big else 15)
    reports = {
        name: measure_report(url, made, name, user_id, clinics, repeat) for name, (user_id, clinics) in chosen.items()
    }
    records = {}
    for name, (_, clinics) in chosen.items():
        if name == LIVE:  # the same facts as the network's
            continue
        runs = args.records_repeat or ((1 if name == "network" else 3) if big else 5)
        records[name] = measure_records(url, made, clinics, runs)
    write = measure_write(args.write_repeat) if args.write_repeat > 0 else None
    results = _results(made, reports, records, write, rollup)
    _print(results)
    print(f"wrote {write_json('outcomes_report', results, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
