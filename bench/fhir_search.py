"""Benchmark: the FHIR Observation search a partner EHR syncs with, against a hand-written baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.fhir_search [--repeat N]

It reads the dataset `bench.scale` generated (`bench.common.dataset()`). A partner holding a read token
granted the board clinic runs two searches, a page of 50 each, newest first:

- `Observation?patient=<id>&_count=50`: the partner's normal sync of one patient, the one of the board
  clinic with the longest history (most strength tests and questionnaires); the headline row.
- `Observation?_count=50`: the clinic-wide feed, every Observation of the clinic's patients.

The view side is the whole request through Django's test client: middleware, Bearer token, tenancy gate,
one COUNT and one page per source (strength tests with their points, questionnaire scores), the read
audit events, the `fhir.resources` models and their JSON. The baseline does the same data work by hand on
its own psycopg connection, in the same run: every SELECT the view emitted (captured once, verbatim), an
INSERT of the page's audit events of the same shape as the view's, the same Bundle built as plain dicts
from the rows, and `orjson.dumps`. Its JSON is checked once against the view's, byte for byte: the Bundle
carries no per-request value (no id, no meta, and its links follow from the query and the rows).
"""

# The baseline's SQL is the view's own, captured verbatim; its one INSERT is built from constants.
# ruff: noqa: S608

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from apps.assessments.bands import BAND_LABELS  # plain data: the labels a person and a FHIR display read
from bench.common import (
    arguments,
    database_url,
    dataset,
    explain,
    interleaved,
    ratio,
    setup_django,
    table_row,
    write_json,
)

COUNT = 50
GOAL_RATIO = 3.0
HOST = "localhost"
BASE_URL = f"https://{HOST}/fhir/R4"
PARTNER = "Bench FHIR sync"
TESTS, POINTS = '"assessments_strengthtest"', '"assessments_strengthtestpoint"'
RESPONSES, PATIENTS = '"assessments_questionnaireresponse"', '"patients_patient"'
TOKENS = '"partners_partnertoken"'
AUDIT_COLUMNS = (
    "occurred_at, action, actor_id, actor_label, organization_id, clinic_id, patient_id, object_type, "
    "object_id, channel, request_id, ip_address, seq, hash"
)
# One row of the view's bulk INSERT: the constant columns inline, as Django's compiler leaves them.
AUDIT_VALUES = "(%s, 'read', NULL, %s, %s, %s, %s, %s, %s, 'fhir', %s, '127.0.0.1'::inet, NULL, DEFAULT)"
LONG_HISTORY = """
SELECT p.id,
       (SELECT count(*) FROM assessments_strengthtest t WHERE t.patient_id = p.id),
       (SELECT count(*) FROM assessments_questionnaireresponse q WHERE q.patient_id = p.id)
FROM patients_patient p
WHERE p.clinic_id = %s AND p.deleted_at IS NULL
ORDER BY 2 + 3 DESC, p.id
LIMIT 1
"""
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SCAN = re.compile(r"(?:Seq|Index|Index Only|Bitmap Heap) Scan .*actual time=\S+ rows=(\d+) loops=(\d+)")


# --- The view's statements ------------------------------------------------------------------------------


def _columns(select: str) -> dict[str, int]:
    """{"table.column": position} of a SELECT's output, first occurrence: how the baseline reads its rows."""
    listed = select.partition(" FROM ")[0]
    positions: dict[str, int] = {}
    for index, (table, column) in enumerate(re.findall(r'"(\w+)"\."(\w+)"', listed)):
        positions.setdefault(f"{table}.{column}", index)
    return positions


@dataclass(frozen=True)
class SourceSql:
    """One source of the search as the view read it: its COUNT, its page, the page's points (tests only)."""

    table: str  # quoted, as in the SQL
    count: str
    page: str
    points: str | None


