from __future__ import annotations

from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an `Idempotency-Key`, replayed to a retry for 24 hours.

    Holds what the client was told (ids and the representation it already received), keyed by the
    caller's identity so one partner's keys never collide with another's.
    """

    principal = models.CharField(max_length=64, help_text="partner:<id> or user:<id>.")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=DjangoJSONEncoder)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True, help_text="Purged after this.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique_per_principal"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
