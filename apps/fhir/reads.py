"""FHIR reads: each resource type's `read(user, id)` through the tenancy gate, and the rows it reads."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import F, Model, QuerySet
from django.http import Http404

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.clinics.access import clinics_for_user, visible_clinic_ids
from apps.clinics.models import Organization
from apps.fhir import mapping
from apps.fhir.mapping import Json
from apps.outcomes.models import ProgressReport
from apps.patients.selectors import patient_list
from apps.programs.models import Program, TrainingSession


def as_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


def one(queryset: QuerySet, pk: Any) -> Any:
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


def records(model: type[Model], user: Any) -> QuerySet:
    """Rows of patient records the user may see, of patients that are not deleted."""
    return model.objects.for_user(user).filter(patient__deleted_at__isnull=True).select_related("patient")


def _strength_tests(user: Any) -> QuerySet:
    return records(StrengthTest, user).prefetch_related("points")


def _responses(user: Any) -> QuerySet:
    return records(QuestionnaireResponse, user)


def programs(user: Any) -> QuerySet:
    return records(Program, user)


def sessions(user: Any) -> QuerySet:
    return records(TrainingSession, user).select_related("clinic", "program")


def _patients(user: Any) -> QuerySet:
    return patient_list(user=user).select_related("organization")


def read_organization(user: Any, pk: str) -> tuple[Json, None]:
    try:
        key = int(pk)
    except ValueError:
        raise Http404 from None
    clinic_ids = visible_clinic_ids(user)
    organizations = Organization.objects.all()
    if clinic_ids is not None:
        organizations = organizations.filter(clinics__in=clinic_ids).distinct()
    return mapping.organization_resource(one(organizations, key)), None


def read_location(user: Any, pk: str) -> tuple[Json, None]:
    try:
        key = int(pk)
    except ValueError:
        raise Http404 from None
    return mapping.location_resource(one(clinics_for_user(user), key)), None


def read_patient(user: Any, pk: str) -> tuple[Json, Model]:
    patient = one(_patients(user), as_uuid(pk))
    return mapping.patient_resource(patient), patient


def read_observation(user: Any, pk: str) -> tuple[Json, Model]:
    """A StrengthTest id or a QuestionnaireResponse id (the score): UUIDs never collide."""
    key = as_uuid(pk)
    test = _strength_tests(user).filter(pk=key).first()
    if test is not None:
        return mapping.strength_observation(test), test
    response = one(_responses(user), key)
    return mapping.score_observation(response), response


def read_questionnaire_response(user: Any, pk: str) -> tuple[Json, Model]:
    response = one(_responses(user), as_uuid(pk))
    return mapping.questionnaire_response_resource(response), response


def read_care_plan(user: Any, pk: str) -> tuple[Json, Model]:
    program = one(programs(user), as_uuid(pk))
    return mapping.care_plan_resource(program), program


def read_encounter(user: Any, pk: str) -> tuple[Json, Model]:
    session = one(sessions(user), as_uuid(pk))
    return mapping.encounter_resource(session), session


def progress_reports(user: Any) -> QuerySet:
    """Signed progress reports (DiagnosticReport); a report never changes, so it was last updated when signed."""
    return records(ProgressReport, user).annotate(updated_at=F("signed_at"))


def read_diagnostic_report(user: Any, pk: str) -> tuple[Json, Model]:
    report = one(progress_reports(user), as_uuid(pk))
    return mapping.diagnostic_report_resource(report), report
