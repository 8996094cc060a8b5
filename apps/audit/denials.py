"""Refused attempts on patient data, written after the view has answered.

A view refuses (401, 403, 404) from wherever it stands, possibly inside a transaction that then
rolls back; the record of the attempt must survive that. So nothing is written while the view runs:
failed sign-ins signalled inside it wait here, and `RequestContextMiddleware` writes them, with the
refusal itself, in one INSERT once the view has returned and its transactions have ended.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model
from django.http import HttpRequest, HttpResponseBase

from apps.audit import events
from apps.audit.models import Event

REFUSALS = frozenset({401, 403, 404})
# Everything under these prefixes serves patient data (or probes for it).
DATA_PREFIXES = ("/api/v1/", "/fhir/R4/")
PATIENT = "patients.patient"
UI_PATIENT_ROUTES = "patients/"  # the staff UI's patient list, register form, chart and recording pages

_pending: ContextVar[list[Event] | None] = ContextVar("audit_pending_refusals", default=None)


@contextmanager
def collecting() -> Iterator[list[Event]]:
    pending: list[Event] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def on_login_failed(sender: Any, credentials: Mapping[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    """`user_login_failed` receiver: whichever login view runs, Django's authenticate() sends it."""
    event = events.login_failure(username=_attempted_username(credentials), path=request.path if request else "")
    pending = _pending.get()
    if pending is None:  # outside a request (a command, a test calling authenticate())
        event.save()
    else:
        pending.append(event)


def _attempted_username(credentials: Mapping[str, Any]) -> str:
    for key in (get_user_model().USERNAME_FIELD, "username", "login", "email"):
        value = credentials.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def is_patient_data_request(request: HttpRequest) -> bool:
    if request.path_info.startswith(DATA_PREFIXES):
        return True
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    model_admin = getattr(match.func, "model_admin", None)  # set by ModelAdmin.get_urls on its views
    if model_admin is not None:
        return holds_patient_data(model_admin.model)
    return match.namespace == "web" and match.route.startswith(UI_PATIENT_ROUTES)


def holds_patient_data(model: type[Model]) -> bool:
    """Patients, and every model whose rows belong to one (a foreign key to the patient)."""
    if model._meta.label_lower == PATIENT:
        return True
    return any(
        field.many_to_one and field.related_model._meta.label_lower == PATIENT for field in model._meta.concrete_fields
    )


def write(request: HttpRequest, response: HttpResponseBase, pending: list[Event]) -> None:
    """One INSERT for what the request left to record, if anything."""
    if response.status_code in REFUSALS and is_patient_data_request(request):
        # The principal as the view saw it: DRF puts a partner token's principal on the request too.
        pending.append(events.denial(path=request.path, actor=getattr(request, "user", None)))
    if pending:
        Event.objects.bulk_create(pending)
