"""Benchmark: reminder delivery with 2 Celery worker processes to a local SMTP server, vs raw smtplib.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench python -m bench.reminder_delivery

It works in a database of its own, DATABASE_URL's name + "_delivery" (created when missing).

Everything real and on loopback: a private redis-server (no persistence) as the broker, an aiosmtpd
server in a process of its own that counts the messages it accepts, and `celery -A spinezone worker
--pool prefork --concurrency 2` (one worker, two processes). Each round makes N pending reminders
due now, runs one sweep (which publishes their ids in batches) and measures the time until the SMTP
server has accepted all N: claim, re-check, render, send, mark sent and audit, per email.

The baseline, the same run: two processes, each with one reused `smtplib` connection, sending the same
N messages (rendered beforehand, so the baseline does no rendering at all) to the same server.
Rounds alternate between the two sides. Figures are emails per second (median of the rounds).
"""

from __future__ import annotations

import multiprocessing
import os
import smtplib
import statistics
import tempfile
import time
from datetime import time as wall_time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import arguments, database_url, ensure_database, table_row, write_json

GOAL_PER_S, GOAL_RATIO = 100, 0.25  # PERFORMANCE.md

ORGANIZATION = "bench-delivery"


# --- The SMTP server: a process of its own, so its event loop competes with nobody's GIL ----------------


class CountingHandler:
    def __init__(self, counter: Any) -> None:
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 Message accepted"


