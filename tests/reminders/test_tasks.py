"""The Celery tasks called as functions (thin: ids in, one service, re-queue what is left), the beat
entry, and the timing settings that keep a live claim from ever being taken over."""

from __future__ import annotations

import pytest
from celery import Task
from django.conf import settings as django_settings

from apps.reminders import conf, tasks, tokens
from apps.reminders.models import Reminder, ReminderState
from spinezone.celery import app
from tests.reminders.conftest import due_reminders


@pytest.fixture
def published(monkeypatch):
    """What the tasks hand to the broker, captured instead of sent."""
    sent: list[tuple[str, tuple, dict]] = []

    def capture(self, args=None, kwargs=None, **options):
        sent.append((self.name, tuple(args or ()), {**(kwargs or {}), **options}))

    monkeypatch.setattr(Task, "apply_async", capture)
    return sent


def test_the_sweep_task_requeues_itself_while_rounds_come_back_full(open_clinic, settings, published):
    settings.REMINDER_ENQUEUE_LIMIT, settings.REMINDER_SEND_BATCH_SIZE = 2, 2
    due_reminders(open_clinic, 3)

    enqueued = tasks.sweep_reminders()

    assert enqueued == 2
    assert ("apps.reminders.tasks.sweep_reminders", (), {"rounds_left": tasks.MAX_SWEEP_ROUNDS - 1}) in published


def test_the_sweep_task_stops_requeueing_at_its_last_round(open_clinic, settings, published):
    settings.REMINDER_ENQUEUE_LIMIT = 1
    due_reminders(open_clinic, 2)

    tasks.sweep_reminders(rounds_left=1)

    assert not [name for name, _args, _kw in published if name.endswith("sweep_reminders")]


def test_the_send_task_run_twice_sends_once(sink, open_clinic, published):
    ids = [str(pk) for pk in due_reminders(open_clinic, 3)]

    first = tasks.send_reminders(ids)
    second = tasks.send_reminders(ids)

    assert (first, second, sink.count()) == (3, 0, 3)
    assert published == []


def test_the_send_task_survives_its_rows_being_gone(sink, open_clinic, published):
    ids = [str(pk) for pk in due_reminders(open_clinic, 2)]
    Reminder.objects.all().delete()

    assert tasks.send_reminders(ids) == 0
    assert sink.count() == 0


def test_a_temporary_failure_comes_back_after_its_backoff(sink, open_clinic, published, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    (pk,) = due_reminders(open_clinic, 1)
    sink.script("p0@example.test", [451])

    tasks.send_reminders([str(pk)])

    ((name, args, options),) = published
    assert (name, args) == ("apps.reminders.tasks.send_reminders", ([str(pk)],))
    assert 55 <= options["countdown"] <= 60  # short and bounded: never an ETA far ahead
    assert Reminder.objects.get().state == ReminderState.PENDING


def test_a_batch_out_of_time_requeues_the_rest_at_once(sink, open_clinic, published, settings):
    settings.REMINDER_SEND_BATCH_SECONDS = -1
    ids = [str(pk) for pk in due_reminders(open_clinic, 2)]

    tasks.send_reminders(ids)

    assert published == [("apps.reminders.tasks.send_reminders", (ids,), {})]


# --- Configuration ----------------------------------------------------------------------------------


def test_beat_sweeps_every_minute_and_the_worker_knows_both_tasks():
    entry = django_settings.CELERY_BEAT_SCHEDULE["reminders-sweep"]

    assert (entry["task"], entry["schedule"]) == ("apps.reminders.tasks.sweep_reminders", 60.0)
    assert {"apps.reminders.tasks.sweep_reminders", "apps.reminders.tasks.send_reminders"} <= set(app.tasks)


def test_timings_keep_a_live_claim_from_expiring_and_every_retry_inside_the_visibility_timeout():
    settings = django_settings
    lease, batch = conf.DEFAULTS["REMINDER_SEND_LEASE_SECONDS"], conf.DEFAULTS["REMINDER_SEND_BATCH_SECONDS"]

    # A batch stops taking ids after `batch` s; its last email may wait EMAIL_TIMEOUT: still under the
    # soft limit. The hard limit kills the task before its claims' lease runs out.
    assert batch + settings.EMAIL_TIMEOUT < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert lease > settings.CELERY_TASK_TIME_LIMIT
    assert lease < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert conf.DEFAULTS["REMINDER_RETRY_CAP_SECONDS"] < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_ACKS_LATE
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_the_unsubscribe_page_never_talks_to_the_broker(client, open_clinic, published):
    (pk,) = due_reminders(open_clinic, 1)
    token = tokens.unsubscribe_token(pk)

    assert client.get(f"/r/unsubscribe/{token}/").status_code == 200
    assert client.post(f"/r/unsubscribe/{token}/").status_code == 200
    assert published == []
