"""Writes of patient data. Each is atomic and records its audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import events
from apps.clinics.access import access_clinic
from apps.clinics.models import Clinic
from apps.patients.chronology import clinical_time_problem
from apps.patients.fields import not_editable_errors
from apps.patients.models import Patient, RedFlagScreen, ReviewOutcome, ScreenResult
from apps.patients.screening import IncompleteScreen, screen_result
from apps.patients.selectors import access_patient, mrn_in_use

MRN_IN_USE = "This MRN is already used in the organization."


def _check_fields(fields: Mapping[str, Any]) -> None:
    errors = not_editable_errors(fields)
    if errors:
        raise ValidationError(errors)


def _check_may(actor: Any, perm: str, patient: Patient, refusal: str) -> None:
    """404 outside the actor's clinics (the gate), then 403 for a role that may not do this."""
    access_patient(user=actor, patient_id=patient.pk)
    if not actor.has_perm(perm, patient):
        raise PermissionDenied(refusal)


def patient_move_problem(*, patient: Patient, clinic: Clinic) -> str | None:
    if clinic.organization_id != patient.organization_id:
        return "A patient can move only between clinics of the same organization."
    return None


def patient_mrn_problem(*, organization_id: int, mrn: str, exclude_id: Any = None) -> str | None:
    """Why this MRN cannot be the patient's, or None: shared by the service and the admin form."""
    if mrn_in_use(organization_id=organization_id, mrn=mrn, exclude_id=exclude_id):
        return MRN_IN_USE
    return None


def _check_mrn(patient: Patient) -> None:
    patient.mrn = patient.mrn.strip()
    problem = patient_mrn_problem(organization_id=patient.organization_id, mrn=patient.mrn, exclude_id=patient.pk)
    if problem:
        raise ValidationError({"mrn": problem})


def _save(patient: Patient) -> None:
    _check_mrn(patient)
    patient.full_clean(validate_constraints=False)
    patient.save()


@transaction.atomic
def patient_create(*, actor: Any, clinic: Clinic, **fields: Any) -> Patient:
    _check_fields(fields)
    clinic = access_clinic(actor, clinic.pk)
    if not actor.has_perm("patients.add_patient", clinic):
        raise PermissionDenied("This role cannot register patients.")
    patient = Patient(organization_id=clinic.organization_id, clinic=clinic, **fields)
    if patient.email_reminder_consent:
        patient.email_consent_changed_at = timezone.now()
    _save(patient)
    events.record(action=events.Action.CREATE, obj=patient, actor=actor)
    return patient


@transaction.atomic
def patient_update(*, actor: Any, patient: Patient, clinic: Clinic | None = None, **changes: Any) -> Patient:
    _check_fields(changes)
    _check_may(actor, "patients.change_patient", patient, "This role cannot change patients.")
    if clinic is not None and clinic.pk != patient.clinic_id:
        clinic = access_clinic(actor, clinic.pk)
        problem = patient_move_problem(patient=patient, clinic=clinic)
        if problem:
            raise ValidationError({"clinic": problem})
        patient.clinic = clinic
    if "email_reminder_consent" in changes and changes["email_reminder_consent"] != patient.email_reminder_consent:
        patient.email_consent_changed_at = timezone.now()
    for name, value in changes.items():
        setattr(patient, name, value)
    _save(patient)
    events.record(action=events.Action.UPDATE, obj=patient, actor=actor)
    return patient


@transaction.atomic
def patient_delete(*, actor: Any, patient: Patient) -> Patient:
    """Soft delete: the record stays (nothing clinical is ever lost) but leaves every list."""
    _check_may(actor, "patients.delete_patient", patient, "Only a clinic admin can delete a patient.")
    if patient.deleted_at is None:
        patient.deleted_at = timezone.now()
        patient.deleted_by = actor
        patient.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        events.record(action=events.Action.DELETE, obj=patient, actor=actor)
    return patient


@transaction.atomic
def red_flag_screen_record(
    *,
    actor: Any,
    patient: Patient,
    region: str,
    answers: Mapping[str, bool],
    screened_at: datetime | None = None,
    clinic: Clinic | None = None,
) -> RedFlagScreen:
    _check_may(
        actor,
        "patients.add_redflagscreen",
        patient,
        "Only a clinician of the patient's clinic can record a red-flag screen.",
    )
    try:
        result = screen_result(region, answers)
    except IncompleteScreen as error:
        raise ValidationError({"answers": str(error)}) from None
    # Where it was done comes from the caller: like any clinic taken from input, it passes the gate.
    clinic = patient.clinic if clinic is None else access_clinic(actor, clinic.pk)
    if clinic.organization_id != patient.organization_id:
        raise ValidationError({"clinic": "The screen must be done at a clinic of the patient's organization."})
    now = timezone.now()
    screened_at = now if screened_at is None else screened_at
    if problem := clinical_time_problem(screened_at, born=patient.birth_date, now=now, tz=clinic.tzinfo):
        raise ValidationError({"screened_at": problem})
    screen = RedFlagScreen.objects.create(
        patient=patient,
        clinic=clinic,
        region=region,
        answers=dict(answers),
        result=result,
        screened_by=actor,
        screened_at=screened_at,
    )
    events.record(action=events.Action.CREATE, obj=screen, actor=actor)
    return screen


def screen_review_problem(*, screen: RedFlagScreen, outcome: str) -> str | None:
    """Why this review cannot be recorded, or None: shared by the service and the admin form."""
    if screen.result != ScreenResult.REFER:
        return "Only a screen with a positive item needs a physician review."
    if screen.reviewed_at is not None:
        return "This screen has already been reviewed."
    if outcome not in ReviewOutcome.values:
        return "Choose cleared or referred out."
    return None


@transaction.atomic
def red_flag_screen_review(*, actor: Any, screen: RedFlagScreen, outcome: str, note: str = "") -> RedFlagScreen:
    """A physician's review of a `refer` screen: cleared to train, or referred out."""
    _check_may(
        actor,
        "patients.review_redflagscreen",
        screen.patient,
        "Only a physician of the patient's clinic can review a red-flag screen.",
    )
    problem = screen_review_problem(screen=screen, outcome=outcome)
    if problem:
        raise ValidationError({"review_outcome": problem})
    reviewed_at = timezone.now()
    # Compare-and-set: of two physicians saving at once, one review wins and the other is told.
    won = RedFlagScreen.objects.filter(pk=screen.pk, reviewed_at__isnull=True).update(
        reviewed_by=actor, reviewed_at=reviewed_at, review_outcome=outcome, review_note=note
    )
    if not won:
        raise ValidationError({"review_outcome": "This screen has already been reviewed."})
    screen.reviewed_by, screen.reviewed_at = actor, reviewed_at
    screen.review_outcome, screen.review_note = outcome, note
    events.record(action=events.Action.UPDATE, obj=screen, actor=actor)
    return screen
