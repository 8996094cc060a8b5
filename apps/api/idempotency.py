"""`Idempotency-Key` on POST: a retried create returns the first result instead of a duplicate.

The record is written in the transaction of the create. Two concurrent requests with one key both
run, but the second's INSERT of the record waits on the first's unique index entry and then fails,
which rolls its create back: one row either way, and the loser is told to retry (409).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.models import IDEMPOTENCY_WINDOW, IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces

# For a view whose POST calls `request_key`: its 400 schema then lists the header's error.
documents_key_errors = extend_validation_errors(["invalid"], field_name=HEADER, methods=["post"])


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request body; use a new key."


class KeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is being processed; retry in a moment."


class IdempotencyErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[KeyReused.default_code, KeyInFlight.default_code])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class IdempotencyErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["client_error"])
    errors = IdempotencyErrorSerializer(many=True)


# The two answers `idempotent_create` adds to a POST: put them in its `@extend_schema(responses=…)`.
KEY_RESPONSES = {
    status.HTTP_409_CONFLICT: OpenApiResponse(
        IdempotencyErrorResponseSerializer, description=KeyInFlight.default_detail
    ),
    status.HTTP_422_UNPROCESSABLE_ENTITY: OpenApiResponse(
        IdempotencyErrorResponseSerializer, description=KeyReused.default_detail
    ),
}


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    object_id: str
    replayed: bool


def principal_identity(user: Any) -> str:
    if getattr(user, "is_partner", False):
        return f"partner:{user.partner.pk}"
    return f"user:{user.pk}"


def request_key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise exceptions.ValidationError({HEADER: "Use 1 to 255 printable ASCII characters, e.g. a UUID."})
    return key


def _fingerprint(request: Request) -> str:
    # Of the parsed body, so a retry that re-serializes the same JSON differently still matches.
    canonical = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent_create(request: Request, key: str, create: Callable[[], tuple[int, Any, str]]) -> Outcome:
    """Run `create` (→ status, body, object id) once per (principal, key); replay it afterwards."""
    principal = principal_identity(request.user)
    fingerprint = _fingerprint(request)
    now = timezone.now()
    with transaction.atomic():
        previous = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if previous is not None and previous.expires_at > now:
            if previous.request_hash != fingerprint:
                raise KeyReused()
            return Outcome(previous.response_status, previous.response_body, previous.object_id, replayed=True)
        if previous is not None:
            previous.delete()
        status_code, body, object_id = create()
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    principal=principal,
                    key=key,
                    request_hash=fingerprint,
                    response_status=status_code,
                    response_body=body,
                    object_id=object_id,
                    expires_at=now + IDEMPOTENCY_WINDOW,
                )
        except IntegrityError:
            # Leaving the outer block with this error rolls the create back too.
            raise KeyInFlight() from None
    return Outcome(status_code, body, object_id, replayed=False)


def create_response(
    request: Request,
    create: Callable[[], tuple[int, Any, str]],
    show_again: Callable[[str], Any],
) -> Response:
    """A POST's response: `create` once, or the first response again when the key is retried.

    A replay shows the row again, so `show_again(object_id)` looks it up through the gate and
    audits it as a read.
    """
    key = request_key(request)
    if key is None:
        code, body, _ = create()
        return Response(body, status=code)
    outcome = idempotent_create(request, key, create)
    if outcome.replayed:
        show_again(outcome.object_id)
    return Response(outcome.body, status=outcome.status, headers={"Idempotent-Replayed": str(outcome.replayed)})