def serve_smtp(port: int, counter: Any, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(CountingHandler(counter), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


# --- The baseline -------------------------------------------------------------------------------------


def raw_sender(port: int, messages: list[tuple[str, str, bytes]], connected: Any, go: Any) -> None:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        connected.wait()  # a barrier: both connected before the clock starts
        go.wait()
        for sender, recipient, body in messages:
            smtp.sendmail(sender, [recipient], body)


def raw_round(port: int, messages: list[tuple[str, str, bytes]], counter: Any) -> float:
    context = multiprocessing.get_context("fork")
    connected, go = context.Barrier(3), context.Event()
    halves = [messages[0::2], messages[1::2]]
    senders = [context.Process(target=raw_sender, args=(port, half, connected, go)) for half in halves]
    for sender in senders:
        sender.start()
    connected.wait()
    start_count = counter.value
    start = time.perf_counter()
    go.set()
    _wait_for(counter, start_count + len(messages))
    elapsed = time.perf_counter() - start
    for sender in senders:
        sender.join()
    return elapsed


def _wait_for(counter: Any, target: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while counter.value < target:
        if time.monotonic() > deadline:
            raise SystemExit(f"the SMTP server got {counter.value} of {target} messages in {timeout} s")
        time.sleep(0.002)


# --- Our side -----------------------------------------------------------------------------------------


def clinic_with_patients(count: int) -> Any:
    from apps.clinics.models import Clinic, Organization
    from apps.patients.models import Patient
    from tests import factories

    organization, _ = Organization.objects.get_or_create(slug=ORGANIZATION, defaults={"name": "Delivery benchmark"})
    clinic, _ = Clinic.objects.get_or_create(
        organization=organization,
        name="Delivery bench clinic",
        defaults={"timezone": "UTC", "quiet_hours_start": wall_time(0), "quiet_hours_end": wall_time(0)},
    )
    missing = count - Patient.objects.filter(clinic=clinic).count()
    if missing > 0:
        factories.PatientFactory.create_batch(missing, clinic=clinic, given_name="Ana")
    return clinic


def fresh_reminders(clinic: Any, count: int) -> list[Any]:
    """`count` pending reminders due a minute ago, one per patient, with the programs they need."""
    from django.utils import timezone

    from apps.patients.models import Patient
    from apps.programs.models import Program, ProgramStatus
    from apps.reminders.models import Reminder, ReminderKind
    from tests import factories

    Reminder.objects.filter(clinic=clinic).delete()
    due = timezone.now() - timedelta(minutes=1)
    prescriber = factories.UserFactory(username="bench-delivery-prescriber")
    Program.objects.filter(clinic=clinic).delete()
    patients = list(Patient.objects.filter(clinic=clinic).order_by("mrn")[:count])
    fields = {"region": "lumbar", "machine_kind": "lumbar_extension", "load_unit": "ft_lbf", "start_load": 100}
    programs = Program.objects.bulk_create(
        Program(
            patient=p,
            clinic=clinic,
            status=ProgramStatus.ACTIVE,
            prescribed_by=prescriber,
            last_completed_at=due - timedelta(days=3, hours=12),
            next_due_at=due,
            **fields,
        )
        for p in patients
    )
    return Reminder.objects.bulk_create(
        Reminder(
            patient_id=p.patient_id,
            program=p,
            clinic=clinic,
            kind=ReminderKind.SESSION_DUE,
            due_at=due,
            scheduled_for=due,
        )
        for p in programs
    )


def rendered(reminders: list[Any]) -> list[tuple[str, str, bytes]]:
    from apps.reminders.emails import reminder_email
    from apps.reminders.models import Reminder

    rows = Reminder.objects.select_related("patient", "clinic").filter(pk__in=[r.pk for r in reminders])
    messages = []
    for reminder in rows:
        message = reminder_email(reminder)
        # As Django's SMTP backend hands it to smtplib: CRLF line ends.
        messages.append((message.from_email, message.to[0], message.message().as_bytes(linesep="\r\n")))
    return messages


def worker_round(clinic: Any, count: int, counter: Any) -> tuple[float, dict]:
    from collections import Counter

    from django.utils import timezone

    from apps.reminders.models import Reminder
    from apps.reminders.tasks import sweep_and_enqueue

    fresh_reminders(clinic, count)
    start_count = counter.value
    start = time.perf_counter()
    result = sweep_and_enqueue(now=timezone.now())
    _wait_for(counter, start_count + count)
    elapsed = time.perf_counter() - start
    if len(result.enqueued) != count:
        raise SystemExit(f"the sweep enqueued {len(result.enqueued)} of {count}")
    deadline = time.monotonic() + 30
    while (states := Counter(Reminder.objects.filter(clinic=clinic).values_list("state", flat=True))) != {
        "sent": count
    } and time.monotonic() < deadline:
        time.sleep(0.01)  # the last rows are marked sent just after the server took them
    return elapsed, dict(states)


def main(argv: list[str] | None = None) -> int:
    parser = arguments(
        __doc__, emails=dict(type=int, default=2_000), rounds=dict(type=int, default=3, help="rounds each side")
    )
    args = parser.parse_args(argv)

    # A database of its own (<name>_delivery): the sweep is system-wide, and the scale dataset's
    # programs must not join these rounds.
    url = f"{database_url()}_delivery"
    os.environ["DATABASE_URL"] = url
    ensure_database(url)
    from tests.reminders.support import RedisServer, WorkerProcess, free_port

    workdir = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    redis_server = RedisServer(workdir).start()
    smtp_port = free_port()
    context = multiprocessing.get_context("fork")
    counter, ready, stop = context.Value("i", 0), context.Event(), context.Event()
    smtp_server = context.Process(target=serve_smtp, args=(smtp_port, counter, ready, stop), daemon=True)
    smtp_server.start()
    ready.wait(10)
    settings_env = {
        "CELERY_BROKER_URL": redis_server.url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SITE_URL": "https://spinezone.example.test",
    }
    os.environ.update(settings_env)
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django_scopes import scopes_disabled

        call_command("migrate", verbosity=0, interactive=False)
        with scopes_disabled():
            clinic = clinic_with_patients(args.emails)
            messages = rendered(fresh_reminders(clinic, args.emails))
        environment = {**os.environ, **settings_env, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
        worker = WorkerProcess(environment, name="bench", concurrency=2).start(timeout=60)

        ours, raw, states = [], [], {}
        for _ in range(args.rounds):
            with scopes_disabled():
                elapsed, states = worker_round(clinic, args.emails, counter)
            ours.append(args.emails / elapsed)
            connections.close_all()  # the senders are forked: they must not share our database socket
            raw.append(args.emails / raw_round(smtp_port, messages, counter))
    except BaseException:
        if worker is not None:
            print("worker log (tail):\n" + "".join(worker.lines[-60:]))
        raise
    finally:
        if worker is not None:
            worker.stop()
        stop.set()
        smtp_server.join(10)
        redis_server.stop()

    figures = {"ours_per_s": statistics.median(ours), "raw_per_s": statistics.median(raw)}
    ratio = figures["ours_per_s"] / figures["raw_per_s"]
    print()
    print(f"reminder delivery: {args.emails} emails per round, {args.rounds} rounds, 2 processes each side")
    print(f"{'':44}{'emails/s (median)':>18}{'rounds':>30}")
    print(f"{'sweep + 2 Celery worker processes':44}{figures['ours_per_s']:>18.0f}{[round(x) for x in ours]!s:>30}")
    raw_label = "raw smtplib, 2 processes, 1 connection each"
    print(f"{raw_label:44}{figures['raw_per_s']:>18.0f}{[round(x) for x in raw]!s:>30}")
    print(f"{'ratio':44}{ratio:>17.2f}x")
    print(f"goals: >= {GOAL_PER_S} emails/s and >= {GOAL_RATIO}x the raw loop")
    print(f"rows after the last round: {states}")
    # A throughput: the p95 column holds the slowest round (the rate 95 % of rounds reach or beat).
    line = table_row(
        "reminder delivery, 2 workers (emails/s)",
        {"median": figures["ours_per_s"], "p95": min(ours)},
        {"median": figures["raw_per_s"], "p95": min(raw)},
        goal=f">= {GOAL_PER_S}/s and >= {GOAL_RATIO}x",
        met=figures["ours_per_s"] >= GOAL_PER_S and ratio >= GOAL_RATIO,
        unit="emails/s",
    )
    path = write_json(
        "reminder_delivery",
        {
            "emails_per_round": args.emails,
            "rounds": args.rounds,
            "ours_per_round": ours,
            "raw_per_round": raw,
            **figures,
            "ratio": ratio,
            "goals": {"emails_per_s": GOAL_PER_S, "ratio": GOAL_RATIO},
            "rows_after_last_round": states,
            "table": [line],
        },
        args.out,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
