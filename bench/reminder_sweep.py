"""Benchmark: one reminder sweep over 200,000 programs with 5,000 due, against hand-written SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.reminder_sweep

Data (bench.generate's patients, one lumbar program each, written by SQL here): 5,000 programs came
due in the last 50 minutes; 20,000 came due 2-10 days ago (outside the sweep's window: reminded long
ago); the rest fall due in the next 4 days; 10 % of those are not active. A third of the patients
consent to email. The reference instant is today's noon in the clinic's zone, so no quiet hours apply.

Measured, each repetition inside a transaction that is rolled back (the next one starts clean, and
nothing reaches a broker: ids are handed to Celery only on commit):

- first tick: `reminders_sweep` materialises the 5,000 rows and enqueues the sendable ones;
- steady tick: the same sweep a minute later, with nothing new (what runs every other minute).

Baselines, the same run, the same database, on their own psycopg connection:

- raw sweep (PERFORMANCE.md): one transaction of INSERT ... SELECT ... ON CONFLICT DO NOTHING for the
  three due kinds (quiet hours and the reasons not to send computed in SQL), the expired-claim UPDATE,
  SELECT ... FOR UPDATE SKIP LOCKED LIMIT n of the rows to enqueue, and their UPDATE;
- raw select: the single hand-written query that selects the same due rows (what the sweep must read).

The reminders table holds 4 weeks of history (one sent reminder per program a week, 800,000 rows),
analysed, as a live one would. The baseline is checked to write the same rows (state, reason,
not-before time) as the sweep.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from datetime import time as wall_time
from typing import Any
from zoneinfo import ZoneInfo

from bench.reminders_common import database_url, ensure_database, stats, write_json

PAST_DUE = 20_000  # due long ago: outside the window, must not be read
HISTORY_MARK = "<bench-history>"  # the Message-ID of the history rows, to tell them from a tick's
HISTORY_WEEKS = 4  # sent reminders per program already in the table (800,000 rows for 200,000 programs)
WINDOW = "interval '24 hours'"

ELIGIBILITY = """CASE
    WHEN pa.deleted_at IS NOT NULL THEN 'patient_deleted'
    WHEN pa.deceased_on IS NOT NULL THEN 'patient_deceased'
    WHEN pa.unsubscribed_at IS NOT NULL THEN 'unsubscribed'
    WHEN NOT pa.email_reminder_consent THEN 'no_consent'
    WHEN pa.email = '' THEN 'no_email'
    ELSE '' END"""
LOCAL = "(p.{due} AT TIME ZONE c.timezone)"
QUIET = f"""CASE
    WHEN c.quiet_hours_start = c.quiet_hours_end THEN false
    WHEN c.quiet_hours_start < c.quiet_hours_end
        THEN {LOCAL}::time >= c.quiet_hours_start AND {LOCAL}::time < c.quiet_hours_end
    ELSE {LOCAL}::time >= c.quiet_hours_start OR {LOCAL}::time < c.quiet_hours_end END"""
QUIET_END = f"""((CASE WHEN {LOCAL}::time < c.quiet_hours_end THEN {LOCAL}::date ELSE {LOCAL}::date + 1 END)
    + c.quiet_hours_end) AT TIME ZONE c.timezone"""

# Built from this module's constants only (no input reaches these f-strings).
MATERIALISE = f"""
WITH due AS (
    SELECT p.id, p.patient_id, p.clinic_id, p.{{due}} AS due_at,
           CASE WHEN {QUIET} THEN {QUIET_END} ELSE p.{{due}} END AS scheduled_for,
           {ELIGIBILITY} AS reason
    FROM programs_program p
    JOIN patients_patient pa ON pa.id = p.patient_id
    JOIN clinics_clinic c ON c.id = p.clinic_id
    WHERE p.status = 'active' AND p.{{due}} <= %(now)s AND p.{{due}} > %(now)s - {WINDOW} {{extra}}
      AND NOT EXISTS (SELECT 1 FROM reminders_reminder r WHERE r.patient_id = p.patient_id AND r.program_id = p.id
                      AND r.kind = %(kind)s AND r.due_at = p.{{due}})
    ORDER BY p.{{due}}, p.id
    LIMIT 10000
)
INSERT INTO reminders_reminder (id, patient_id, program_id, clinic_id, kind, channel, due_at, scheduled_for,
                                state, cancel_reason, attempts, message_id, last_error, created_at, updated_at)
SELECT gen_random_uuid(), patient_id, id, clinic_id, %(kind)s, 'email', due_at, scheduled_for,
       CASE WHEN reason = '' THEN 'pending' ELSE 'cancelled' END, reason, 0, '', '', %(now)s, %(now)s
