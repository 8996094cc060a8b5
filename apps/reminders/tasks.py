"""Reminder tasks. Thin: they take ids (or nothing), call one service, and re-queue what is left.

Both are safe to run twice, concurrently, or after their rows are gone: the sweep inserts if absent
and locks with SKIP LOCKED, and the send task claims each row by compare-and-set.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from apps.audit.context import origin
from apps.reminders import conf, delivery, services

logger = logging.getLogger(__name__)

MAX_SWEEP_ROUNDS = 10  # at most 10 enqueue rounds (20,000 ids) per beat tick; the next tick carries on


def _countdown(until: datetime) -> float:
    return max((until - timezone.now()).total_seconds(), 0.0)


def enqueue_sends(reminder_ids: Sequence[uuid.UUID]) -> None:
    """The ids to `send_reminders` in batches of REMINDER_SEND_BATCH_SIZE, when the caller's transaction commits."""
    size = conf.count("REMINDER_SEND_BATCH_SIZE")
    for start in range(0, len(reminder_ids), size):
        send_reminders.delay_on_commit([str(pk) for pk in reminder_ids[start : start + size]])


def sweep_and_enqueue(*, now: datetime) -> services.SweepResult:
    """One beat tick: the sweep's transaction, then its ids to the broker when that commits.

    Called inside another transaction (a test's), the sends wait for that one to commit, or vanish with it.
    """
    result = services.reminders_sweep(now=now)
    enqueue_sends(result.enqueued)
    return result


@shared_task(ignore_result=True)
def sweep_reminders(rounds_left: int = MAX_SWEEP_ROUNDS) -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): materialise, recover, enqueue; again while rounds come back full."""
    with origin(request_id=uuid.uuid4().hex, ip_address=None, channel="task"):
        result = sweep_and_enqueue(now=timezone.now())
    if result.more and rounds_left > 1:
        sweep_reminders.delay(rounds_left=rounds_left - 1)
    return len(result.enqueued)


# Hard limit 300 s (settings) < the claim lease (600 s) < the broker's visibility timeout (3600 s).
@shared_task(ignore_result=True)
def send_reminders(reminder_ids: list[str]) -> int:
    """Send a batch of reminders by id; temporary failures come back after their backoff."""
    with origin(request_id=uuid.uuid4().hex, ip_address=None, channel="task"):
        report = delivery.reminders_deliver(reminder_ids=reminder_ids)
    if report.unprocessed:
        send_reminders.delay(report.unprocessed)
    if report.retry and report.retry_at is not None:
        # Short, bounded countdowns only (REMINDER_RETRY_CAP_SECONDS): the row is the record, and the
        # sweep re-enqueues it should this message be lost.
        send_reminders.apply_async(args=[report.retry], countdown=_countdown(report.retry_at))
    if report.outcomes:
        outcomes = ", ".join(f"{outcome} {n}" for outcome, n in report.outcomes.items())
        logger.info("Reminder batch of %d: %s", len(reminder_ids), outcomes)
    return report.outcomes.get(delivery.Outcome.SENT, 0)
