"""Benchmark: the staff UI's patient chart for two years of history, against a hand-written baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.chart_page

The page side is the whole request through Django's test client: session, sign-in, middleware,
the tenancy gate, the audit read events, the chart's reads and the template. The baseline does
the same work without Django's request path or ORM, in the same run: it replays the SQL the page
emitted (captured once, verbatim, its transactions included, on its own psycopg connection), and renders
the same template with the same context the view built (rendering it queries nothing: checked).
The patient has about 200 sessions, 20 tests and 50 questionnaires; a patient with a few weeks of
history is timed too, to show that the page does not grow with the history.
"""

from __future__ import annotations

from typing import Any

from bench.common import (
    PageBaseline,
    arguments,
    database_url,
    ratio,
    setup_django,
    stats,
    table_row,
    templates_recorded,
    timed,
    write_json,
)

ORGANIZATION = "bench-chart"
HISTORIES = {"two_years": (200, 20, 50), "three_weeks": (6, 3, 4)}  # sessions, tests, questionnaires
GOAL_MS = 200.0
# The hot reads whose plans are printed: (label, a fragment of the SQL that identifies it).
HOT = (
    ("sessions (values)", 'FROM "programs_trainingsession"'),
    ("strength tests", 'FROM "assessments_strengthtest"'),
    ("who has seen it", 'FROM "audit_event"'),
)


def _cast() -> tuple[Any, dict[str, Any]]:
    """The bench clinic, its therapist and one patient per history length (made once, then reused)."""
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from apps.clinics.models import Membership
    from apps.patients.models import Patient
    from tests import factories

    with scopes_disabled():
        organization = factories.OrganizationFactory(slug=ORGANIZATION, name="Benchmark chart clinic group")
        clinic = organization.clinics.first() or factories.ClinicFactory(organization=organization, name="Chart clinic")
        therapist = factories.UserFactory(username="bench.chart.therapist")
        Membership.objects.get_or_create(user=therapist, clinic=clinic, defaults={"role": "physical_therapist"})
        machine = clinic.machines.first() or factories.MachineFactory(clinic=clinic)
        patients = {}
        for name, (sessions, tests, questionnaires) in HISTORIES.items():
            mrn = f"CHART-{name}"
            patient = Patient.objects.filter(organization=organization, mrn=mrn).first()
            if patient is None:
                patient = factories.PatientFactory(clinic=clinic, mrn=mrn, family_name=f"Chart {name}")
                program = factories.ProgramFactory(patient=patient, status="active", started_at=timezone.now())
                factories.long_history(
                    program=program,
                    machine=machine,
                    staff=therapist,
                    sessions=sessions,
                    tests=tests,
                    questionnaires=questionnaires,
                )
            patients[name] = patient
    return therapist, patients


def _explain(conn: Any, statements: list[str]) -> dict[str, str]:
    plans = {}
    for label, fragment in HOT:
        found = next((s for s in statements if s.startswith("SELECT") and fragment in s), None)
        if found:
            rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {found}").fetchall()
            plans[label] = "\n".join(row[0] for row in rows)
    return plans


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__, repeat=dict(type=int, default=40, help="requests each side, interleaved"))
    args = parser.parse_args(argv)

    url = database_url()
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # Production settings serve hashed static names from the manifest, as a deployment would.
    call_command("collectstatic", verbosity=0, interactive=False)
    therapist, patients = _cast()
    client = Client(HTTP_HOST="localhost")
    client.force_login(therapist)

    def get(patient: Any) -> Any:
        response = client.get(f"/patients/{patient.pk}/", secure=True)
        if response.status_code != 200:
            raise SystemExit(f"chart -> {response.status_code}: {response.content[:300]!r}")
        return response

    results: dict[str, Any] = {}
    long_patient = patients["two_years"]
    for name, patient in patients.items():
        get(patient)  # warm: templates compiled, connection open
        with CaptureQueriesContext(connection) as captured, templates_recorded():
            response = get(patient)
        statements = [query["sql"] for query in captured.captured_queries]
        context = response.context[0].flatten()  # the page template's own context, before any include
        baseline = PageBaseline(url, statements, "web/chart/chart.html", context, patient.clinic.tzinfo)
        with CaptureQueriesContext(connection) as rendering:
            baseline.page()
        if len(rendering):
            raise SystemExit(f"the baseline's rendering queried the database {len(rendering)} times")

        page_times: list[float] = []
        base_times: list[float] = []
        for _ in range(args.repeat):  # interleaved: the machine's noise falls on both sides alike
            timed(lambda patient=patient: get(patient), page_times)
            timed(baseline.page, base_times)
        page, base = stats(page_times), stats(base_times)
        results[name] = {
            "history": dict(zip(("sessions", "tests", "questionnaires"), HISTORIES[name], strict=True)),
            "queries": len(statements),
            "page": page,
            "baseline": base,
            "ratio": ratio(page, base),
            "html_bytes": len(response.content),
        }
        if patient is long_patient:
            results[name]["explain"] = _explain(baseline.conn, statements)
            results[name]["statements"] = [statement[:140] for statement in statements]

    _print(results, args.repeat)
    long = results["two_years"]
    line = table_row(
        "chart page, two years of history",
        long["page"],
        long["baseline"],
        goal=f"<= {GOAL_MS:.0f} ms median",
        met=long["page"]["median_ms"] <= GOAL_MS,
    )
    figures = {"goal_median_ms": GOAL_MS, **results, "table": [line], "explain": long.get("explain", {})}
    path = write_json("chart_page", figures, args.out)
    print(f"wrote {path}")
    return 0


def _print(results: dict[str, Any], repeat: int) -> None:
    print()
    print(f"GET /patients/<id>/  (the staff chart page; {repeat} requests each side)")
    print(f"{'':34}{'queries':>8}{'median ms':>12}{'p95 ms':>10}{'ratio':>8}")
    for name, result in results.items():
        history = result["history"]
        label = f"{name} ({history['sessions']}/{history['tests']}/{history['questionnaires']})"
        page, base = result["page"], result["baseline"]
        print(f"{'page  ' + label:34}{result['queries']:>8}{page['median_ms']:>12.2f}{page['p95_ms']:>10.2f}")
        print(f"{'  baseline (psycopg + render)':34}{'':>8}{base['median_ms']:>12.2f}{base['p95_ms']:>10.2f}", end="")
        print(f"{result['ratio']['median']:>7.2f}x")
    long = results["two_years"]["page"]["median_ms"]
    verdict = "met" if long <= GOAL_MS else "NOT met"
    print(f"goal: two years of history <= {GOAL_MS:.0f} ms median: {long:.1f} ms ({verdict})")
    for label, plan in results["two_years"].get("explain", {}).items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {label}:\n{plan}")


if __name__ == "__main__":
    raise SystemExit(main())
