"""End to end with real processes: Celery workers (prefork, 2 processes each) consuming a private
Redis, sending to a real SMTP server on loopback, against the test database.

The sweep runs in this process, as beat's tick would run it on a worker: `reminders_sweep(now=...)`
publishes the ids on commit. Nothing here sleeps for timing: every wait polls a condition with a
deadline.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from apps.programs import services as program_services
from apps.programs import sessions
from apps.reminders.models import Reminder, ReminderState
from apps.reminders.tasks import send_reminders
from apps.reminders.tasks import sweep_and_enqueue as reminders_sweep
from tests import factories
from tests.reminders.conftest import due_programs, due_reminders, use_broker
from tests.reminders.support import SITE_URL, RedisServer, poll

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MINUTE = timedelta(minutes=1)


def states() -> Counter:
    return Counter(Reminder.objects.values_list("state", flat=True))


def all_sent(count: int) -> bool:
    return states() == Counter({ReminderState.SENT: count})


def sweep_until(done, *, timeout: float) -> None:
    """Beat's ticks, faster: sweep, then check; until `done()` or the deadline."""

    def tick() -> bool:
        reminders_sweep(now=timezone.now())
        return done()

    poll(tick, timeout=timeout, every=0.25, message="every reminder sent")


def broker_idle(redis_server: RedisServer) -> bool:
    """No message queued, and none delivered but unacknowledged (a countdown retry would be one)."""
    client = redis_server.client()
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


# --- The Monday session ---------------------------------------------------------------------------

