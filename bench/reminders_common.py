"""What the reminder benchmarks share: the database check, the statistics, the JSON output."""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/spinezone_bench"
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"


def database_url() -> str:
    """DATABASE_URL, refused unless PostgreSQL; also sets what a benchmark process needs to start Django."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit(f"DATABASE_URL is not set: point it at PostgreSQL, e.g. DATABASE_URL={DEFAULT_URL}")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit(f"DATABASE_URL={url.split(':', 1)[0]}:… is not PostgreSQL: the benchmark refuses SQLite and others.")
    os.environ["DJANGO_SETTINGS_MODULE"] = "spinezone.settings"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # a throwaway key: a benchmark, not a deployment
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


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "n": len(ordered)}


def write_json(name: str, figures: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return path
