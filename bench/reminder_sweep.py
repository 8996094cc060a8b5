"""Benchmark: one reminder sweep with 5,000 programs due, against hand-written SQL, in the scale dataset.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench_100k python -m bench.reminder_sweep

The data is bench.scale's network at its anchor (a noon in Zurich, so no quiet hours apply to the board
clinic): every reminder due by then was made and sent, as a sweep running every minute leaves them.
Each repetition, inside a transaction that is rolled back (the next one starts clean, and nothing
reaches a broker: ids are handed to Celery only on commit), first makes 5,000 active programs of the
first clinic due in the last 50 minutes (the same 5,000 at every size of network), then measures:

- first tick: `reminders_sweep` materialises their rows and enqueues the sendable ones;
- steady tick: the same sweep a minute later, with nothing new (what runs every other minute).

Baselines, the same run, the same database, on their own psycopg connection:

- raw sweep (PERFORMANCE.md): one transaction of INSERT ... SELECT ... ON CONFLICT DO NOTHING for each
  due kind (quiet hours and the reasons not to send computed in SQL), each feeding the INSERT of
  its audit events, the expired-claim UPDATE, SELECT ... FOR UPDATE SKIP LOCKED LIMIT n of the rows to
  enqueue, and their UPDATE;
- raw select: the single hand-written query that selects the same due rows (what the sweep must read).

The baseline is checked to write the same rows (state, reason, not-before time) and as many audit
events as the sweep: one per reminder made, as the platform audits every row it writes.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from bench.common import arguments, database_url, dataset, explain, setup_django, stats, table_row, write_json

GOAL = 2.0  # PERFORMANCE.md: the sweep within 2x its baseline
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

ROUND = 10_000  # rows a sweep makes per kind and round, as the service's batch
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
    LIMIT {ROUND}
), made AS (
    INSERT INTO reminders_reminder (id, patient_id, program_id, clinic_id, kind, channel, due_at, scheduled_for,
                                    state, cancel_reason, attempts, message_id, last_error, created_at, updated_at)
    SELECT gen_random_uuid(), patient_id, id, clinic_id, %(kind)s, 'email', due_at, scheduled_for,
           CASE WHEN reason = '' THEN 'pending' ELSE 'cancelled' END, reason, 0, '', '', %(now)s, %(now)s
    FROM due
    ON CONFLICT (patient_id, program_id, kind, due_at) WHERE appointment_id IS NULL DO NOTHING
    RETURNING id, clinic_id, patient_id
)
-- The sweep audits every row it makes (the system actor, from a command): the same events, by hand.
INSERT INTO audit_event (occurred_at, action, actor_id, actor_label, object_type, object_id, channel, request_id,
                         ip_address, organization_id, clinic_id, patient_id)
SELECT now(), 'create', NULL, 'system', 'reminders.reminder', made.id::text, 'command', '', NULL,
       c.organization_id, made.clinic_id, made.patient_id
FROM made JOIN clinics_clinic c ON c.id = made.clinic_id
"""  # noqa: S608
KINDS = (
    (
        "session_due",
        "next_due_at",
        "AND p.phase = 'training' AND p.last_completed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
        " scheduling_appointment a WHERE a.program_id = p.id AND a.state IN ('booked', 'checked_in')"
        " AND a.ends_at > p.next_due_at)",
    ),
    ("overdue", "overdue_at", ""),
    ("maintenance_due", "next_due_at", "AND p.phase = 'maintenance'"),
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
  AND p.phase = 'training' AND p.last_completed_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM reminders_reminder r WHERE r.patient_id = p.patient_id AND r.program_id = p.id
                  AND r.kind = 'session_due' AND r.due_at = p.next_due_at)
ORDER BY p.next_due_at, p.id LIMIT {ROUND}"""  # noqa: S608

# --- Data ---------------------------------------------------------------------------------------------

# The due batch, made for the run and undone after it: the first `due` active programs of the clinic
# came due in the last 50 minutes, their last session 3 days 12 hours before; nothing else of theirs is due.
SAVE = """CREATE TEMPORARY TABLE due_batch_saved AS
SELECT id, next_due_at, last_completed_at, overdue_at, lapse_at, questionnaire_due_at FROM programs_program
WHERE clinic_id = %(clinic)s AND status = 'active' ORDER BY id LIMIT %(due)s"""
RESTORE = """UPDATE programs_program p SET next_due_at = s.next_due_at, last_completed_at = s.last_completed_at,
    overdue_at = s.overdue_at, lapse_at = s.lapse_at, questionnaire_due_at = s.questionnaire_due_at
