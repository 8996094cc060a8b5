"""`make bench`: every benchmark, at every size, one table, one JSON file.

    python -m bench.run [--sizes 10000,100000] [--database-url postgres://postgres@127.0.0.1:5432/spinezone_bench]

For each size, a database of its own (`<name>_10k`, `<name>_100k`, `<name>_1m`) holds the scale
dataset (bench.scale: generated when missing or older than the latest noon, kept otherwise), and the
benchmarks that must stay flat as the network grows run on it: the API patient list, the FHIR
Observation search, the today board, the reminder sweep, the slot finder and the week view (these two
book the dataset's clinics for their run: `bench.appointments`), and the outcomes report (over the
dataset's outcome facts; it records a few sessions in an organization of its own). At the largest
size the chart page and email delivery run too (they make their own few rows). Each benchmark is a
process of its own (Django binds its database at start) that writes its JSON; this gathers them into
`var/bench/results.json` and prints the table, then the growth of each figure from the smallest size
to the others. (The dataset is also remade when an older version of the generator made it.)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import DEFAULT_URL, OUT_DIR, arguments, dataset

GROWING = (  # every size
    *("api_patient_list", "fhir_search", "board_page", "reminder_sweep", "slot_finder", "week_view"),
    "outcomes_report",  # issue 17: the report of a clinic and of the network, and a session's facts update
)
ONCE = ("chart_page", "reminder_delivery")  # their own data: run at the largest size only
GROWTH_GOAL = 1.5  # PERFORMANCE.md / issues 8 and 16: at 100k within 1.5x of 10k
# The figures whose growth is bounded (issue 8: the API page, the sweep, the FHIR search; issue 16: the
# slot finder and the week view), by the start of their label.
BOUNDED = ("API patient list", "reminder sweep, first", "FHIR Observation?patient", "slot finder", "week view")


def label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def size_url(base: str, size: int) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{label(size)}"))


def run(module: str, url: str, *extra: str) -> None:
    command = [sys.executable, "-m", f"bench.{module}", *extra]
    print(f"\n$ DATABASE_URL={url} {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "DATABASE_URL": url})  # noqa: S603 - our own modules
    print(f"({module}: {time.perf_counter() - started:.0f} s)", flush=True)


def machine(base: str) -> dict[str, Any]:
    import psycopg

    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line), ""
        )
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    with psycopg.connect(urlunsplit(urlsplit(base)._replace(path="/postgres"))) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": server,
        "shared_buffers": shared_buffers,
    }


def gather(results_dir: Path, size: int) -> list[dict[str, Any]]:
    rows = []
    for path in sorted((results_dir / label(size)).glob("*.json")):
        figures = json.loads(path.read_text())
        for line in figures.get("table", []):
            rows.append({**line, "benchmark": figures["benchmark"], "size": size})
    return rows


def growth(rows: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    """Each growing figure's median at every size, and its ratio to the smallest size's."""
    by_label: dict[str, dict[int, dict[str, Any]]] = {}
    for row in rows:
        if row["benchmark"] in GROWING:
            by_label.setdefault(row["label"], {})[row["size"]] = row
    lines = []
    for name, at in by_label.items():
        smallest = at.get(sizes[0])
        medians = {label(size): at[size]["median"] for size in sizes if size in at}
        ratios = {label(size): at[size]["median"] / smallest["median"] for size in sizes if size in at and smallest}
        bounded = name.startswith(BOUNDED)
        worst = max(ratios.values()) if ratios else None
        met = None if not bounded or worst is None else worst <= GROWTH_GOAL
        lines.append({"label": name, "median_ms": medians, "vs_smallest": ratios, "goal": bounded, "met": met})
    return lines


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"


def print_table(rows: list[dict[str, Any]], lines: list[dict[str, Any]], sizes: list[int]) -> None:
    print("\n" + "=" * 118)
    # Times in ms; a throughput's unit is in its label, and its p95 column holds its slowest round.
    header = f"{'figure':44}{'size':>6}{'median':>10}{'p95':>10}{'base med':>10}{'base p95':>10}{'ratio':>8}  goal"
    print(header)
    print("-" * 118)
    for row in rows:
        ratio = "-" if row["ratio_median"] is None else f"{row['ratio_median']:.2f}x"
        verdict = "met" if row["met"] else "MISSED"
        print(
            f"{row['label'][:44]:44}{label(row['size']):>6}{number(row['median']):>10}{number(row['p95']):>10}"
            f"{number(row['baseline_median']):>10}{number(row['baseline_p95']):>10}{ratio:>8}"
            f"  {row['goal']}: {verdict}"
        )
    print("\ngrowth (median ms at each size; x = against the smallest size; goal <= 1.5x where marked)")
    for line in lines:
        cells = "  ".join(
            f"{size}: {number(line['median_ms'][size])} ms ({line['vs_smallest'].get(size, 0):.2f}x)"
            for size in (label(s) for s in sizes)
            if size in line["median_ms"]
        )
        mark = "" if line["met"] is None else ("  goal met" if line["met"] else "  goal MISSED")
        print(f"  {line['label'][:42]:42}  {cells}{mark}")
    print("=" * 118)


def main(argv: list[str] | None = None) -> int:
    parser = arguments(
        __doc__,
        sizes=dict(default=os.environ.get("BENCH_SIZES", "10000,100000"), help="patients, comma-separated"),
        database_url=dict(default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL), help="base database URL"),
        only=dict(default="", help="run only these benchmarks (comma-separated module names)"),
    )
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()})
    except ValueError:
        sys.exit(f"--sizes {args.sizes!r}: give numbers of patients separated by commas, e.g. 10000,100000")
    if not sizes or sizes[0] < 1:
        sys.exit("--sizes needs at least one positive number of patients")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("the benchmarks run on PostgreSQL: --database-url (BENCH_DATABASE_URL) must be a postgres:// URL")
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(GROWING) - set(ONCE) - {"scale"}
    if unknown:
        sys.exit(f"--only names no benchmark: {', '.join(sorted(unknown))} (known: {', '.join(GROWING + ONCE)})")

    started, began = time.perf_counter(), datetime.now(UTC)
    results_dir = OUT_DIR / "runs"
    timings: dict[str, float] = {}
    for size in sizes:
        url = size_url(args.database_url, size)
        step = time.perf_counter()
        run("scale", url, "--patients", str(size), "--force")
        timings[f"generate {label(size)}"] = round(time.perf_counter() - step, 1)
        chosen = [name for name in GROWING + (ONCE if size == sizes[-1] else ()) if not only or name in only]
        for name in chosen:
            out = results_dir / label(size) / f"{name}.json"
            out.unlink(missing_ok=True)  # a stale file must not pass for this run's figures
            step = time.perf_counter()
            run(name, url, "--out", str(out))
            timings[f"{name} {label(size)}"] = round(time.perf_counter() - step, 1)

    rows = [row for size in sizes for row in gather(results_dir, size)]
    lines = growth(rows, sizes)
    datasets = {}
    for size in sizes:
        made = dataset(size_url(args.database_url, size))
        datasets[label(size)] = {"counts": made.counts, "generation_seconds": made.seconds, "anchor": made.anchor}
    explains = {}
    for size in sizes[-1:]:
        for path in sorted((results_dir / label(size)).glob("*.json")):
            figures = json.loads(path.read_text())
            explains[figures["benchmark"]] = figures.get("explain", {})
    summary = {
        "started": began.isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(args.database_url),
        "sizes": sizes,
        "datasets": datasets,
        "timings": timings,
        "table": rows,
        "growth": lines,
        "explain_at_largest_size": explains,
    }
    out = args.out or OUT_DIR / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print_table(rows, lines, sizes)
    print(f"all benchmarks: {summary['seconds'] / 60:.1f} min; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
