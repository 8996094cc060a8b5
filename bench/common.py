"""What every benchmark shares: the database check, the scale dataset's facts, statistics, plans, JSON.

A benchmark is a module run as `python -m bench.<name>` with DATABASE_URL naming a PostgreSQL database.
Those that measure the platform at scale read the dataset `bench.scale` generated in that database
(`dataset()`); the others make the few rows they need. Each writes its figures to one JSON file,
`var/bench/<name>.json` unless `--out` names another, which `bench.run` gathers into the table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/spinezone_bench"
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"
DATASET_TABLE = "bench_dataset"  # one row, written by bench.scale: what was generated and when


def database_url() -> str:
    """DATABASE_URL, refused unless PostgreSQL; also sets what a benchmark process needs to start Django."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit(f"DATABASE_URL is not set: point it at PostgreSQL, e.g. DATABASE_URL={DEFAULT_URL}")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit(f"DATABASE_URL={url.split(':', 1)[0]}:… is not PostgreSQL: the benchmark refuses SQLite and others.")
    os.environ["DJANGO_SETTINGS_MODULE"] = "spinezone.settings"
    # A benchmark process, not a deployment: a throwaway key, and no API throttle cutting a walk short
    # (the throttle still runs and costs what it costs).
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("API_THROTTLE_RATE", "100000000/min")
    return url


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(url: str, *, migrate: bool = True) -> None:
    """django.setup() for a benchmark process, on a database that exists and is migrated."""
    ensure_database(url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def arguments(doc: str | None, **extra: Any) -> argparse.ArgumentParser:
    """The parser every benchmark starts from: `--out` (its JSON file) and `--repeat`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write (default var/bench/<name>.json)")
    for name, options in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", **options)
    return parser


# --- The generated dataset ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """What bench.scale made in this database, as its one row of `bench_dataset` records it."""

    seed: int
    patients: int
    organization_id: int
    clinic_ids: list[int]
    board_clinic_id: int  # the first clinic: its staff's today board is benchmarked
    staff_username: str  # a physical therapist of the board clinic (no second factor: not an admin)
    anchor: datetime  # the generated histories end here (UTC); it is the reminder sweep's `now`
    counts: dict[str, int]  # rows per table, as generated
    seconds: float  # how long the generation took
    version: int = 1  # bench.scale.VERSION of the generator that made it (1: before the version was kept)


def dataset(url: str | None = None) -> Dataset:
    """The dataset in DATABASE_URL's database; exits with a sentence when there is none."""
    import psycopg

    url = url or os.environ["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [DATASET_TABLE]).fetchone()[0]
        row = conn.execute(f"SELECT facts FROM {DATASET_TABLE}").fetchone() if exists else None  # noqa: S608
    if row is None:
        sys.exit(f"no generated dataset in {urlsplit(url).path.lstrip('/')}: run `python -m bench.scale` first")
    facts = dict(row[0])
    facts["anchor"] = datetime.fromisoformat(facts["anchor"])
    return Dataset(**facts)


# --- Staff pages ------------------------------------------------------------------------------------------


class PageBaseline:
    """The page's SQL through psycopg, and the same template rendered with the same context."""

    def __init__(self, url: str, statements: list[str], template: str, context: dict[str, Any], tz: Any) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.statements, self.template, self.context, self.tz = statements, template, context, tz

    def page(self) -> str:
        from django.template.loader import render_to_string
        from django.utils import timezone

        for statement in self.statements:  # BEGIN … COMMIT as the page sent them
            cursor = self.conn.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()
        with timezone.override(self.tz):
            return render_to_string(self.template, self.context)


@contextmanager
def templates_recorded() -> Iterator[None]:
    """For one request, let the test client see the context the view rendered (as the test runner does)."""
    from django.template import Template
    from django.test.utils import instrumented_test_render

    original = Template._render
    Template._render = instrumented_test_render
    try:
        yield
    finally:
        Template._render = original


# --- Measuring ------------------------------------------------------------------------------------------


def stats(samples: list[float]) -> dict[str, float]:
    """Median and p95 in milliseconds of samples in seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "n": len(ordered)}


def ratio(measured: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    return {"median": measured["median_ms"] / baseline["median_ms"], "p95": measured["p95_ms"] / baseline["p95_ms"]}


def timed(step: Callable[[], Any], samples: list[float]) -> Any:
    start = time.perf_counter()
    result = step()
    samples.append(time.perf_counter() - start)
    return result


def interleaved(sides: dict[str, Callable[[], Any]], repeat: int) -> dict[str, dict[str, float]]:
    """Each side once per round, `repeat` rounds: the machine's noise falls on all sides alike."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, step in sides.items():
            timed(step, samples[name])
    return {name: stats(values) for name, values in samples.items()}


def explain(conn: Any, sql: str, params: Any = None) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement on a psycopg connection, rolled back."""
    with conn.transaction(force_rollback=True):
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
    return "\n".join(row[0] for row in rows)


def write_json(name: str, figures: dict[str, Any], out: Path | None = None) -> Path:
    path = out or OUT_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": name, **figures}, indent=2, default=str) + "\n")
    return path


def table_row(
    label: str,
    measured: dict[str, float],
    baseline: dict[str, float] | None,
    *,
    goal: str,
    met: bool,
    unit: str = "ms",
) -> dict[str, Any]:
    """One line of `make bench`'s table: a figure's median and p95, its baseline's, their ratio, the goal.

    `measured` and `baseline` are `stats()` dicts (unit "ms") or {"median": …, "p95": …} in `unit`.
    """

    def pick(figures: dict[str, float] | None, key: str) -> float | None:
        if figures is None:
            return None
        return figures.get(f"{key}_ms", figures.get(key))

    line: dict[str, Any] = {"label": label, "unit": unit, "goal": goal, "met": met}
    for key in ("median", "p95"):
        line[key], line[f"baseline_{key}"] = pick(measured, key), pick(baseline, key)
        base = line[f"baseline_{key}"]
        line[f"ratio_{key}"] = line[key] / base if base else None
    return line
