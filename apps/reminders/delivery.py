"""Sending reminders: claim rows, check each may still go, render, send over SMTP, record the outcome.

Deliberately not one transaction: an SMTP conversation must not hold a database transaction (and
row locks) open, and a claim must be committed before any email leaves so that no other worker can
take the row. So each step commits on its own:

    claim the batch (pending → sending, claim token, lease, attempts + 1)   before any SMTP traffic
    send one email                                                          no transaction open
    mark it sent | retry later | failed                                     with its audit event

A worker killed between steps leaves its rows in `sending`; when their lease expires the sweep
returns them to pending (services.recover_expired_claims), so nothing is lost. Every step after the
claim is a compare-and-set on the claim token, so a duplicated task, a second worker or a late
worker can never send a row twice or overwrite another's outcome. The one window left is a worker
dying after the server took an email and before the mark committed: that email goes again, with the
same Message-ID.
"""

from __future__ import annotations

import enum
import logging
import smtplib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit import events
from apps.audit.events import SYSTEM
from apps.reminders import conf, emails, rules
from apps.reminders.models import Reminder, ReminderState

logger = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # not claimable: another worker has it, it is done, or it is not due yet
    CANCELLED = "cancelled"
    DEFERRED = "deferred"  # quiet hours at the clinic right now
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    retry_at: datetime | None = None
    connection_lost: bool = False


# --- Claims ---------------------------------------------------------------------------------------


@transaction.atomic
def reminders_claim(*, reminder_ids: Sequence[Any], now: datetime) -> list[Reminder]:
    """Compare-and-set pending → sending for the rows of `reminder_ids` that are ours to send.

    One UPDATE for the batch (one commit, not one per email); the rows it won carry our claim
    token, which is how they are told from rows another worker won at the same moment.
    """
    token = uuid.uuid4()
    Reminder.objects.filter(pk__in=reminder_ids, state=ReminderState.PENDING, scheduled_for__lte=now).update(
        state=ReminderState.SENDING,
        claim=token,
        lease_until=now + conf.seconds("REMINDER_SEND_LEASE_SECONDS"),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    claimed = Reminder.objects.filter(claim=token).select_related(
        "patient", "program", "clinic", "appointment", "appointment__clinic"
    )
    order = {str(pk): index for index, pk in enumerate(reminder_ids)}
    return sorted(claimed, key=lambda reminder: order.get(str(reminder.pk), 0))


def _ours(reminder: Reminder) -> Any:
    """The row while our claim on it holds."""
    return Reminder.objects.filter(pk=reminder.pk, state=ReminderState.SENDING, claim=reminder.claim)


@transaction.atomic
def reminders_release(*, reminders: Sequence[Reminder], now: datetime) -> int:
    """Give back claims not acted on (time budget spent, server gone): pending again, attempt returned."""
    tokens = {reminder.claim for reminder in reminders}
    return Reminder.objects.filter(
        pk__in=[reminder.pk for reminder in reminders], state=ReminderState.SENDING, claim__in=tokens
    ).update(state=ReminderState.PENDING, claim=None, lease_until=None, attempts=F("attempts") - 1, updated_at=now)


# --- Outcomes (each atomic) -----------------------------------------------------------------------

DONE = {"claim": None, "lease_until": None}


@transaction.atomic
def reminder_mark_sent(*, reminder: Reminder, message_id: str, now: datetime) -> bool:
    if connection.vendor == "postgresql":
        # Asynchronous commit: this mark can be lost only if PostgreSQL itself crashes in the next
        # fraction of a second, and then the claim expires and the email goes again (same Message-ID).
        # Never lost, at worst repeated; in exchange no fsync wait per email.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    marked = _ours(reminder).update(
        state=ReminderState.SENT, sent_at=now, message_id=message_id, last_error="", updated_at=now, **DONE
    )
    if marked:
        events.record(action=events.Action.UPDATE, obj=reminder, actor=SYSTEM)
    else:  # only if the claim outlived its lease, which the time limits rule out: the row may go again
        logger.warning("Reminder %s was sent but its claim had been taken back.", reminder.pk)
    return bool(marked)


@transaction.atomic
def reminder_cancel(*, reminder: Reminder, reason: str, now: datetime) -> bool:
    cancelled = _ours(reminder).update(state=ReminderState.CANCELLED, cancel_reason=reason, updated_at=now, **DONE)
    if cancelled:
        events.record(action=events.Action.UPDATE, obj=reminder, actor=SYSTEM)
    return bool(cancelled)


@transaction.atomic
def reminder_defer(*, reminder: Reminder, until: datetime, now: datetime) -> bool:
    """Back to pending for `until`; the attempt is given back (nothing was tried)."""
    return bool(
        _ours(reminder).update(
            state=ReminderState.PENDING,
            scheduled_for=until,
            attempts=F("attempts") - 1,
            enqueued_at=None,
            updated_at=now,
            **DONE,
        )
    )


def _error_text(error: Exception) -> str:
    code = rules.smtp_reply_code(error)
    detail = str(error) or type(error).__name__
    return (f"SMTP {code}: " if code else f"{type(error).__name__}: ") + detail[:400]


