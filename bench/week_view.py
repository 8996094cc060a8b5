"""Benchmark: a clinic's week by machine (10 machines, 4 weeks booked), the selector and the staff page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.week_view [--repeat N]

It reads the dataset `bench.scale` generated and books its clinics for the run (`bench.appointments`;
removed after it). The week is the anchor's, from its Monday, in the first clinic.

- **Selector**: `scheduling.selectors.clinic_days(clinic, first_day=monday, days=7, with_programs=False)`
  (as the week page reads it) inside the tenancy scope the middleware sets: the calendar, the machines,
  the week's appointments with their patient, and the grid of every slot by machine. Baseline: two
  hand-written statements
  on psycopg (the calendar and machines; the week's appointments with the patient's name, the program's
  region and the supervisor's name: what the page shows), and the same grid built from tuples;
  checked to place the same appointments.
- **Page**: `GET /clinics/<id>/week/?start=<monday>` by the clinic's physical therapist, signed in,
  through Django's test client, read at the anchor. Baseline (PERFORMANCE.md, a staff page, as
  `bench.board_page`): the page's SQL replayed verbatim on psycopg and the same template rendered with
  the same context. Measured once the page's URL (`web:clinic-week`) exists; until then, said so.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import appointments
from bench.common import (
    PageBaseline,
    arguments,
    database_url,
    dataset,
    explain,
    interleaved,
    ratio,
    setup_django,
    table_row,
    templates_recorded,
    write_json,
)
from bench.slot_finder import WEEKDAYS_DEFAULT, _starts

GOAL = 3.0  # issue 16: within 3x the raw-SQL baseline
GOAL_MS = 300.0  # and the week page within 300 ms median
SELECTOR = "week view, selector (10 machines)"
PAGE = "week view, page (10 machines)"

CALENDAR = """
SELECT c.timezone, coalesce(cal.slot_minutes, 30),
    (SELECT array_agg(array[o.weekday::text, o.opens_at::text, o.closes_at::text] ORDER BY o.weekday, o.opens_at)
     FROM scheduling_openinghours o WHERE o.calendar_id = cal.id),
    (SELECT array_agg(d.date) FROM scheduling_closure d
     WHERE d.calendar_id = cal.id AND d.date BETWEEN %(first)s AND %(last)s),
    (SELECT array_agg(array[m.id::text, m.kind, m.name] ORDER BY m.kind, m.name, m.id)
     FROM clinics_machine m WHERE m.clinic_id = c.id AND m.is_active)
FROM clinics_clinic c LEFT JOIN scheduling_cliniccalendar cal ON cal.clinic_id = c.id
WHERE c.id = %(clinic)s
"""
# The week's rows by the clinic's day index; each name by its primary key (LIMIT 1 keeps the lateral a
# probe per row: joined, the planner hashes every patient and program of the network).
WEEK = """
SELECT a.id, a.machine_id, a.starts_at, a.ends_at, a.state, a.patient_id, pa.given_name, pa.family_name,
    a.program_id, p.region, u.username