@dataclass(frozen=True)
class SearchSql:
    """Every SELECT of one search request, sorted by role; `statements` is the whole request, in order."""

    path: str
    statements: list[str]
    token: str
    patient: str | None
    sources: list[SourceSql]

    @classmethod
    def of(cls, path: str, statements: list[str]) -> SearchSql:
        selects = [s for s in statements if s.startswith("SELECT")]

        def one(test: Callable[[str], bool], what: str) -> str:
            found = [s for s in selects if test(s)]
            if len(found) != 1:
                raise SystemExit(f"{path}: expected one {what} SELECT, found {len(found)}")
            return found[0]

        def points() -> str | None:
            # Django skips the prefetch when the page holds no test.
            found = [s for s in selects if f" FROM {POINTS} " in s]
            return one(lambda s: f" FROM {POINTS} " in s, "points") if found else None

        def source(table: str, with_points: bool) -> SourceSql:
            return SourceSql(
                table=table,
                count=one(lambda s: s.startswith(f'SELECT COUNT(*) AS "__count" FROM {table}'), f"{table} count"),
                page=one(lambda s: f" FROM {table} " in s and "COUNT(*)" not in s, f"{table} page"),
                points=points() if with_points else None,
            )

        if len(selects) + sum(s.startswith(("BEGIN", "INSERT", "COMMIT")) for s in statements) != len(statements):
            raise SystemExit(f"{path}: a statement the baseline does not replay: {[s[:120] for s in statements]}")
        return cls(
            path=path,
            statements=statements,
            token=one(lambda s: f" FROM {TOKENS} " in s, "token"),
            patient=one(lambda s: f" FROM {PATIENTS} " in s, "patient") if "patient=" in path else None,
            sources=[source(TESTS, True), source(RESPONSES, False)],
        )

    def hot(self) -> dict[str, str]:
        """The statements whose plans are printed: the gate, each COUNT and page, the points, the audit INSERT."""
        found = {"patient gate": self.patient} if self.patient else {}
        for source in self.sources:
            name = source.table.strip('"').split("_", 1)[1]
            found[f"{name} count"], found[f"{name} page"] = source.count, source.page
            if source.points:
                found[f"{name} points"] = source.points
        found["audit INSERT"] = next(s for s in self.statements if s.startswith('INSERT INTO "audit_event"'))
        return found


# --- The baseline ---------------------------------------------------------------------------------------


def _number(value: Decimal) -> float:
    # fhir.resources writes a Decimal with decimal places as a float; numeric columns always have them.
    return float(value)


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def _concept(system: str, code: str, display: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text}


def _torque(code: str, display: str) -> dict[str, Any]:
    return _concept("https://spinezone.example/fhir/CodeSystem/isometric-torque", code, display, display)


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": CATEGORY, "code": code, "display": display}]}]


SCORE_CODES = {  # instrument: (LOINC code, display, text, unit or None for valueInteger)
    "odi": ("97909-6", "Oswestry disability index score ODI", "Oswestry Disability Index (%)", "%"),
    "ndi": ("82237-9", "Total score [NDI]", "Neck Disability Index (0-50)", "{score}"),
    "pain_nrs": ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "Pain NRS (0-10)", None),
}


class Source:
    """A table the baseline reads: its rows by position, and a row (with its points) as an Observation dict."""

    object_type = ""  # app_label.model, as the audit trail names it
    table = ""
    order_column = ""  # the column the view orders the source by, newest first

    def __init__(self, sql: SourceSql) -> None:
        self.sql = sql
        self.at = _columns(sql.page)
        self.order = self.at[f"{self.table}.{self.order_column}"]
        self.id = self.at[f"{self.table}.id"]

    def audit_row(self, row: tuple) -> tuple[Any, ...]:
        at = self.at
        return (
            row[at["patients_patient.organization_id"]],
            row[at["patients_patient.clinic_id"]],
            row[at[f"{self.table}.patient_id"]],
            self.object_type,
            str(row[self.id]),
        )

    def points(self, conn: Any) -> dict[uuid.UUID, list[tuple]]:
        return {}

    def resource(self, row: tuple, points: dict[uuid.UUID, list[tuple]]) -> dict[str, Any]:
        raise NotImplementedError


