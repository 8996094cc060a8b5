"""Looking up one row of a patient's record for an API view."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Model
from django.http import Http404

from apps.audit import events
from apps.patients.selectors import access_patient


def record_get(model: type[Model], user: Any, record_id: uuid.UUID, *related: str, audit: bool = True) -> Any:
    """A row of a patient's record through the gate (404 outside the caller's clinics), audited as a read."""
    row = model.objects.for_user(user).select_related("patient").prefetch_related(*related).filter(pk=record_id).first()
    if row is None:
        raise Http404("Not found.")
    access_patient(user=user, patient_id=row.patient_id)  # a deleted patient's record is gone too
    if audit:
        events.record(action=events.Action.READ, obj=row, actor=user)
    return row
