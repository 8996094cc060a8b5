"""Benchmark: the slot finder for a clinic with 10 machines, 5,000 active patients and 4 weeks of bookings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.slot_finder [--repeat N]

It reads the dataset `bench.scale` generated, and books its clinics for the run (`bench.appointments`:
10 machines each, 85 % of four weeks' slots booked; removed after the run). The measured side is
`scheduling.selectors.offer_slots(program, now=anchor, count=3)` for an active lumbar program of the
first clinic that falls due a day or two after the anchor, inside the tenancy scope the middleware
sets for that clinic's staff: the calendar, the machines, the program's window, its live bookings in
the horizon, then the pure `slots.free_slots`. The baseline does the same work in one hand-written
statement on psycopg (the program's window, the calendar, the machines of its kind and their live
bookings in the horizon, as arrays) and a minimal Python pass over the calendar's slots (a set of
booked machine times: the seeded bookings are one slot each, though it reads their ends as the finder
does); checked to offer the same slots.
"""

from __future__ import annotations

import heapq
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import appointments
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

GOAL = 3.0  # issue 16: the finder within 3x its raw-SQL baseline
COUNT = 3
LABEL = "slot finder (10 machines, 4 weeks booked)"
LIVE = "('booked', 'checked_in')"

# One statement: what the finder reads, for one program at `now`. The horizon and the calendar's
# defaults (30-minute slots, 28 days) apply when the clinic has set none.
FIND = f"""
SELECT p.earliest_next_at, p.next_due_at, p.min_rest_hours, p.sessions_per_week, c.timezone,
    coalesce(cal.slot_minutes, 30), coalesce(cal.booking_horizon_days, 28),
    (SELECT max(a.starts_at) FROM scheduling_appointment a
     WHERE a.program_id = p.id AND a.state IN {LIVE} AND a.ends_at > %(now)s) AS ahead,
    (SELECT array_agg(array[o.weekday::text, o.opens_at::text, o.closes_at::text] ORDER BY o.weekday, o.opens_at)
     FROM scheduling_openinghours o WHERE o.calendar_id = cal.id) AS opening,
    (SELECT array_agg(d.date) FROM scheduling_closure d
     WHERE d.calendar_id = cal.id AND d.date >= (%(now)s AT TIME ZONE c.timezone)::date) AS closures,
    m.ids, b.machines, b.starts, b.ends
FROM programs_program p
JOIN clinics_clinic c ON c.id = p.clinic_id
LEFT JOIN scheduling_cliniccalendar cal ON cal.clinic_id = p.clinic_id
CROSS JOIN LATERAL (SELECT array_agg(id ORDER BY name, id) AS ids FROM clinics_machine
    WHERE clinic_id = p.clinic_id AND kind = p.machine_kind AND is_active) m
CROSS JOIN LATERAL (SELECT array_agg(a.machine_id) AS machines, array_agg(a.starts_at) AS starts,
        array_agg(a.ends_at) AS ends
    FROM scheduling_appointment a
    WHERE a.machine_id = ANY(m.ids) AND a.state IN {LIVE} AND a.ends_at > %(now)s
      AND a.starts_at < %(now)s + make_interval(days => coalesce(cal.booking_horizon_days, 28))) b
WHERE p.id = %(program)s
"""  # noqa: S608 - composed from this module's constants; values travel as parameters
WEEKDAYS_DEFAULT = [[str(day), "08:00:00", "18:00:00"] for day in range(5)]


def raw_finder(conn: Any, program_id: Any, now: datetime, count: int = COUNT) -> list[tuple[Any, datetime, datetime]]:
    """The baseline: one statement, then the first free slots closest to the due time."""
    row = conn.execute(FIND, {"program": program_id, "now": now}).fetchone()
    earliest, due, rest, per_week, zone, minutes, horizon, ahead, opening, closed, machines, held, starts, _ = row
    earliest = earliest or now
    due = due or earliest
    if ahead is not None:
        earliest = max(earliest, ahead + timedelta(hours=rest))
        due = max(due, ahead + timedelta(days=7) / max(per_week, 1))
    due = max(due, earliest)
    busy = set(zip(held or [], starts or [], strict=True))
    not_before, end = max(now, earliest), now + timedelta(days=horizon)
    found = []
    for start in _starts(ZoneInfo(zone), opening or WEEKDAYS_DEFAULT, set(closed or []), minutes, not_before, end):
        for order, machine in enumerate(machines or []):
            if (machine, start) not in busy:
                found.append((abs(start - due), start, order, machine))
    length = timedelta(minutes=minutes)
    return [(machine, start, start + length) for _, start, _, machine in heapq.nsmallest(count, found)]