FROM scheduling_appointment a
CROSS JOIN LATERAL (SELECT given_name, family_name FROM patients_patient WHERE id = a.patient_id LIMIT 1) pa
CROSS JOIN LATERAL (SELECT region FROM programs_program WHERE id = a.program_id LIMIT 1) p
LEFT JOIN auth_user u ON u.id = a.supervisor_id
WHERE a.clinic_id = %(clinic)s AND a.starts_at < %(end)s AND a.ends_at > %(start)s
ORDER BY a.starts_at
"""
LIVE = frozenset({"booked", "checked_in"})


def raw_week(conn: Any, clinic_id: int, first: date, days: int = 7) -> list[tuple[date, list[Any], list[Any]]]:
    """The baseline: per day, (day, [(start, end, [(machine id, appointment row or None), …]), …], others)."""
    last = first + timedelta(days=days - 1)
    zone, minutes, opening, closed, machines = conn.execute(
        CALENDAR, {"clinic": clinic_id, "first": first, "last": last}
    ).fetchone()
    tz = ZoneInfo(zone)
    bounds = _bounds(clinic_id, first, tz, days)
    start, end = bounds["start"], bounds["end"]
    rows = conn.execute(WEEK, bounds).fetchall()
    live = {(row[1], row[2]): row for row in rows if row[4] in LIVE}
    ids = [int(machine[0]) for machine in machines or []]
    length, placed = timedelta(minutes=minutes), set()
    grid: dict[date, list[Any]] = {}
    for slot in _starts(tz, opening or WEEKDAYS_DEFAULT, set(closed or []), minutes, start, end):
        cells = [(machine, live.get((machine, slot))) for machine in ids]
        placed.update(cell[1][0] for cell in cells if cell[1] is not None)
        grid.setdefault(slot.astimezone(tz).date(), []).append((slot, slot + length, cells))
    others: dict[date, list[Any]] = {}
    for row in rows:
        if row[0] not in placed:
            others.setdefault(row[2].astimezone(tz).date(), []).append(row)
    return [(day, grid.get(day, []), others.get(day, [])) for day in (first + timedelta(days=n) for n in range(days))]


def _bounds(clinic_id: int, first: date, tz: ZoneInfo, days: int = 7) -> dict[str, Any]:
    """The statement's parameters: the clinic, and its days' first and last instants."""
    start = datetime.combine(first, datetime.min.time(), tz)
    return {
        "clinic": clinic_id,
        "start": start,
        "end": datetime.combine(first + timedelta(days=days), start.time(), tz),
    }


def _placed(days: list[Any]) -> tuple[set[tuple], set[Any]]:
    """What either side shows: (machine, start, appointment id) per cell, and the ids beside the grid."""
    cells, others = set(), set()
    for day in days:
        if isinstance(day, tuple):
            _, rows, beside = day
            cells |= {(m, s, a[0] if a else None) for s, _, row in rows for m, a in row}
            others |= {row[0] for row in beside}
        else:
            cells |= {(c.machine.pk, c.start, c.appointment.pk if c.appointment else None)
                      for _, _, row in day.rows for c in row}  # fmt: skip
            others |= {a.pk for a in day.others}
    return cells, others


def monday_of(anchor: datetime, tz: ZoneInfo) -> date:
    today = anchor.astimezone(tz).date()
    return today - timedelta(days=today.weekday())


def measure_selector(url: str, clinic_id: int, first: date, repeat: int) -> dict[str, Any]:
    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope

    from apps.clinics.models import Clinic
    from apps.scheduling.selectors import clinic_days

    clinic = Clinic.objects.get(pk=clinic_id)
    conn = psycopg.connect(url, autocommit=True)
    with scope(clinic=[clinic_id]):  # as the middleware sets it for the clinic's staff

        def selector() -> Any:
            return clinic_days(clinic, first_day=first, days=7, with_programs=False)  # as the week page reads it

        with CaptureQueriesContext(connection) as captured:
            _, days = selector()
        raw = raw_week(conn, clinic_id, first)
        if _placed(days) != _placed(raw):
            raise SystemExit("the baseline's week places other appointments than the selector's")
        figures = interleaved({"selector": selector, "baseline": lambda: raw_week(conn, clinic_id, first)}, repeat)
    statements = [query["sql"] for query in captured.captured_queries]
    week = next(s for s in statements if 'FROM "scheduling_appointment"' in s)
    cells, others = _placed(days)
    return {
        "queries": len(statements),
        "appointments": sum(cell[2] is not None for cell in cells) + len(others),
        "cells": len(cells),
        "figures": figures,
        "explain": {
            "week's appointments (ORM)": explain(conn, week),
            "week's appointments (baseline)": explain(conn, WEEK, _bounds(clinic_id, first, clinic.tzinfo)),
        },
    }


def measure_page(url: str, facts: Any, clinic_id: int, first: date, repeat: int) -> dict[str, Any] | None:
    """The page and its PageBaseline, or None while the page's URL does not exist."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from bench.board_page import _clock_at, _signed_in

    try:
        path = f"{reverse('web:clinic-week', args=[clinic_id])}?start={first.isoformat()}"
    except NoReverseMatch:
        return None
    call_command("collectstatic", verbosity=0, interactive=False)
    with _clock_at(facts.anchor):
        client = _signed_in(facts.staff_username, clinic_id)

        def page() -> Any:
            response = client.get(path, secure=True)
            if response.status_code != 200:
                raise SystemExit(f"week page -> {response.status_code}: {response.content[:300]!r}")
            return response

        page()  # warm: templates compiled, connection open
        with CaptureQueriesContext(connection) as captured, templates_recorded():
            response = page()
        statements = [query["sql"] for query in captured.captured_queries]
        context = response.context[0].flatten()  # the week template's own context, before base.html
        baseline = PageBaseline(url, statements, response.templates[0].name, context, context["clinic"].tzinfo)
        with CaptureQueriesContext(connection) as rendering:
            baseline.page()
        if len(rendering):
            raise SystemExit(f"the baseline's rendering queried the database {len(rendering)} times")
        figures = interleaved({"page": page, "baseline": baseline.page}, repeat)
    return {"path": path, "queries": len(statements), "html_bytes": len(response.content), "figures": figures}


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__, repeat=dict(type=int, default=30, help="runs each side, interleaved"))
    args = parser.parse_args(argv)
    url = database_url()
    setup_django(url)
    facts = dataset(url)
    seeded = appointments.seed(facts.clinic_ids, facts.anchor)
    first = monday_of(facts.anchor, ZoneInfo(_zone(seeded.clinic_id)))
    try:
        selector = measure_selector(url, seeded.clinic_id, first, args.repeat)
        page = measure_page(url, facts, seeded.clinic_id, first, args.repeat)
    finally:
        appointments.clear(facts.clinic_ids)
    results = _results(facts, seeded, first, selector, page)
    _print(results, args.repeat)
    print(f"wrote {write_json('week_view', results, args.out)}")
    return 0


