"""Reads of patient data: always through the tenancy gate, and audited when shown to a person."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from django_scopes import scopes_disabled

from apps.audit import events
from apps.patients.models import Patient, RedFlagScreen


def patient_list(*, user: Any, search: str = "") -> QuerySet[Patient]:
    return Patient.objects.for_user(user).not_deleted().select_related("clinic").search(search)


def access_patient(*, user: Any, patient_id: Any) -> Patient:
    """The patient, if this user may see it; 404 otherwise (other clinic, deleted, malformed id)."""
    try:
        key = uuid.UUID(str(patient_id))
    except ValueError:
        raise Http404("No such patient.") from None
    patient = patient_list(user=user).filter(pk=key).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


def patient_get(*, user: Any, patient_id: Any) -> Patient:
    """The patient, for display: access-checked and recorded as a read."""
    patient = access_patient(user=user, patient_id=patient_id)
    events.record(action=events.Action.READ, obj=patient, actor=user)
    return patient


def record_get(model: type[Model], user: Any, record_id: uuid.UUID, *related: str, audit: bool = True) -> Any:
    """A row of a patient's record (a test, a session...) through the gate: 404 outside the caller's
    clinics or when its patient is deleted; audited as a read unless the caller audits it itself."""
    row = model.objects.for_user(user).select_related("patient").prefetch_related(*related).filter(pk=record_id).first()
    if row is None:
        raise Http404("Not found.")
    access_patient(user=user, patient_id=row.patient_id)  # a deleted patient's record is gone too
    if audit:
        events.record(action=events.Action.READ, obj=row, actor=user)
    return row


def mrn_in_use(*, organization_id: int, mrn: str, exclude_id: Any = None) -> bool:
    # MRNs are unique across the whole organization, beyond the clinics the caller can see, so
    # this one check looks past the scope. It answers yes/no only; it never returns the row.
    with scopes_disabled():
        taken = Patient.objects.filter(organization_id=organization_id, mrn__iexact=mrn.strip())
        if exclude_id is not None:
            taken = taken.exclude(pk=exclude_id)
        return taken.exists()


def latest_red_flag_screen(*, patient: Patient) -> RedFlagScreen | None:
    return RedFlagScreen.objects.filter(patient=patient).order_by("-screened_at").first()


def training_blocked(*, patient: Patient) -> bool:
    """A `refer` screen blocks testing and training until a physician review clears it.

    Any such screen, not only the latest: a later all-clear screen by a therapist must not stand
    in for the physician's review of the earlier positive one.
    """
    return RedFlagScreen.objects.filter(patient=patient).blocking().exists()
