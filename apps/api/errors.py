"""One error shape for every 4xx (drf-standardized-errors), including what services raise and 404s."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions, status

# Domain exceptions that mean "the state on the server forbids this now" (a slot just booked by
# someone else): each a 409 `conflict`. Apps register theirs (`conflicts_on`), since this plumbing
# imports no app above it.
CONFLICTS: list[type[Exception]] = []


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "This conflicts with the current state of the resource; look again and retry."


def conflicts_on(*exception_types: type[Exception]) -> None:
    """Answer these domain exceptions with 409 `conflict`, their message as the detail."""
    CONFLICTS.extend(t for t in exception_types if t not in CONFLICTS)


class ApiExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, tuple(CONFLICTS)):
            return Conflict(getattr(exc, "message", None) or str(exc) or None)
        # Services raise Django's ValidationError ({field: message}); the client gets field errors.
        if isinstance(exc, DjangoValidationError):
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            return exceptions.ValidationError(detail)
        if isinstance(exc, DjangoPermissionDenied):
            return exceptions.PermissionDenied(str(exc) or None)
        return super().convert_known_exceptions(exc)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site's 404: JSON in the API's error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        body: dict[str, Any] = {
            "type": "client_error",
            "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
        }
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)
