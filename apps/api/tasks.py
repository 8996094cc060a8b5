"""API upkeep."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from apps.api.models import IdempotencyRecord

PURGE_BATCH_SIZE = 5_000  # one indexed DELETE of this many rows takes well under a second


@shared_task(ignore_result=True)
def purge_idempotency_records() -> int:
    """Delete replay records past their 24 hours, a bounded batch at a time; safe to run twice.

    An expired record is already ignored (a retry after the window is a new request), so this only
    keeps the table small. The records hold API responses, patient data among them: keeping them
    longer than their purpose needs is keeping patient data for nothing.
    """
    expired = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).values("pk")[:PURGE_BATCH_SIZE]
    deleted, _ = IdempotencyRecord.objects.filter(pk__in=expired).delete()
    if deleted == PURGE_BATCH_SIZE:
        purge_idempotency_records.delay()
    return deleted