class StrengthTests(Source):
    object_type, table, order_column = "assessments.strengthtest", "assessments_strengthtest", "performed_at"

    def points(self, conn: Any) -> dict[uuid.UUID, list[tuple]]:
        if self.sql.points is None:
            return {}
        rows = conn.execute(self.sql.points).fetchall()
        at = _columns(self.sql.points)
        test, angle, torque = (at[f"assessments_strengthtestpoint.{c}"] for c in ("test_id", "angle_deg", "torque_nm"))
        grouped: dict[uuid.UUID, list[tuple]] = {}
        for point in rows:  # already in each test's order, highest angle first
            grouped.setdefault(point[test], []).append((point[angle], point[torque]))
        return grouped

    def resource(self, row: tuple, points: dict[uuid.UUID, list[tuple]]) -> dict[str, Any]:
        at, table = self.at, self.table
        region = row[at[f"{table}.region"]]
        components = [
            {
                "code": _torque(
                    f"{region}-extension-torque-{angle}", f"Isometric {region} extension torque at {angle} degrees"
                ),
                "valueQuantity": _quantity(_number(torque), "N.m"),
            }
            for angle, torque in points.get(row[self.id], ())
        ]
        degrees = (row[at[f"{table}.rom_min_deg"]], row[at[f"{table}.rom_max_deg"]])
        components += [
            {
                "code": _torque(f"{region}-extension-peak-torque", f"Peak isometric {region} extension torque"),
                "valueQuantity": _quantity(_number(row[at[f"{table}.peak_torque_nm"]]), "N.m"),
            },
            {
                "code": _torque(
                    f"{region}-extension-strength-index",
                    f"Isometric {region} extension strength index (area under curve)",
                ),
                "valueQuantity": _quantity(_number(row[at[f"{table}.strength_index_nm_deg"]]), "N.m.deg"),
            },
            {
                "code": _torque(
                    f"{region}-extension-range-of-motion", f"{region.capitalize()} range of motion reached"
                ),
                "valueRange": {"low": _quantity(degrees[0], "deg"), "high": _quantity(degrees[1], "deg")},
            },
            {
                "code": _torque("isometric-test-familiarization", "Familiarisation test (not a baseline)"),
                "valueBoolean": row[at[f"{table}.is_familiarization"]],
            },
        ]
        title = f"Isometric {region} extension strength test"
        return {
            "resourceType": "Observation",
            "id": str(row[self.id]),
            "meta": {"lastUpdated": row[at[f"{table}.updated_at"]]},
            "status": "final",
            "category": _category("exam", "Exam"),
            "code": _torque(f"{region}-extension-isometric-test", title),
            "subject": {"reference": f"Patient/{row[at[f'{table}.patient_id']]}"},
            "effectiveDateTime": row[self.order],
            "issued": row[at[f"{table}.created_at"]],
            "component": components,
        }


class Scores(Source):
    object_type = "assessments.questionnaireresponse"
    table, order_column = "assessments_questionnaireresponse", "completed_at"

    def resource(self, row: tuple, points: dict[uuid.UUID, list[tuple]]) -> dict[str, Any]:
        at, table = self.at, self.table
        code, display, text, unit = SCORE_CODES[row[at[f"{table}.instrument"]]]
        score = row[at[f"{table}.score"]]
        value = {"valueQuantity": _quantity(_number(score), unit)} if unit else {"valueInteger": int(score)}
        observation = {
            "resourceType": "Observation",
            "id": str(row[self.id]),
            "meta": {"lastUpdated": row[at[f"{table}.updated_at"]]},
            "status": "final",
            "category": _category("survey", "Survey"),
            "code": _concept("http://loinc.org", code, display, text),
            "subject": {"reference": f"Patient/{row[at[f'{table}.patient_id']]}"},
            "effectiveDateTime": row[self.order],
            "issued": row[at[f"{table}.created_at"]],
            **value,
        }
        band = row[at[f"{table}.band"]]
        if band:  # the band's label, as the view shows it: "bed-bound", never the code
            observation["interpretation"] = [{"text": BAND_LABELS.get(band, band.replace("_", " "))}]
        observation["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{row[self.id]}"}]
        return observation


