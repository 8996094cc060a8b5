from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.api import tasks
from apps.api.models import IdempotencyRecord
from spinezone.celery import app

pytestmark = pytest.mark.django_db


def record(key, expires_in):
    return IdempotencyRecord.objects.create(
        principal="partner:1",
        key=key,
        request_hash="0" * 64,
        response_status=201,
        response_body={"id": key},
        expires_at=timezone.now() + expires_in,
    )


def test_the_purge_deletes_expired_records_only_and_is_safe_to_run_twice():
    record("old", timedelta(seconds=-1))
    kept = record("fresh", timedelta(hours=23))
    assert tasks.purge_idempotency_records() == 1
    assert tasks.purge_idempotency_records() == 0
    assert list(IdempotencyRecord.objects.all()) == [kept]


def test_a_full_batch_queues_the_next_one_until_none_is_left(monkeypatch):
    monkeypatch.setattr(tasks, "PURGE_BATCH_SIZE", 2)
    for n in range(5):
        record(f"old-{n}", timedelta(minutes=-n - 1))
    app.conf.task_always_eager = True  # the re-queued batches run here, one after the other
    try:
        assert tasks.purge_idempotency_records() == 2
    finally:
        app.conf.task_always_eager = False
    assert not IdempotencyRecord.objects.exists()
