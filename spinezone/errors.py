"""Error bodies that never show a trace or SQL, with DEBUG off as with it on: an HTML page for
people, the API's error shape under /api/, an OperationOutcome under /fhir/. Wired as the
handler400/403/404/500 of spinezone/urls.py."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from apps.api.errors import not_found as api_not_found
from apps.fhir.codes import FHIR_JSON
from apps.fhir.errors import outcome_body

API_ERRORS = {
    400: ("client_error", "bad_request", "The request could not be understood."),
    403: ("client_error", "permission_denied", "You do not have permission to perform this action."),
    500: ("server_error", "error", "A server error occurred."),
}
FHIR_ERRORS = {
    400: ("invalid", "The request could not be understood."),
    403: ("forbidden", "You may not do this."),
    500: ("exception", "A server error occurred."),
}


def _machine_error(request: HttpRequest, status: int) -> HttpResponse | None:
    if request.path.startswith("/api/"):
        kind, code, detail = API_ERRORS[status]
        return JsonResponse({"type": kind, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)
    if request.path.startswith("/fhir/"):
        code, diagnostics = FHIR_ERRORS[status]
        return HttpResponse(json.dumps(outcome_body(code, diagnostics)), status=status, content_type=FHIR_JSON)
    return None


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _machine_error(request, 400) or render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _machine_error(request, 403) or render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    if request.path.startswith("/fhir/"):
        body = outcome_body("not-found", "Resource not found.")
        return HttpResponse(json.dumps(body), status=404, content_type=FHIR_JSON)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request's context, as Django's own handler does: whatever broke (the
    # database, a context processor) must not break the error page too.
    return _machine_error(request, 500) or HttpResponse(loader.get_template("500.html").render(), status=500)