def _cursor(moment: datetime, pk: uuid.UUID) -> str:
    # The view's `_page` token: its exact JSON (json.dumps spacing included), base64url without padding.
    raw = json.dumps({"t": moment.isoformat(), "id": str(pk)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Baseline:
    """A search's work by hand: the view's SELECTs, one audit INSERT, the Bundle as dicts, orjson."""

    def __init__(self, url: str, actor_label: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SET TIME ZONE 'UTC'")  # datetimes come back in UTC, written with a Z as FHIR's
        self.actor_label = actor_label

    def search(self, sql: SearchSql) -> bytes:
        conn = self.conn
        if conn.execute(sql.token).fetchone() is None:
            raise SystemExit("baseline: the token's row is gone")
        if sql.patient is not None and conn.execute(sql.patient).fetchone() is None:
            raise SystemExit("baseline: the patient is not visible")
        total = 0
        candidates: list[tuple[datetime, uuid.UUID, Source, tuple, dict]] = []
        for source in (StrengthTests(sql.sources[0]), Scores(sql.sources[1])):
            total += conn.execute(source.sql.count).fetchone()[0]
            rows = conn.execute(source.sql.page).fetchall()
            points = source.points(conn)
            candidates += [(row[source.order], row[source.id], source, row, points) for row in rows]
        candidates.sort(key=lambda item: (item[0], item[1]), reverse=True)
        page, more = candidates[:COUNT], len(candidates) > COUNT
        self._audit([source.audit_row(row) for _moment, _pk, source, row, _points in page])
        self_url = f"https://{HOST}{sql.path}"
        links = [{"relation": "self", "url": self_url}]
        if more:
            links.append({"relation": "next", "url": f"{self_url}&_page={_cursor(page[-1][0], page[-1][1])}"})
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
        if page:
            bundle["entry"] = [
                {
                    "fullUrl": f"{BASE_URL}/Observation/{pk}",
                    "resource": source.resource(row, points),
                    "search": {"mode": "match"},
                }
                for _moment, pk, source, row, points in page
            ]
        return orjson.dumps(bundle, option=orjson.OPT_UTC_Z)

    def _audit(self, rows: list[tuple[Any, ...]]) -> None:
        """The view's statement: one multi-row INSERT ... RETURNING id, a row per Observation shown."""
        if not rows:
            return
        now, request_id = datetime.now(UTC), uuid.uuid4().hex
        params = [value for row in rows for value in (now, self.actor_label, *row, request_id)]
        values = ", ".join([AUDIT_VALUES] * len(rows))
        self.conn.execute(f"INSERT INTO audit_event ({AUDIT_COLUMNS}) VALUES {values} RETURNING id", params)


# --- Setting up -----------------------------------------------------------------------------------------


def _long_history_patient(url: str, clinic_id: int) -> tuple[str, int, int]:
    """The board clinic's patient with the most strength tests and questionnaires: (id, tests, responses)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(LONG_HISTORY, [clinic_id]).fetchone()
    if row is None:
        raise SystemExit(f"no patient in clinic {clinic_id}")
    return str(row[0]), row[1], row[2]


def _partner_headers(organization_id: int, clinic_id: int) -> tuple[dict[str, str], str]:
    """A Bearer header of a fresh read token of a partner granted the board clinic, and its audit label."""
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from apps.audit.events import SYSTEM
    from apps.clinics.models import Clinic
    from apps.partners.models import Partner
    from apps.partners.services import partner_token_issue

    with scopes_disabled():
        partner, _ = Partner.objects.get_or_create(
            organization_id=organization_id, name=PARTNER, defaults={"contact_email": "it@bench.test"}
        )
        partner.clinics.set([Clinic.objects.get(pk=clinic_id)])
    expires = timezone.now() + timedelta(hours=2)
    _token, plaintext = partner_token_issue(
        actor=SYSTEM, partner=partner, name="bench", scope="read", expires_at=expires
    )
    return {"Authorization": f"Bearer {plaintext}"}, f"partner:{partner.name}"


def _rows_scanned(plan: str) -> int:
    """Rows the plan's table and index scans returned (rows x loops): the work that grows with the data."""
    return sum(int(rows) * int(loops) for rows, loops in SCAN.findall(plan))


def _execution_ms(plan: str) -> float:
    found = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return float(found.group(1)) if found else 0.0


# --- Running --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__, repeat=dict(type=int, default=40, help="requests of each search, each side"))
    args = parser.parse_args(argv)
    url = database_url()
    setup_django(url)
    facts = dataset(url)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    patient_id, tests, responses = _long_history_patient(url, facts.board_clinic_id)
    headers, actor_label = _partner_headers(facts.organization_id, facts.board_clinic_id)
    client = Client(HTTP_HOST=HOST)
    searches = {
        "patient": f"/fhir/R4/Observation?patient={patient_id}&_count={COUNT}",
        "feed": f"/fhir/R4/Observation?_count={COUNT}",
    }

    def get(path: str) -> Any:
        response = client.get(path, headers=headers, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} -> {response.status_code}: {response.content[:300]!r}")
        return response

    baseline = Baseline(url, actor_label)
    captured: dict[str, SearchSql] = {}
    check: dict[str, Any] = {}
    for key, path in searches.items():
        get(path)  # warm: the token's last-use stamp written, the connection open, the code imported
        with CaptureQueriesContext(connection) as queries:
            body = get(path).content
        captured[key] = SearchSql.of(path, [query["sql"] for query in queries.captured_queries])
        produced = baseline.search(captured[key])
        if json.loads(produced) != json.loads(body):
            raise SystemExit(f"{path}: the baseline's Bundle differs from the view's")
        check[key] = {"json_equal": True, "bytes_equal": produced == body, "entries": len(json.loads(body)["entry"])}

    sides: dict[str, Callable[[], Any]] = {}
    for key, path in searches.items():
        sql = captured[key]
        sides[f"{key} view"] = lambda path=path: get(path)
        sides[f"{key} baseline"] = lambda sql=sql: baseline.search(sql)
    figures = interleaved(sides, args.repeat)
    plans = {key: {label: explain(baseline.conn, s) for label, s in sql.hot().items()} for key, sql in captured.items()}

    results = _results(facts, patient_id, tests, responses, searches, captured, check, figures, plans)
    _print(results, args.repeat)
    print(f"wrote {write_json('fhir_search', results, args.out)}")
    return 0


LABELS = {"patient": "FHIR Observation?patient= (50)", "feed": "FHIR Observation (clinic feed, 50)"}


def _results(
    facts: Any,
    patient_id: str,
    tests: int,
    responses: int,
    searches: dict[str, str],
    captured: dict[str, SearchSql],
    check: dict[str, Any],
    figures: dict[str, dict[str, float]],
    plans: dict[str, dict[str, str]],
) -> dict[str, Any]:
    table, per_search = [], {}
    for key, path in searches.items():
        view, base = figures[f"{key} view"], figures[f"{key} baseline"]
        times = ratio(view, base)
        table.append(table_row(LABELS[key], view, base, goal="<= 3x", met=times["median"] <= GOAL_RATIO))
        per_search[key] = {
            "path": path,
            "queries": len(captured[key].statements),
            "statements": [statement[:160] for statement in captured[key].statements],
            "check": check[key],
            "view": view,
            "baseline": base,
            "ratio": times,
            "rows_scanned": {label: _rows_scanned(plan) for label, plan in plans[key].items()},
            "execution_ms": {label: _execution_ms(plan) for label, plan in plans[key].items()},
        }
    return {
        "patients": facts.patients,
        "board_clinic_id": facts.board_clinic_id,
        "clinics": len(facts.clinic_ids),
        "patient": {"id": patient_id, "strength_tests": tests, "questionnaires": responses},
        "goal_ratio": GOAL_RATIO,
        "searches": per_search,
        "table": table,
        "explain": plans,
    }


def _print(results: dict[str, Any], repeat: int) -> None:
    patient = results["patient"]
    print(f"\nFHIR Observation search, a page of {COUNT}, as a partner granted the board clinic")
    print(f"({results['patients']:,} patients in {results['clinics']} clinic(s); the patient has ", end="")
    print(f"{patient['strength_tests']} tests and {patient['questionnaires']} questionnaires; {repeat} requests each)")
    print(f"{'':38}{'queries':>8}{'median ms':>11}{'p95 ms':>9}{'base ms':>9}{'ratio':>8}{'rows read':>11}")
    for row, search in zip(results["table"], results["searches"].values(), strict=True):
        scanned = sum(search["rows_scanned"].values())
        print(f"{row['label']:38}{search['queries']:>8}{row['median']:>11.2f}{row['p95']:>9.2f}", end="")
        print(f"{row['baseline_median']:>9.2f}{row['ratio_median']:>7.2f}x{scanned:>11,}", end="")
        print(f"   goal {row['goal']}: {'met' if row['met'] else 'NOT met'}; JSON ", end="")
        print("identical" if search["check"]["bytes_equal"] else "equal (bytes differ)")
    for key, plans in results["explain"].items():
        for label, plan in plans.items():
            print(f"\nEXPLAIN (ANALYZE, BUFFERS), {key} search, {label}:\n{plan}")


if __name__ == "__main__":
    raise SystemExit(main())