FROM due
ON CONFLICT (patient_id, program_id, kind, due_at) DO NOTHING
"""  # noqa: S608
KINDS = (
    ("session_due", "next_due_at", "AND p.last_completed_at IS NOT NULL"),
    ("overdue", "overdue_at", ""),
    ("questionnaire_due", "questionnaire_due_at", ""),
)
RECOVER = """UPDATE reminders_reminder
SET state = 'pending', lease_until = NULL, enqueued_at = NULL, updated_at = %(now)s
WHERE state = 'sending' AND lease_until < %(now)s"""
TO_ENQUEUE = """SELECT id FROM reminders_reminder
WHERE state = 'pending' AND scheduled_for <= %(now)s AND (enqueued_at IS NULL OR enqueued_at <= %(requeue)s)
ORDER BY scheduled_for LIMIT %(limit)s FOR UPDATE SKIP LOCKED"""
MARK = "UPDATE reminders_reminder SET enqueued_at = %(now)s, updated_at = %(now)s WHERE id = ANY(%(ids)s)"
SELECT_DUE = f"""SELECT p.id, p.patient_id, p.clinic_id, p.next_due_at, c.timezone, c.quiet_hours_start,
       c.quiet_hours_end, pa.email, pa.email_reminder_consent, pa.unsubscribed_at, pa.deceased_on, pa.deleted_at
FROM programs_program p
JOIN patients_patient pa ON pa.id = p.patient_id
JOIN clinics_clinic c ON c.id = p.clinic_id
WHERE p.status = 'active' AND p.next_due_at <= %(now)s AND p.next_due_at > %(now)s - {WINDOW}
  AND p.last_completed_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM reminders_reminder r WHERE r.patient_id = p.patient_id AND r.program_id = p.id
                  AND r.kind = 'session_due' AND r.due_at = p.next_due_at)
ORDER BY p.next_due_at, p.id LIMIT 10000"""  # noqa: S608

# --- Data ---------------------------------------------------------------------------------------------

PROGRAMS = """
INSERT INTO programs_program (id, patient_id, clinic_id, region, machine_kind, load_unit, status, prescribed_by_id,
    sessions_per_week, planned_weeks, rep_min, rep_max, tul_min_s, tul_max_s, progression_step_pct, min_rest_hours,
    start_load, start_load_override_reason, status_reason, current_load, proposal_action, proposal_reason,
    completed_sessions, attendance, created_at, updated_at)
SELECT gen_random_uuid(), pa.id, pa.clinic_id, 'lumbar', 'lumbar_extension', 'ft_lbf', 'active', %(user)s,
    2, 10, 8, 12, 45, 150, 5, 48, 100, '', '', 100, '', '', 5, 'on_track', now(), now()
FROM patients_patient pa
WHERE pa.clinic_id = %(clinic)s AND NOT EXISTS (SELECT 1 FROM programs_program p WHERE p.patient_id = pa.id)
"""
# Row i of the clinic (its MRN is B<i>): due just now for i < due, long ago for the next 20,000, else ahead.
SCHEDULE = """
UPDATE programs_program p SET
    next_due_at = CASE
        WHEN s.i < %(due)s THEN %(now)s - make_interval(secs => s.i %% 3000)
        WHEN s.i < %(due)s + %(past)s THEN %(now)s - interval '2 days' - make_interval(secs => s.i %% 691200)
        ELSE %(now)s + interval '1 hour' + make_interval(secs => s.i %% 345600) END,
    status = CASE WHEN s.i >= %(due)s AND s.i %% 10 = 9 THEN 'completed' ELSE 'active' END,
    overdue_at = %(now)s + interval '5 days',
    questionnaire_due_at = %(now)s + interval '10 days'
FROM (SELECT id, substring(mrn from 2)::int AS i FROM patients_patient WHERE clinic_id = %(clinic)s) s
WHERE p.patient_id = s.id
"""
# Weeks of history, as a live table has: one sent reminder per program per week, 1-8 weeks ago. Without
# it the planner takes reminders_reminder for empty and anti-joins by scanning it.
HISTORY = """
INSERT INTO reminders_reminder (id, patient_id, program_id, clinic_id, kind, channel, due_at, scheduled_for,
    state, cancel_reason, attempts, sent_at, message_id, last_error, created_at, updated_at)
SELECT gen_random_uuid(), p.patient_id, p.id, p.clinic_id, 'session_due', 'email', d.due, d.due,
    'sent', '', 1, d.due, %(mark)s, '', d.due, d.due