FROM due_batch_saved s WHERE p.id = s.id"""
DUE_BATCH = """
UPDATE programs_program p SET
    next_due_at = %(now)s - make_interval(secs => b.rank * 3000 / %(due)s),
    last_completed_at = %(now)s - make_interval(secs => b.rank * 3000 / %(due)s) - interval '84 hours',
    overdue_at = %(now)s + interval '3 days', lapse_at = %(now)s + interval '10 days',
    questionnaire_due_at = %(now)s + interval '10 days'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM programs_program
      WHERE clinic_id = %(clinic)s AND status = 'active' ORDER BY id LIMIT %(due)s) b
WHERE p.id = b.id
"""
# The reminders of the sweep's window: what a tick wrote is what this returns beyond what it did before.
WINDOW_ROWS = f"""SELECT id, program_id, kind, due_at, scheduled_for, state, cancel_reason FROM reminders_reminder
WHERE due_at > %(now)s - {WINDOW} - interval '1 hour'"""  # noqa: S608


# The audit events a tick wrote (the chain numbers them after the head at the start).
EVENTS_SINCE = "SELECT count(*) FROM audit_event WHERE seq > %(head)s"


def written(rows: list[tuple], before: set[Any]) -> set[tuple]:
    return {row[1:] for row in rows if row[0] not in before}


# --- The two sides ------------------------------------------------------------------------------------


class RolledBack(Exception):
    pass


def orm_ticks(batch: dict[str, Any]) -> tuple[float, float, Any]:
    """(first tick s, steady tick s, what the first tick wrote), all rolled back."""
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from apps.reminders.services import reminders_sweep

    now, clock = batch["now"], time.perf_counter
    try:
        with scopes_disabled(), transaction.atomic():
            start = clock()
            result = reminders_sweep(now=now)
            first = clock() - start
            start = clock()
            reminders_sweep(now=now + timedelta(minutes=1))
            steady = clock() - start
            with connection.cursor() as cursor:
                cursor.execute(WINDOW_ROWS, batch)
                made = written(cursor.fetchall(), batch["before"])
                cursor.execute(EVENTS_SINCE, batch)
                made.add(("audit events", cursor.fetchone()[0]))
            raise RolledBack
    except RolledBack:
        pass
    return first, steady, (made, len(result.enqueued))


def raw_tick(conn: Any, now: datetime) -> int:
    params = {"now": now, "requeue": now - timedelta(minutes=10), "limit": 2000}
    for kind, due, extra in KINDS:
        conn.execute(MATERIALISE.format(due=due, extra=extra), {**params, "kind": kind})
    conn.execute(RECOVER, params)
    ids = [row[0] for row in conn.execute(TO_ENQUEUE, params).fetchall()]
    conn.execute(MARK, {**params, "ids": ids})
    return len(ids)


def raw_ticks(conn: Any, batch: dict[str, Any]) -> tuple[float, float, Any]:
    now, clock = batch["now"], time.perf_counter
    with conn.transaction(force_rollback=True):
        start = clock()
        enqueued = raw_tick(conn, now)
        first = clock() - start
        start = clock()
        raw_tick(conn, now + timedelta(minutes=1))
        steady = clock() - start
        made = written(conn.execute(WINDOW_ROWS, batch).fetchall(), batch["before"])
        made.add(("audit events", conn.execute(EVENTS_SINCE, batch).fetchone()[0]))
    return first, steady, (made, enqueued)


def raw_select(conn: Any, batch: dict[str, Any]) -> float:
    with conn.transaction(force_rollback=True):
        start = time.perf_counter()
        conn.execute(SELECT_DUE, batch).fetchall()
        return time.perf_counter() - start


def explain_after_tick(conn: Any, batch: dict[str, Any], sql: str, params: dict[str, Any]) -> str:
    """The plan of `sql` with a first tick's rows in place (rows to enqueue exist), all rolled back."""
    with conn.transaction(force_rollback=True):
        raw_tick(conn, batch["now"] - timedelta(minutes=1))
        return explain(conn, sql, params)


