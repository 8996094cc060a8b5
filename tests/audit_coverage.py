"""Test-only middleware: every 2xx answer that shows a patient has that patient's audit event.

Installed by tests/settings.py for the whole suite, so every request any test makes is checked:
each patient whose id appears in a 2xx body (JSON field, FHIR reference, a link in a page) must
have an audit event (read, create, update…) written by the same request (its request id). A
missing event fails the test that made the request. `tests/conftest.py` reports the count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django_scopes import scopes_disabled

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The audit trail's own pages list events, which name patients by id: reading the trail is audited
# as a report (apps.audit), not as a read of every patient it mentions.
AUDIT_TRAIL_VIEWS = ("admin:audit_event_",)
TEXT_TYPES = ("application/json", "application/fhir+json", "text/html", "text/csv")


class AuditCoverageError(AssertionError):
    pass


class AuditCoverageMiddleware:
    checked = 0  # 2xx answers that showed at least one patient
    patients_seen = 0

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if 200 <= response.status_code < 300 and not response.streaming and _is_text(response):
            self.check(request, response)
        return response

    def check(self, request: HttpRequest, response: HttpResponse) -> None:
        from apps.audit.models import Event
        from apps.patients.models import Patient

        match = request.resolver_match
        if match is not None and match.view_name.startswith(AUDIT_TRAIL_VIEWS):
            return
        # An id the caller sent in the query string and the answer echoes (a search's self link)
        # shows nothing the caller did not know.
        echoed = {m.decode() for m in UUID.findall(request.META.get("QUERY_STRING", "").encode())}
        ids = {m.decode() for m in UUID.findall(response.content)} - echoed
        if not ids:
            return
        with scopes_disabled(), uncounted():
            shown = {str(pk) for pk in Patient._base_manager.filter(pk__in=ids).values_list("pk", flat=True)}
            audited = Event.objects.filter(request_id=request.request_id, patient_id__in=shown)
            missing = shown - {str(pk) for pk in audited.values_list("patient_id", flat=True)} if shown else set()
        if not shown:
            return
        type(self).checked += 1
        type(self).patients_seen += len(shown)
        if missing:
            raise AuditCoverageError(
                f"{request.method} {request.get_full_path()} answered {response.status_code} showing "
                f"patient(s) {sorted(missing)} without an audit event from this request"
            )


@contextmanager
def uncounted() -> Iterator[None]:
    """This check's own queries are left out of `django_assert_num_queries` and the like."""
    log = connection.queries_log
    before = len(log)
    try:
        yield
    finally:
        while len(log) > before:
            log.pop()


def _is_text(response: Any) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() in TEXT_TYPES
