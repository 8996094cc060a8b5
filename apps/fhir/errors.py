"""FHIR errors as OperationOutcomes: `FhirError`, the outcome body, and each exception's status and issue code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.views import APIView

from apps.fhir import codes, mapping
from apps.fhir.mapping import Json


class FhirError(Exception):
    """An error with its HTTP status and OperationOutcome issue code."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: Sequence[str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression


def invalid(diagnostics: str, parameter: str | None = None) -> FhirError:
    return FhirError(400, "invalid", diagnostics, [parameter] if parameter else None)


def outcome_body(code: str, diagnostics: str, expression: Sequence[str] | None = None) -> Json:
    return mapping.operation_outcome("error", code, diagnostics, expression=expression)


def error_for(view: APIView, exc: Exception) -> tuple[int, str, str, Sequence[str] | None, dict[str, str]]:
    if isinstance(exc, FhirError):
        return exc.status, exc.code, exc.diagnostics, exc.expression, {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        header = view.get_authenticate_header(view.request)
        if header:
            return 401, "login", str(exc.detail), None, {"WWW-Authenticate": header}
        return 403, "forbidden", str(exc.detail), None, {}
    if isinstance(exc, Http404 | exceptions.NotFound):
        return 404, "not-found", "Resource not found.", None, {}
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return 403, "forbidden", "You may not do this.", None, {}
    if isinstance(exc, exceptions.Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else {}
        return 429, "throttled", str(exc.detail), None, headers
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, "not-supported", str(exc.detail), None, {}
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, "not-supported", str(exc.detail), None, {}
    if isinstance(exc, exceptions.APIException) and 400 <= exc.status_code < 500:
        return exc.status_code, "invalid", str(exc.detail), None, {}
    raise exc


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under /fhir/R4/: an OperationOutcome, not Django's page."""
    body = outcome_body("not-supported", f"No FHIR interaction at {request.path}.")
    return HttpResponse(json.dumps(body), status=404, content_type=codes.FHIR_JSON)