# --- Main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = arguments(
        __doc__,
        due=dict(type=int, default=5_000, help="programs made due (default 5,000)"),
        repeat=dict(type=int, default=15),
    )
    args = parser.parse_args(argv)

    url = database_url()
    made = dataset(url)
    setup_django(url)
    import psycopg

    batch: dict[str, Any] = {"now": made.anchor, "due": args.due, "clinic": made.board_clinic_id}
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    batch["before"] = {row[0] for row in conn.execute(WINDOW_ROWS, batch).fetchall()}
    batch["head"] = conn.execute("SELECT coalesce(max(seq), 0) FROM audit_event").fetchone()[0]
    conn.execute(SAVE, batch)
    conn.execute(DUE_BATCH, batch)
    try:
        return measure(conn, made, batch, args)
    finally:
        conn.execute(RESTORE)
        conn.execute("VACUUM (ANALYZE) programs_program, reminders_reminder")


def tidy(conn: Any) -> None:
    """Clear what a rolled-back tick left (dead rows at the top of the indexes), so every tick starts alike."""
    conn.execute("VACUUM reminders_reminder, audit_event")


def measure(conn: Any, made: Any, batch: dict[str, Any], args: Any) -> int:
    _first, _steady, (orm_rows, orm_enqueued) = orm_ticks(batch)
    tidy(conn)
    _first, _steady, (raw_rows, raw_enqueued) = raw_ticks(conn, batch)
    tidy(conn)
    if orm_rows != raw_rows or orm_enqueued != raw_enqueued:
        raise SystemExit(
            f"the baseline does other work: {len(orm_rows ^ raw_rows)} rows differ;"
            f" enqueued {orm_enqueued} vs {raw_enqueued}"
        )
    states: dict[str, int] = {}
    for row in orm_rows:
        if len(row) == 6:
            states[row[4]] = states.get(row[4], 0) + 1
    audited = next(count for row in orm_rows if row[0] == "audit events" for count in row[1:])
    print(
        f"checked: both write {sum(states.values())} reminders {states}, {audited} audit events, enqueue {orm_enqueued}"
    )

    samples: dict[str, list[float]] = {k: [] for k in ("orm_first", "orm_steady", "raw_first", "raw_steady", "select")}
    for _ in range(args.repeat):
        # Interleaved: the machine's noise falls on both sides alike.
        first, steady, _ = orm_ticks(batch)
        samples["orm_first"].append(first)
        samples["orm_steady"].append(steady)
        tidy(conn)
        first, steady, _ = raw_ticks(conn, batch)
        samples["raw_first"].append(first)
        samples["raw_steady"].append(steady)
        tidy(conn)
        samples["select"].append(raw_select(conn, batch))
    figures = {name: stats(values) for name, values in samples.items()}

    def ratio(a: str, b: str) -> float:
        return figures[a]["median_ms"] / figures[b]["median_ms"]

    ratios = {
        "first_tick_vs_raw_sweep": ratio("orm_first", "raw_first"),
        "steady_tick_vs_raw_sweep": ratio("orm_steady", "raw_steady"),
        "first_tick_vs_raw_select": ratio("orm_first", "select"),
    }
    programs = conn.execute("SELECT count(*) FROM programs_program").fetchone()[0]
    print()
    print(
        f"reminder sweep: {programs:,} programs ({made.patients:,} patients), {args.due:,} due; {args.repeat} repeats"
    )
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
    print(f"goal: sweep <= {GOAL:.0f}x its baseline")

    plans = {
        "due programs (select)": explain(conn, SELECT_DUE, batch),
        "rows to enqueue": explain_after_tick(
            conn, batch, TO_ENQUEUE, {"now": made.anchor, "requeue": made.anchor, "limit": 2000}
        ),
    }
    for label, plan in plans.items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the {label}:\n{plan}")

    goal = f"<= {GOAL:.0f}x"
    path = write_json(
        "reminder_sweep",
        {
            "patients": made.patients,
            "programs": programs,
            "due": args.due,
            "repeat": args.repeat,
            "rows_written_first_tick": sum(states.values()),
            "audit_events_first_tick": audited,
            "states_first_tick": states,
            "enqueued_first_tick": orm_enqueued,
            "figures": figures,
            "ratios": ratios,
            "goal_ratio": GOAL,
            "table": [
                table_row(
                    f"reminder sweep, first tick ({args.due:,} due)",
                    figures["orm_first"],
                    figures["raw_first"],
                    goal=goal,
                    met=ratios["first_tick_vs_raw_sweep"] <= GOAL,
                ),
                table_row(
                    "reminder sweep, steady tick",
                    figures["orm_steady"],
                    figures["raw_steady"],
                    goal=goal,
                    met=ratios["steady_tick_vs_raw_sweep"] <= GOAL,
                ),
            ],
            "explain": plans,
        },
        args.out,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
