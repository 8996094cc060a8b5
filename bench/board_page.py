"""Benchmark: the staff today board of a clinic with 5,000 active programs, against a hand-written baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.board_page [--repeat N]

It reads the dataset `bench.scale` generated (`bench.common.dataset()`): the board clinic's physical
therapist signs in, picks the clinic as the picker does, and opens `/board/`. The page side is the
whole request through Django's test client: session, sign-in, middleware, the tenancy gate, the
board's aggregates and section listings, the audit read events and the template. The baseline does
the same work without Django's request path or ORM, in the same run, as `bench.chart_page` does: it
replays the SQL the page emitted (captured once, verbatim, its transactions included, on its own
psycopg connection), and renders the same template with the same context (rendering it queries nothing:
checked). Both sides read the board at the dataset's anchor (see `_clock_at`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

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

GOAL_MS = 300.0
TEMPLATE = "web/board.html"
PROGRAMS = 'FROM "programs_program"'
FLAGS = 'FROM "programs_flag"'
SCREENS = 'FROM "patients_redflagscreen"'


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    """`timezone.now()` runs on from `moment`.

    The generated programs fall due, overdue and lapse relative to the dataset's anchor; a dataset
    reused days after it was made would otherwise show a board where everyone has lapsed. Only the
    clock moves, for everything that reads `django.utils.timezone.now` (the audit events the page
    writes are stamped with it too: a benchmark database's, not a clinic's).
    """
    from unittest import mock

    from django.utils import timezone

    wall_clock = timezone.now
    offset = moment - wall_clock()

    def shifted() -> datetime:
        return wall_clock() + offset

    with mock.patch.object(timezone, "now", shifted):
        yield


def _signed_in(username: str, clinic_id: int) -> Any:
    """A test client signed in as the therapist, working in the board clinic (chosen in the picker)."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    response = client.post(reverse("web:clinic_picker"), {"clinic": clinic_id}, secure=True)
    if response.status_code != 302:
        raise SystemExit(f"clinic picker -> {response.status_code}: {response.content[:300]!r}")
    return client


def _clinic_programs(url: str, clinic_id: int) -> dict[str, dict[str, int]]:
    """Programs by status in the board clinic and in the whole network: what the plans scale with."""
    import psycopg

    clinic = "SELECT status, count(*) FROM programs_program WHERE clinic_id = %s GROUP BY status"
    network = "SELECT status, count(*) FROM programs_program GROUP BY status"
    with psycopg.connect(url) as conn:
        return {
            "clinic": dict(conn.execute(clinic, [clinic_id]).fetchall()),
            "network": dict(conn.execute(network).fetchall()),
        }


def _hot_statements(statements: list[str]) -> dict[str, str]:
    """The board's reads whose plans are printed, found by what identifies each in the captured SQL."""
    from apps.web.selectors import PROGRAM_SECTIONS

    selects = [s for s in statements if s.startswith("SELECT")]
    found: dict[str, str | None] = {
        "program counts": next((s for s in selects if PROGRAMS in s and "COUNT(" in s), None),
    }
    for key, (_, order, _) in PROGRAM_SECTIONS.items():
        column = f'ORDER BY "programs_program"."{order.lstrip("-")}"'
        found[f"section {key}"] = next((s for s in selects if PROGRAMS in s and column in s), None)
    found["flag counts"] = next((s for s in selects if FLAGS in s and "COUNT(" in s), None)
    found["flag listing"] = next((s for s in selects if FLAGS in s and "ORDER BY" in s), None)
    found["screens awaiting review"] = next((s for s in selects if SCREENS in s and "ORDER BY" in s), None)
    found["audit read events"] = next((s for s in statements if s.startswith('INSERT INTO "audit_event"')), None)
    return {label: statement for label, statement in found.items() if statement is not None}


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__, repeat=dict(type=int, default=30, help="requests each side, interleaved"))
    args = parser.parse_args(argv)
    url = database_url()
    setup_django(url)
    facts = dataset(url)

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    # Production settings serve hashed static names from the manifest, as a deployment would.
    call_command("collectstatic", verbosity=0, interactive=False)
    programs = _clinic_programs(url, facts.board_clinic_id)
    active = programs["clinic"].get("active", 0)
    path = reverse("web:board")

    with _clock_at(facts.anchor):
        client = _signed_in(facts.staff_username, facts.board_clinic_id)

        def page() -> Any:
            response = client.get(path, secure=True)
            if response.status_code != 200:
                raise SystemExit(f"board -> {response.status_code}: {response.content[:300]!r}")
            return response

        page()  # warm: templates compiled, connection open, the gate's caches as a second request finds them
        with CaptureQueriesContext(connection) as captured, templates_recorded():
            response = page()
        statements = [query["sql"] for query in captured.captured_queries]
        context = response.context[0].flatten()  # the board template's own context, before base.html
        baseline = PageBaseline(url, statements, TEMPLATE, context, context["clinic"].tzinfo)
        with CaptureQueriesContext(connection) as rendering:
            baseline.page()
        if len(rendering):
            raise SystemExit(f"the baseline's rendering queried the database {len(rendering)} times")
        figures = interleaved({"page": page, "baseline": baseline.page}, args.repeat)
        plans = {label: explain(baseline.conn, sql) for label, sql in _hot_statements(statements).items()}

    sections = {s.key: {"count": s.count, "rows": len(s.rows)} for s in response.context["sections"]}
    page_stats, base_stats = figures["page"], figures["baseline"]
    met = page_stats["median_ms"] <= GOAL_MS
    results = {
        "patients": facts.patients,
        "board_clinic_id": facts.board_clinic_id,
        "anchor": facts.anchor,
        "active_programs": active,
        "programs_by_status": programs,
        "queries": len(statements),
        "sections": sections,
        "html_bytes": len(response.content),
        "page": page_stats,
        "baseline": base_stats,
        "ratio": ratio(page_stats, base_stats),
        "goal_median_ms": GOAL_MS,
        "table": [
            table_row(f"today board ({active:,} active)", page_stats, base_stats, goal="<= 300 ms median", met=met)
        ],
        "explain": plans,
        "statements": [statement[:160] for statement in statements],
    }
    _print(results, args.repeat)
    print(f"wrote {write_json('board_page', results, args.out)}")
    return 0


def _print(results: dict[str, Any], repeat: int) -> None:
    page, base, times = results["page"], results["baseline"], results["ratio"]
    print(f"\nGET /board/  (the today board; {results['active_programs']:,} active programs in the clinic, ", end="")
    print(f"{results['patients']:,} patients in the dataset; {repeat} requests each side)")
    print(f"{'':34}{'queries':>8}{'median ms':>12}{'p95 ms':>10}{'ratio':>8}")
    print(f"{'page':34}{results['queries']:>8}{page['median_ms']:>12.2f}{page['p95_ms']:>10.2f}")
    print(f"{'  baseline (psycopg + render)':34}{'':>8}{base['median_ms']:>12.2f}{base['p95_ms']:>10.2f}", end="")
    print(f"{times['median']:>7.2f}x")
    sections = results["sections"].items()
    shown = ", ".join(f"{key} {section['count']:,} ({section['rows']} listed)" for key, section in sections)
    print(f"sections: {shown}")
    verdict = "met" if results["table"][0]["met"] else "NOT met"
    print(f"goal: <= {GOAL_MS:.0f} ms median: {page['median_ms']:.1f} ms ({verdict})")
    for label, plan in results["explain"].items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {label}:\n{plan}")


if __name__ == "__main__":
    raise SystemExit(main())
