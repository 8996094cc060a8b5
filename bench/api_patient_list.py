"""Benchmark: GET /api/v1/patients/?page_size=100 against a hand-written psycopg baseline, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench_100k python -m bench.api_patient_list

It reads the dataset bench.scale generated in that database: a partner of the network, granted its
first clinic (10,000 patients), walks the patient list.

The API side is the whole request through Django's test client (middleware, Bearer token,
tenancy gate, throttle, cursor pagination, one audit read event per row, DRF serializer, JSON).
The baseline does the same data work by hand on its own psycopg connection: the page SELECT the
view emitted (captured verbatim once per page), the view's one INSERT of the page's audit rows, the same
dicts built by hand, and orjson.dumps. Figures are per page.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.common import arguments, database_url, dataset, explain, ratio, setup_django, stats, table_row, write_json

GOAL = 3.0  # PERFORMANCE.md: the API page within 3x its baseline
PAGE_SIZE = 100
FIELDS = (
    "id, organization_id, clinic_id, mrn, given_name, family_name, birth_date, sex, height_cm, body_mass_kg, "
    "email, phone, preferred_language, email_reminder_consent, deceased_on, created_at, updated_at"
)


def _drf_datetime(value: Any) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _row_dict(row: tuple) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "organization": row[1],
        "clinic": row[2],
        "mrn": row[3],
        "given_name": row[4],
        "family_name": row[5],
        "birth_date": row[6].isoformat(),
        "sex": row[7],
        "height_cm": row[8],
        "body_mass_kg": None if row[9] is None else str(row[9]),
        "email": row[10],
        "phone": row[11],
        "preferred_language": row[12],
        "email_reminder_consent": row[13],
        "deceased_on": None if row[14] is None else row[14].isoformat(),
        "created_at": _drf_datetime(row[15]),
        "updated_at": _drf_datetime(row[16]),
    }


AUDIT_INSERT = (
    "INSERT INTO audit_event (occurred_at, action, actor_id, actor_label, object_type, channel, request_id, "
    "ip_address, organization_id, clinic_id, patient_id, object_id) "
    "SELECT now(), 'read', NULL, %s, 'patients.patient', 'api', %s, %s, v.* "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::uuid[], %s::varchar(64)[]) AS v"
)


class Baseline:
    """The page's work by hand: SELECT, audit INSERT, dicts, JSON."""

    def __init__(self, url: str, actor_label: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SET TIME ZONE 'UTC'")
        self.actor_label = actor_label

    def page(self, select_sql: str, next_url: str | None, previous_url: str | None) -> bytes:
        # The output's columns first, in order (any joined columns the view fetched follow them).
        rows = self.conn.execute(select_sql).fetchall()[:PAGE_SIZE]
        dicts = [_row_dict(row) for row in rows]
        if dicts:
            # The statement the view sends: the page's ids as four arrays.
            columns = [[d["organization"] for d in dicts], [d["clinic"] for d in dicts], [row[0] for row in rows]]
            params = [self.actor_label, uuid.uuid4().hex, "127.0.0.1", *columns, [d["id"] for d in dicts]]
            self.conn.execute(AUDIT_INSERT, params)
        return orjson.dumps({"next": next_url, "previous": previous_url, "results": dicts})


def _page_select(captured: list[dict[str, str]]) -> tuple[str, str]:
    """The page SELECT among a request's queries: rewritten to the output's fields in order, and verbatim."""
    selects = [q["sql"] for q in captured if q["sql"].startswith("SELECT") and 'FROM "patients_patient"' in q["sql"]]
    if len(selects) != 1:
        raise SystemExit(f"expected one page SELECT on patients_patient, found {len(selects)}")
    original = selects[0]
    _columns, sep, rest = original.partition(' FROM "patients_patient"')
    columns = ", ".join(f'"patients_patient"."{c.strip()}"' for c in FIELDS.split(","))
    # The baseline fetches what the view fetches: a joined clinic too, if the view joins it.
    joined = ', "clinics_clinic".*' if 'JOIN "clinics_clinic"' in rest else ""
    return f"SELECT {columns}{joined}{sep}{rest}", original


def main(argv: list[str] | None = None) -> int:
    parser = arguments(
        __doc__,
        repeat=dict(type=int, default=30, help="walks of --pages pages, each side"),
        pages=dict(type=int, default=5, help="pages per walk (following `next`)"),
        profile=dict(action="store_true", help="also profile 20 API pages with cProfile"),
    )
    args = parser.parse_args(argv)

    url = database_url()
    made = dataset(url)
    setup_django(url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from apps.audit.events import SYSTEM
    from apps.clinics.models import Clinic
    from apps.partners.models import Partner
    from apps.partners.services import partner_token_issue

    with scopes_disabled():
        partner, _ = Partner.objects.get_or_create(
            organization_id=made.organization_id, name="Bench EHR", defaults={"contact_email": "it@bench.test"}
        )
        partner.clinics.set([Clinic.objects.get(pk=made.board_clinic_id)])
    _token, plaintext = partner_token_issue(
        actor=SYSTEM, partner=partner, name="bench", scope="read", expires_at=timezone.now() + timedelta(hours=1)
    )
    actor_label = f"partner:{partner.name}"
    client = Client(HTTP_HOST="localhost")
    headers = {"Authorization": f"Bearer {plaintext}"}
    first = f"/api/v1/patients/?page_size={PAGE_SIZE}"

    def get(path: str) -> Any:
        response = client.get(path, headers=headers, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} -> {response.status_code}: {response.content[:300]!r}")
        return response

    # One walk with the queries captured: each page's SELECT (verbatim), its links, the query count.
    pages: list[dict[str, Any]] = []
    path = first
    for _ in range(args.pages):
        with CaptureQueriesContext(connection) as captured:
            response = get(path)
        body = response.json()
        select, original = _page_select(captured.captured_queries)
        pages.append(
            {"path": path, "select": select, "original": original, "next": body["next"], "previous": body["previous"]}
        )
        pages[-1]["queries"] = len(captured.captured_queries)
        pages[-1]["query_list"] = [q["sql"][:110] for q in captured.captured_queries]
        pages[-1]["results"] = body["results"]
        path = urlsplit(body["next"])
        path = f"{path.path}?{path.query}"

    baseline = Baseline(url, actor_label)
    # The baseline must return the rows the API returned, as the same JSON values.
    for page in pages:
        produced = json.loads(baseline.page(page["select"], page["next"], page["previous"]))
        if produced["results"] != page["results"]:
            diff = (
                next((a, b) for a, b in zip(produced["results"], page["results"], strict=False) if a != b)
                if len(produced["results"]) == len(page["results"])
                else ("length", len(produced["results"]))
            )
            raise SystemExit(f"baseline rows differ from the API's: {diff}")
    print(f"baseline checked: {len(pages)} pages return the API's rows; {pages[0]['queries']} queries per API page:")
    for query in pages[1]["query_list"]:
        print(f"  {query}")

    api_times: list[float] = []
    base_times: list[float] = []
    clock = time.perf_counter
    for _ in range(args.repeat):
        # Interleaved walks: the noise of the machine falls on both sides alike.
        for page in pages:
            start = clock()
            response = get(page["path"])
            api_times.append(clock() - start)
        for page in pages:
            start = clock()
            baseline.page(page["select"], page["next"], page["previous"])
            base_times.append(clock() - start)

    api, base = stats(api_times), stats(base_times)
    page_ratio = ratio(api, base)

    middle = pages[len(pages) // 2]["original"]
    plan = explain(baseline.conn, middle)

    print()
    print(f"GET {first}  ({made.patients} patients in the network, {args.repeat} walks x {args.pages} pages)")
    print(f"{'':28}{'median ms':>12}{'p95 ms':>12}{'samples':>10}")
    print(f"{'API (Django test client)':28}{api['median_ms']:>12.2f}{api['p95_ms']:>12.2f}{api['n']:>10}")
    print(f"{'baseline (psycopg + json)':28}{base['median_ms']:>12.2f}{base['p95_ms']:>12.2f}{base['n']:>10}")
    print(f"{'ratio':28}{page_ratio['median']:>11.2f}x{page_ratio['p95']:>11.2f}x   goal <= {GOAL:.0f}x")
    print()
    print("EXPLAIN (ANALYZE, BUFFERS) of a page SELECT as the view emits it:")
    print(plan)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(4):
            for page in pages:
                get(page["path"])
        profiler.disable()
        out = io.StringIO()
        order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(
            int(os.environ.get("BENCH_PROFILE_LINES", "45"))
        )
        print(out.getvalue())

    label = f"API patient list ({PAGE_SIZE} a page)"
    path = write_json(
        "api_patient_list",
        {
            "endpoint": first,
            "patients": made.patients,
            "repeat": args.repeat,
            "pages_per_walk": args.pages,
            "queries_per_api_page": pages[0]["queries"],
            "api_page_queries": pages[1]["query_list"],
            "api": api,
            "baseline": base,
            "baseline_json": "orjson",
            "ratio": page_ratio,
            "goal_ratio": GOAL,
            "table": [table_row(label, api, base, goal=f"<= {GOAL:.0f}x", met=page_ratio["median"] <= GOAL)],
            "explain": {"page SELECT": plan},
            "page_select": middle,
        },
        args.out,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