FROM programs_program p CROSS JOIN LATERAL (
    SELECT %(now)s - make_interval(weeks => w) - make_interval(secs => abs(hashtext(p.id::text)) %% 86400) AS due
    FROM generate_series(1, %(weeks)s) AS w) d
WHERE p.clinic_id = %(clinic)s
"""
LAST_COMPLETED = (
    "UPDATE programs_program SET last_completed_at = next_due_at - interval '3 days 12 hours' WHERE clinic_id = %s"
)


def reference_now(tz: ZoneInfo) -> datetime:
    """The latest local noon that has passed: due times then fall at 11:10-12:00, outside quiet hours."""
    local = datetime.now(tz)
    noon = datetime.combine(local.date(), wall_time(12), tzinfo=tz)
    return noon if noon <= local else noon - timedelta(days=1)


def prepare(programs: int, due: int, now: datetime) -> int:
    from django.db import connection

    from apps.clinics.models import Clinic
    from bench.generate import generate
    from tests.factories import UserFactory

    made = generate(programs, log=lambda line: None)
    user = UserFactory(username="bench-prescriber")
    with connection.cursor() as cursor:
        cursor.execute(PROGRAMS, {"user": user.pk, "clinic": made.clinic_id})
        cursor.execute(SCHEDULE, {"due": due, "past": PAST_DUE, "now": now, "clinic": made.clinic_id})
        cursor.execute(LAST_COMPLETED, [made.clinic_id])
        cursor.execute(
            "DELETE FROM reminders_reminder WHERE clinic_id = %s AND message_id <> %s", [made.clinic_id, HISTORY_MARK]
        )
        cursor.execute("SELECT count(*) FROM reminders_reminder WHERE clinic_id = %s", [made.clinic_id])
        if cursor.fetchone()[0] != programs * HISTORY_WEEKS:  # history of an earlier run is kept: any weeks do
            cursor.execute("DELETE FROM reminders_reminder WHERE clinic_id = %s", [made.clinic_id])
            history = {"now": now, "weeks": HISTORY_WEEKS, "clinic": made.clinic_id, "mark": HISTORY_MARK}
            cursor.execute(HISTORY, history)
        for table in ("programs_program", "patients_patient", "reminders_reminder"):
            cursor.execute(f"ANALYZE {table}")
    Clinic.objects.filter(pk=made.clinic_id).update(quiet_hours_start="21:00", quiet_hours_end="08:00")
    return made.clinic_id


# --- The two sides ------------------------------------------------------------------------------------


class RolledBack(Exception):
    pass


def orm_ticks(now: datetime) -> tuple[float, float, Any]:
    """(first tick s, steady tick s, what the first tick wrote), all rolled back."""
    from django.db import transaction
    from django_scopes import scopes_disabled

    from apps.reminders.models import Reminder
    from apps.reminders.services import reminders_sweep

    clock = time.perf_counter
    try:
        with scopes_disabled(), transaction.atomic():
            start = clock()
            result = reminders_sweep(now=now)
            first = clock() - start
            start = clock()
            reminders_sweep(now=now + timedelta(minutes=1))
            steady = clock() - start
            written = set(
                Reminder.objects.exclude(message_id=HISTORY_MARK).values_list(
                    "program_id", "kind", "due_at", "scheduled_for", "state", "cancel_reason"
                )
            )
            raise RolledBack
    except RolledBack:
        pass
    return first, steady, (written, len(result.enqueued))


def raw_tick(conn: Any, now: datetime) -> int:
    params = {"now": now, "requeue": now - timedelta(minutes=10), "limit": 2000}
    for kind, due, extra in KINDS:
        conn.execute(MATERIALISE.format(due=due, extra=extra), {**params, "kind": kind})
    conn.execute(RECOVER, params)
    ids = [row[0] for row in conn.execute(TO_ENQUEUE, params).fetchall()]
    conn.execute(MARK, {**params, "ids": ids})
    return len(ids)


def raw_ticks(conn: Any, now: datetime) -> tuple[float, float, Any]:
    clock = time.perf_counter
    with conn.transaction(force_rollback=True):
        start = clock()
        enqueued = raw_tick(conn, now)
        first = clock() - start
        start = clock()
        raw_tick(conn, now + timedelta(minutes=1))
        steady = clock() - start
        written = set(
            conn.execute(
                "SELECT program_id, kind, due_at, scheduled_for, state, cancel_reason FROM reminders_reminder"
                " WHERE message_id <> %s",
                [HISTORY_MARK],
            ).fetchall()
        )
    return first, steady, (written, enqueued)


def raw_select(conn: Any, now: datetime) -> tuple[float, int]:
    start = time.perf_counter()
    rows = conn.execute(SELECT_DUE, {"now": now}).fetchall()
    return time.perf_counter() - start, len(rows)


def explain(conn: Any, sql: str, params: dict) -> str:
    with conn.transaction(force_rollback=True):
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
    return "\n".join(row[0] for row in rows)


# --- Main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)

    url = database_url()
    ensure_database(url)
    import django

    django.setup()
    import psycopg
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    call_command("migrate", verbosity=0, interactive=False)
    now = reference_now(ZoneInfo("Europe/Zurich"))
    print(f"preparing {args.programs} programs, {args.due} due at {now.isoformat()} …")
    started = time.perf_counter()
    with scopes_disabled():
        prepare(args.programs, args.due, now)
    print(f"prepared in {time.perf_counter() - started:.1f} s")

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    _first, _steady, (orm_rows, orm_enqueued) = orm_ticks(now)
    _first, _steady, (raw_rows, raw_enqueued) = raw_ticks(conn, now)
    if orm_rows != raw_rows or orm_enqueued != raw_enqueued:
        raise SystemExit(
            f"the baseline does other work: {len(orm_rows ^ raw_rows)} rows differ;"
            f" enqueued {orm_enqueued} vs {raw_enqueued}"
        )
    states = {}
    for row in orm_rows:
        states[row[4]] = states.get(row[4], 0) + 1
    print(f"checked: both write {len(orm_rows)} rows {states} and enqueue {orm_enqueued}")

    samples: dict[str, list[float]] = {k: [] for k in ("orm_first", "orm_steady", "raw_first", "raw_steady", "select")}
    for _ in range(args.repeat):
        # Interleaved: the machine's noise falls on both sides alike.
        first, steady, _ = orm_ticks(now)
        samples["orm_first"].append(first)
        samples["orm_steady"].append(steady)
        first, steady, _ = raw_ticks(conn, now)
        samples["raw_first"].append(first)
        samples["raw_steady"].append(steady)
        samples["select"].append(raw_select(conn, now)[0])
    figures = {name: stats(values) for name, values in samples.items()}

    def ratio(a: str, b: str) -> float:
        return figures[a]["median_ms"] / figures[b]["median_ms"]

    ratios = {
        "first_tick_vs_raw_sweep": ratio("orm_first", "raw_first"),
        "steady_tick_vs_raw_sweep": ratio("orm_steady", "raw_steady"),
        "first_tick_vs_raw_select": ratio("orm_first", "select"),
    }
    print()
    print(f"reminder sweep: {args.programs} programs, {args.due} due, {PAST_DUE} due long ago; {args.repeat} repeats")
    print(f"{'':36}{'median ms':>12}{'p95 ms':>12}")
    labels = {
        "orm_first": "sweep, first tick (materialise)",
        "raw_first": "raw sweep SQL, first tick",
        "orm_steady": "sweep, steady tick (nothing new)",
        "raw_steady": "raw sweep SQL, steady tick",
        "select": "raw select of the due rows",
    }
    for name, label in labels.items():
        print(f"{label:36}{figures[name]['median_ms']:>12.1f}{figures[name]['p95_ms']:>12.1f}")
    for name, value in ratios.items():
        print(f"ratio {name:30}{value:>11.2f}x")
    print("goal: sweep <= 2x its baseline")

    plan_select = explain(conn, SELECT_DUE, {"now": now})
    with conn.transaction(force_rollback=True):
        raw_tick(conn, now - timedelta(minutes=1))  # rows to enqueue exist, as in a first tick
        plan_enqueue = "\n".join(
            row[0]
            for row in conn.execute(
                f"EXPLAIN (ANALYZE, BUFFERS) {TO_ENQUEUE}", {"now": now, "requeue": now, "limit": 2000}
            ).fetchall()
        )
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the due-programs select:\n" + plan_select)
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the enqueue select:\n" + plan_enqueue)

    path = write_json(
        "reminder_sweep",
        {
            "benchmark": "reminder_sweep",
            "programs": args.programs,
            "due": args.due,
            "past_due_outside_window": PAST_DUE,
            "repeat": args.repeat,
            "rows_written_first_tick": len(orm_rows),
            "states_first_tick": states,
            "enqueued_first_tick": orm_enqueued,
            "figures": figures,
            "ratios": ratios,
            "goal_ratio": 2.0,
            "explain_due_select": plan_select,
            "explain_enqueue_select": plan_enqueue,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