def _zone(clinic_id: int) -> str:
    from apps.clinics.models import Clinic

    return Clinic.objects.get(pk=clinic_id).timezone


def _results(facts: Any, seeded: Any, first: date, selector: dict, page: dict | None) -> dict[str, Any]:
    chosen, base = selector["figures"]["selector"], selector["figures"]["baseline"]
    times = ratio(chosen, base)
    table = [table_row(SELECTOR, chosen, base, goal=f"<= {GOAL:.0f}x", met=times["median"] <= GOAL)]
    if page is not None:
        shown, replay = page["figures"]["page"], page["figures"]["baseline"]
        page["ratio"] = ratio(shown, replay)
        met = page["ratio"]["median"] <= GOAL and shown["median_ms"] <= GOAL_MS
        table.append(table_row(PAGE, shown, replay, goal=f"<= {GOAL:.0f}x, <= {GOAL_MS:.0f} ms median", met=met))
    return {
        "patients": facts.patients,
        "clinic_id": seeded.clinic_id,
        "machines": seeded.machines,
        "appointments_in_network": seeded.rows,
        "seed_seconds": seeded.seconds,
        "week_from": first,
        "selector": {**selector, "ratio": times},
        "page": page if page is not None else "not measured: the URL web:clinic-week does not exist yet",
        "goal_ratio": GOAL,
        "goal_median_ms": GOAL_MS,
        "table": table,
        "explain": selector["explain"],
    }


def _print(results: dict[str, Any], repeat: int) -> None:
    selector, page = results["selector"], results["page"]
    print(f"\nthe week from {results['week_from']}: {results['machines']} machines, ", end="")
    print(f"{selector['appointments']:,} appointments, {selector['cells']:,} cells; {repeat} runs each side")
    print(f"{'':34}{'queries':>8}{'median ms':>12}{'p95 ms':>10}{'ratio':>8}")
    rows = [("clinic_days (selector)", selector["queries"], selector["figures"]["selector"], None)]
    rows.append(("  baseline (2 statements + grid)", 2, selector["figures"]["baseline"], selector["ratio"]))
    if isinstance(page, dict):
        rows.append((f"page ({page['html_bytes'] // 1024} KB)", page["queries"], page["figures"]["page"], None))
        rows.append(("  baseline (psycopg + render)", "", page["figures"]["baseline"], page["ratio"]))
    for label, queries, figures, times in rows:
        shown = "" if times is None else f"{times['median']:>7.2f}x"
        print(f"{label:34}{queries:>8}{figures['median_ms']:>12.2f}{figures['p95_ms']:>10.2f}{shown}")
    if not isinstance(page, dict):
        print(f"page: {page}")
    for line in results["table"]:
        print(f"goal {line['label']}: {line['goal']}: {'met' if line['met'] else 'NOT met'}")
    for label, plan in results["explain"].items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {label}:\n{plan}")


if __name__ == "__main__":
    raise SystemExit(main())