# The worker sends at the real clock and refuses to send in the clinic's quiet hours, so the clinic
# is in a zone where it is daytime now; the schedule below is the same in any of these zones (none
# changes its offset between 2 and 6 March 2026).
DAYTIME_CANDIDATES = (
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def zone_in_daytime(now: datetime) -> ZoneInfo:
    return next(ZoneInfo(z) for z in DAYTIME_CANDIDATES if 9 <= now.astimezone(ZoneInfo(z)).hour < 19)


def test_a_monday_session_gives_exactly_one_email_at_the_due_time_outside_quiet_hours(
    broker, make_worker, sink, organization
):
    tz = zone_in_daytime(timezone.now())
    clinic = factories.ClinicFactory(
        organization=organization, name="Clinic Day", timezone=tz.key, reply_to_email="desk@day.example.test"
    )
    clinician = factories.StaffFactory(clinic=clinic, role="physical_therapist")
    patient = factories.PatientFactory(clinic=clinic, given_name="Ana", email="ana@example.test")
    machine = factories.MachineFactory(clinic=clinic)
    monday, thursday_22, friday_08 = (datetime(2026, 3, d, h, tzinfo=tz) for d, h in ((2, 10), (5, 22), (6, 8)))
    test = factories.StrengthTestFactory(patient=patient, machine=machine, performed_at=monday - timedelta(days=6))
    program = program_services.program_create(
        actor=clinician, patient=patient, region="lumbar", baseline_test=test, start_load=100
    )
    program_services.program_start(actor=clinician, program=program, now=monday - timedelta(days=3))
    values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
    sessions.session_record(
        actor=clinician, program=program, machine=machine, performed_at=monday, pain_after=2, now=monday, **values
    )
    make_worker(broker.url).start()

    ticks = [thursday_22 - MINUTE, thursday_22, friday_08 - MINUTE]
    before_eight = [reminders_sweep(now=moment).enqueued for moment in ticks]
    reminder = Reminder.objects.get()
    at_eight = reminders_sweep(now=friday_08).enqueued
    poll(lambda: all_sent(1), timeout=20, message="the reminder sent")
    after = [reminders_sweep(now=moment).enqueued for moment in (friday_08, friday_08 + MINUTE)]
    poll(lambda: broker_idle(broker), timeout=10)

    assert (reminder.due_at, reminder.scheduled_for) == (thursday_22, friday_08)
    assert before_eight == [[], [], []]
    assert at_eight == [reminder.pk]
    assert after == [[], []]
    (received,) = sink.messages()
    assert received.rcpt_tos == ("ana@example.test",)
    assert received.message["Message-ID"] == f"<reminder.{reminder.pk}@localhost>"
    assert received.message["List-Unsubscribe"].strip().startswith(f"<{SITE_URL}/r/unsubscribe/")
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.message["Reply-To"] == "desk@day.example.test"
    assert "Thursday, 5 March 2026" in received.text()
    sent = Reminder.objects.get()
    assert (sent.attempts, sent.message_id) == (1, received.message["Message-ID"])
    assert sent.sent_at is not None


# --- SMTP answers ---------------------------------------------------------------------------------


def test_a_451_then_250_is_delivered_after_a_retry(broker, make_worker, sink, open_clinic):
    due_reminders(open_clinic, 1)
    sink.script("p0@example.test", [451])
    make_worker(broker.url).start()

    reminders_sweep(now=timezone.now())
    poll(lambda: all_sent(1), timeout=20, message="delivered after the retry")
    poll(lambda: broker_idle(broker), timeout=10)

    assert sink.rcpt_attempts["p0@example.test"] == 2
    assert sink.recipients() == Counter({"p0@example.test": 1})
    assert Reminder.objects.get().attempts == 2


def test_a_550_is_marked_failed_and_not_retried(broker, make_worker, sink, open_clinic):
    due_reminders(open_clinic, 1)
    sink.script("p0@example.test", [550, 250])  # a retry would succeed: there must be none
    make_worker(broker.url).start()

    reminders_sweep(now=timezone.now())
    poll(lambda: states() == Counter({ReminderState.FAILED: 1}), timeout=20, message="the reminder failed")
    poll(lambda: broker_idle(broker), timeout=10)  # no retry message waiting either
    reminders_sweep(now=timezone.now() + timedelta(hours=1))

    failed = Reminder.objects.get()
    assert failed.last_error.startswith("SMTP 550")
    assert sink.rcpt_attempts["p0@example.test"] == 1
    assert sink.count() == 0


# --- 0 duplicates ---------------------------------------------------------------------------------


def test_the_same_task_delivered_twice_sends_each_reminder_once(broker, make_worker, sink, open_clinic):
    ids = [str(pk) for pk in due_reminders(open_clinic, 40)]
    make_worker(broker.url).start()

    for _ in range(2):
        send_reminders.apply_async(args=[ids], task_id="one-and-the-same-task")
    poll(lambda: all_sent(40), timeout=30)
    poll(lambda: broker_idle(broker), timeout=10)

    assert sink.recipients() == Counter({f"p{i}@example.test": 1 for i in range(40)})


def test_two_sweeps_at_once_and_two_workers_racing_send_each_reminder_once(
    broker, make_worker, sink, open_clinic, fast_requeue
):
    due_programs(open_clinic, 120)
    workers = [make_worker(broker.url, name=name) for name in ("w1", "w2")]
    for worker in workers:
        worker.start()
    start = threading.Barrier(2)

    def sweep() -> None:
        start.wait()
        try:
            reminders_sweep(now=timezone.now())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Ids still pending a second later are enqueued again: duplicate messages for both workers.
    sweep_until(lambda: all_sent(120), timeout=40)
    poll(lambda: broker_idle(broker), timeout=10)

    assert Reminder.objects.count() == 120
    assert sink.recipients() == Counter({f"p{i}@example.test": 1 for i in range(120)})
    assert len({received.message_id for received in sink.messages()}) == 120
    assert all(any(" ready." in line for line in worker.lines) for worker in workers)


# --- 0 lost -----------------------------------------------------------------------------------------


def test_a_worker_killed_mid_batch_loses_nothing(broker, make_worker, sink, open_clinic, fast_requeue):
    total = 300
    due_reminders(open_clinic, total)
    first = make_worker(broker.url, name="doomed").start()

    reminders_sweep(now=timezone.now())
    poll(lambda: sink.count() >= 40, timeout=20, every=0.005, message="the first emails")
    first.kill()  # SIGKILL to the worker and its pool children: no warm shutdown, no acks
    at_kill = states()
    make_worker(broker.url, name="survivor").start()
    sweep_until(lambda: all_sent(total), timeout=45)

    assert at_kill[ReminderState.SENT] < total  # it really died mid-batch
    received = sink.recipients()
    assert set(received) == {f"p{i}@example.test" for i in range(total)}  # every reminder delivered
    # At most the rows in flight at the kill can go twice (sent, not yet marked), with one Message-ID.
    twice = [address for address, n in received.items() if n > 1]
    assert len(twice) <= 2
    for address in twice:
        assert len({r.message_id for r in sink.messages() if address in r.rcpt_tos}) == 1


def test_a_redis_outage_loses_nothing(make_worker, sink, open_clinic, fast_requeue, tmp_path):
    total = 200
    outage = RedisServer(tmp_path).start()  # a Redis of its own: stopping it touches no other test
    original = use_broker_for(outage)
    try:
        due_reminders(open_clinic, total)
        make_worker(outage.url).start()
        reminders_sweep(now=timezone.now())
        poll(lambda: sink.count() >= 20, timeout=20, every=0.005, message="the first emails")
        outage.stop()  # without persistence: every queued message is gone
        # What the worker had in hand finishes (SMTP and PostgreSQL need no Redis); then all is still.
        poll(lambda: states()[ReminderState.SENDING] == 0, timeout=20)
        during = states()
        outage.start()
        sweep_until(lambda: all_sent(total), timeout=60)
    finally:
        use_broker(original)
        outage.stop()

    assert during[ReminderState.PENDING] > 0  # work was lost with the queue, not already done
    assert sink.recipients() == Counter({f"p{i}@example.test": 1 for i in range(total)})


def use_broker_for(server: RedisServer) -> str:
    from spinezone.celery import app

    original = app.conf.broker_url
    use_broker(server.url)
    return original
