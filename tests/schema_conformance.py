"""Test-only middleware: every answer of the partner API is one its published schema documents.

Installed by tests/settings.py for the whole suite, so every request any test makes under /api/v1/
is checked against /api/schema/ (generated once, as a partner downloads it): the operation's
documented statuses include the answer's, and its body validates against the documented schema for
that status and content type (schemathesis' response validation). A mismatch fails the test that
made the request. Requests to a method the path does not document (a 405) have no operation to
check. `tests/conftest.py` reports the count.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from functools import cache
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse

from tests.audit_coverage import uncounted

PREFIX = "/api/v1/"


class SchemaConformanceError(AssertionError):
    pass


@cache
def published_schema() -> Any:
    import schemathesis
    from drf_spectacular.generators import SchemaGenerator

    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


def _as_schemathesis(request: HttpRequest, response: HttpResponse) -> Any:
    from schemathesis.core.transport import Response

    prepared = requests.Request(method=request.method, url=request.build_absolute_uri()).prepare()
    return Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=prepared,
        elapsed=0.0,
        verify=True,
        message=http.client.responses.get(response.status_code, ""),
    )


class SchemaConformanceMiddleware:
    checked = 0  # API answers validated against the schema

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PREFIX) and not response.streaming:
            with uncounted():  # generating the schema once is none of the request's queries
                self.check(request, response)
        return response

    def check(self, request: HttpRequest, response: HttpResponse) -> None:
        schema = published_schema()
        operation = schema.find_operation_by_path(request.method, request.path)
        if operation is None:
            return
        where = f"{request.method} {request.get_full_path()} answered {response.status_code}"
        if operation.responses.find_by_status_code(response.status_code) is None:
            raise SchemaConformanceError(f"{where}, a status {operation.label} does not document")
        try:
            schema.validate_response(operation, _as_schemathesis(request, response))
        except Exception as error:  # schemathesis raises its Failure groups, not AssertionError
            raise SchemaConformanceError(f"{where} with a body its schema does not allow:\n{error}") from None
        type(self).checked += 1
