"""Tuning of the reminder pipeline, with defaults here; a settings module may override any of them.

These are engineering constants, not deployment configuration (none is read from the environment):
tests shorten the leases and delays so a killed worker is recovered in seconds, not minutes.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

DEFAULTS: dict[str, float] = {
    # A due time is materialised within this long after it came; an older one is left alone (the
    # next reminder kind, e.g. overdue, covers a patient missed during a long outage).
    "REMINDER_MATERIALISE_WINDOW_HOURS": 24,
    # Rows per materialise query and ids per enqueue round; a full round re-queues the sweep.
    "REMINDER_MATERIALISE_LIMIT": 10_000,
    "REMINDER_ENQUEUE_LIMIT": 2_000,
    # Ids per send task: one SMTP connection serves a batch.
    "REMINDER_SEND_BATCH_SIZE": 50,
    # A send task stops taking ids after this long and re-queues the rest, staying far below the
    # soft time limit (240 s) even when the last email waits out EMAIL_TIMEOUT.
    "REMINDER_SEND_BATCH_SECONDS": 60,
    # A claim lasts this long. It must exceed the send task's hard time limit (300 s): a live worker's
    # claim must never expire, or a slow send could be claimed and sent again.
    "REMINDER_SEND_LEASE_SECONDS": 600,
    # An id enqueued this long ago whose row is still pending was lost by the broker (e.g. a Redis
    # restart without persistence): the sweep enqueues it again. Longer than any plausible backlog.
    "REMINDER_REQUEUE_AFTER_SECONDS": 600,
    # Temporary SMTP failures (4xx, lost connection): retry after base, 2 x base, … up to the cap.
    "REMINDER_RETRY_BASE_SECONDS": 60,
    "REMINDER_RETRY_CAP_SECONDS": 900,
    "REMINDER_MAX_ATTEMPTS": 8,
    # An unsubscribe link works this long after the email was sent.
    "REMINDER_UNSUBSCRIBE_MAX_AGE_DAYS": 180,
    # DOMAIN.md "Appointments": `appointment_upcoming` goes this long before the start (the evening
    # before instead when that falls in the clinic's quiet hours).
    "REMINDER_UPCOMING_LEAD_HOURS": 24,
    # A "choose a time" link in a due or overdue email books for this long after it was sent: past
    # it, a newer reminder (overdue, then lapsed care) has taken over.
    "REMINDER_BOOKING_LINK_MAX_AGE_DAYS": 14,
    # A cancel link lasts as long as the furthest booking horizon a clinic may set (and is refused
    # once the appointment has begun).
    "REMINDER_CANCEL_LINK_MAX_AGE_DAYS": 180,
    # Free times shown on the booking page (the email suggests the best three).
    "REMINDER_BOOKING_PAGE_SLOTS": 9,
}


def value(name: str) -> float:
    return getattr(settings, name, DEFAULTS[name])


def seconds(name: str) -> timedelta:
    return timedelta(seconds=value(name))


def count(name: str) -> int:
    return int(value(name))