def _starts(
    tz: ZoneInfo, opening: list[list[str]], closed: set[date], minutes: int, not_before: datetime, end: datetime
) -> list[datetime]:
    """Slot starts (UTC) of the open days between not_before and end; a wall time in a DST gap is none."""
    length, day, last = timedelta(minutes=minutes), not_before.astimezone(tz).date(), end.astimezone(tz).date()
    ranges = [(int(weekday), datetime.strptime(o, "%H:%M:%S").time(), datetime.strptime(c, "%H:%M:%S").time())
              for weekday, o, c in opening]  # fmt: skip
    starts = []
    while day <= last:
        for weekday, opens, closes in ranges if day not in closed else ():
            if weekday != day.weekday():
                continue
            wall, stop = datetime.combine(day, opens), datetime.combine(day, closes)
            while wall + length <= stop:
                start = wall.replace(tzinfo=tz).astimezone(UTC)
                if start.astimezone(tz).replace(tzinfo=None) == wall and not_before <= start and start + length <= end:
                    starts.append(start)
                wall += length
        day += timedelta(days=1)
    return starts


def measure(url: str, seeded: appointments.Seeded, now: datetime, repeat: int) -> dict[str, Any]:
    """Both sides, checked to offer the same slots, interleaved `repeat` times; and the hot plans."""
    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope, scopes_disabled

    from apps.programs.models import Program
    from apps.scheduling.selectors import offer_slots

    with scopes_disabled():
        program = Program.objects.select_related("clinic").get(pk=seeded.program_id)
    conn = psycopg.connect(url, autocommit=True)
    with scope(clinic=[seeded.clinic_id]):  # as the middleware sets it for the clinic's staff

        def finder() -> list[Any]:
            return offer_slots(program, now=now, count=COUNT)

        with CaptureQueriesContext(connection) as captured:
            offered = [(slot.machine, slot.start, slot.end) for slot in finder()]
        raw = raw_finder(conn, program.pk, now)
        if offered != raw:
            raise SystemExit(f"the baseline offers other slots: {raw} against the finder's {offered}")
        figures = interleaved({"finder": finder, "baseline": lambda: raw_finder(conn, program.pk, now)}, repeat)
    statements = [query["sql"] for query in captured.captured_queries]
    bookings = next(s for s in statements if 'FROM "scheduling_appointment"' in s and '"machine_id" IN' in s)
    plans = {
        "finder, live bookings (ORM)": explain(conn, bookings),
        "baseline, one statement": explain(conn, FIND, {"program": program.pk, "now": now}),
    }
    return {"offered": offered, "queries": len(statements), "figures": figures, "explain": plans}


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__, repeat=dict(type=int, default=30, help="runs each side, interleaved"))
    args = parser.parse_args(argv)
    url = database_url()
    setup_django(url)
    facts = dataset(url)
    seeded = appointments.seed(facts.clinic_ids, facts.anchor)
    try:
        measured = measure(url, seeded, facts.anchor, args.repeat)
    finally:
        appointments.clear(facts.clinic_ids)
    finder, base = measured["figures"]["finder"], measured["figures"]["baseline"]
    times = ratio(finder, base)
    results = {
        "patients": facts.patients,
        "clinic_id": seeded.clinic_id,
        "machines": seeded.machines,
        "appointments_in_network": seeded.rows,
        "seed_seconds": seeded.seconds,
        "live_ahead_in_clinic": seeded.live_in_clinic,
        "anchor": facts.anchor,
        "queries": measured["queries"],
        "offered": measured["offered"],
        "finder": finder,
        "baseline": base,
        "ratio": times,
        "goal_ratio": GOAL,
        "table": [table_row(LABEL, finder, base, goal=f"<= {GOAL:.0f}x", met=times["median"] <= GOAL)],
        "explain": measured["explain"],
    }
    _print(results, args.repeat)
    print(f"wrote {write_json('slot_finder', results, args.out)}")
    return 0


def _print(results: dict[str, Any], repeat: int) -> None:
    finder, base, times = results["finder"], results["baseline"], results["ratio"]
    print(f"\noffer_slots: {results['machines']} machines, {results['live_ahead_in_clinic']:,} live bookings ahead")
    print(f"  ({results['appointments_in_network']:,} appointments, {results['patients']:,} patients; {repeat} runs)")
    print(f"{'':34}{'queries':>8}{'median ms':>12}{'p95 ms':>10}{'ratio':>8}")
    print(f"{'finder (selector + free_slots)':34}{results['queries']:>8}{finder['median_ms']:>12.2f}", end="")
    print(f"{finder['p95_ms']:>10.2f}")
    print(f"{'  baseline (1 statement + pass)':34}{1:>8}{base['median_ms']:>12.2f}{base['p95_ms']:>10.2f}", end="")
    print(f"{times['median']:>7.2f}x")
    shown = ", ".join(f"machine {m} at {s:%a %H:%M} UTC" for m, s, _ in results["offered"])
    print(f"offered: {shown}")
    verdict = "met" if results["table"][0]["met"] else "NOT met"
    print(f"goal: <= {GOAL:.0f}x its baseline: {times['median']:.2f}x ({verdict})")
    for label, plan in results["explain"].items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {label}:\n{plan}")


if __name__ == "__main__":
    raise SystemExit(main())