def _retry_at(reminder: Reminder, now: datetime) -> datetime:
    delay = rules.retry_delay(
        reminder.attempts, conf.value("REMINDER_RETRY_BASE_SECONDS"), conf.value("REMINDER_RETRY_CAP_SECONDS")
    )
    clinic = reminder.clinic
    return rules.next_allowed_send(now + delay, clinic.tzinfo, clinic.quiet_hours_start, clinic.quiet_hours_end)


@transaction.atomic
def reminder_send_failed(*, reminder: Reminder, error: Exception, now: datetime) -> Delivery:
    """5xx, or the last attempt: failed for good. Otherwise back to pending, to be retried later."""
    lost = rules.smtp_reply_code(error) in (None, 421)  # no reply, or the server is closing the channel
    if rules.is_permanent_failure(error) or reminder.attempts >= conf.count("REMINDER_MAX_ATTEMPTS"):
        if _ours(reminder).update(state=ReminderState.FAILED, last_error=_error_text(error), updated_at=now, **DONE):
            events.record(action=events.Action.UPDATE, obj=reminder, actor=SYSTEM)
        return Delivery(Outcome.FAILED, connection_lost=lost)
    retry_at = _retry_at(reminder, now)
    # enqueued_at = retry_at: the task's own delayed retry comes first; the sweep steps in only if
    # that message is lost (REMINDER_REQUEUE_AFTER_SECONDS later).
    _ours(reminder).update(
        state=ReminderState.PENDING,
        scheduled_for=retry_at,
        enqueued_at=retry_at,
        last_error=_error_text(error),
        updated_at=now,
        **DONE,
    )
    return Delivery(Outcome.RETRY, retry_at=retry_at, connection_lost=lost)


# --- One claimed reminder -------------------------------------------------------------------------


def _quiet_until(reminder: Reminder, now: datetime) -> datetime | None:
    clinic = reminder.clinic
    allowed = rules.next_allowed_send(now, clinic.tzinfo, clinic.quiet_hours_start, clinic.quiet_hours_end)
    return allowed if allowed > now else None


def reminder_deliver(*, reminder: Reminder, connection: Any, now: datetime) -> Delivery:
    """Re-check, send and record one claimed reminder."""
    # Checked again at send time: consent, unsubscribe, the patient and the program may all have
    # changed since the sweep, and a session recorded since makes this due time stale.
    if reason := reminder.block_reason(now=now):
        reminder_cancel(reminder=reminder, reason=reason, now=now)
        return Delivery(Outcome.CANCELLED)
    # A backlog (or a clinic changing its hours) must not push an email into the night.
    if until := _quiet_until(reminder, now):
        reminder_defer(reminder=reminder, until=until, now=now)
        return Delivery(Outcome.DEFERRED)
    message = emails.reminder_email(reminder, now=now)
    try:
        connection.open()  # once per batch: send_messages then leaves the connection open
        connection.send_messages([message])
    except (smtplib.SMTPException, OSError) as error:
        return reminder_send_failed(reminder=reminder, error=error, now=now)
    reminder_mark_sent(reminder=reminder, message_id=message.extra_headers["Message-ID"], now=now)
    return Delivery(Outcome.SENT)


# --- A batch (one send task) ------------------------------------------------------------------------


@dataclass
class BatchReport:
    outcomes: dict[str, int] = field(default_factory=dict)
    retry: list[str] = field(default_factory=list)
    retry_at: datetime | None = None
    unprocessed: list[str] = field(default_factory=list)

    def add(self, reminder: Reminder, delivery: Delivery) -> None:
        self.count(delivery.outcome)
        if delivery.retry_at is not None:
            self.retry.append(str(reminder.pk))
            self.retry_at = max(filter(None, (self.retry_at, delivery.retry_at)))

    def count(self, outcome: Outcome, n: int = 1) -> None:
        if n:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n


def _hand_back(report: BatchReport, rest: list[Reminder], delivery: Delivery | None, now: datetime) -> None:
    """Claims not acted on go back to pending: with the failed row when the server went away (it is
    unlikely to take the next email a millisecond later), else to be re-queued at once."""
    reminders_release(reminders=rest, now=now)
    ids = [str(reminder.pk) for reminder in rest]
    if delivery is not None and delivery.retry_at is not None:
        report.retry.extend(ids)
    else:
        report.unprocessed.extend(ids)


@scopes_disabled()  # a system task over every clinic, not a user's view of some
def reminders_deliver(*, reminder_ids: Sequence[str], now: datetime | None = None) -> BatchReport:
    """Deliver a batch over one SMTP connection, within a time budget."""
    report = BatchReport()
    claimed = reminders_claim(reminder_ids=reminder_ids, now=now or timezone.now())
    report.count(Outcome.SKIPPED, len(reminder_ids) - len(claimed))
    mail = get_connection(fail_silently=False)
    deadline = time.monotonic() + conf.value("REMINDER_SEND_BATCH_SECONDS")
    try:
        for index, reminder in enumerate(claimed):
            if time.monotonic() > deadline:
                _hand_back(report, claimed[index:], None, now or timezone.now())
                break
            delivery = reminder_deliver(reminder=reminder, connection=mail, now=now or timezone.now())
            report.add(reminder, delivery)
            if delivery.connection_lost:
                mail.close()
                _hand_back(report, claimed[index + 1 :], delivery, now or timezone.now())
                break
    finally:
        mail.close()
    return report
