"""The FHIR types served, each with its read and search sources: the table behind routes and CapabilityStatement."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Model, Q, QuerySet

from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestPoint
from apps.fhir import appointments, devices, filters, mapping, reads
from apps.fhir.mapping import Json
from apps.fhir.resources.administrative import PATIENT_FIELDS
from apps.fhir.resources.clinical import (
    QUESTIONNAIRE_RESPONSE_FIELDS,
    SCORE_OBSERVATION_FIELDS,
    STRENGTH_OBSERVATION_FIELDS,
)
from apps.fhir.search import Filters, Source, each
from apps.patients.selectors import patient_list

# Searches load only the columns their builders read, and of the patient only what the read audit
# events name: no column the response does not carry (nothing clinical of the patient).
AUDIT_FIELDS = ("patient__organization", "patient__clinic")


def _strength_tests_shown(user: Any) -> QuerySet:
    return reads.records(StrengthTest, user).only(*STRENGTH_OBSERVATION_FIELDS, *AUDIT_FIELDS)


def _scores_shown(user: Any) -> QuerySet:
    return reads.records(QuestionnaireResponse, user).only(*SCORE_OBSERVATION_FIELDS, *AUDIT_FIELDS)


def _responses_shown(user: Any) -> QuerySet:
    return reads.records(QuestionnaireResponse, user).only(*QUESTIONNAIRE_RESPONSE_FIELDS, *AUDIT_FIELDS)


def _patients_shown(user: Any) -> QuerySet:
    return patient_list(user=user).select_related(None).select_related("organization").only(*PATIENT_FIELDS)


def _strength_observations(tests: list[StrengthTest]) -> list[Json]:
    """The tests' Observations, their curves read in one query (not a prefetch: no object per point)."""
    points = StrengthTestPoint.objects.filter(test_id__in=[test.pk for test in tests]).order_by("test_id", "-angle_deg")
    curves: dict[uuid.UUID, list[tuple[int, Decimal]]] = {}
    for test_id, angle, torque_nm in points.values_list("test_id", "angle_deg", "torque_nm"):
        curves.setdefault(test_id, []).append((angle, torque_nm))
    return [mapping.strength_observation(test, curves.get(test.pk, [])) for test in tests]


@dataclass(frozen=True)
class FhirType:
    """A resource type served: `read(user, id)` → (resource, audited row or None), and its search.

    A search reads `search` sources, paged, narrowed by each parameter of `filters` given (its
    values → a condition on the rows of every source) and of each source's own `filters`;
    `repeatable` ones may be given more than once. Or, for a small table of no patient's data,
    `listing(user, condition)` gives every match of the `filters`, paged by offset.
    `search_params` are the names the CapabilityStatement declares; a filter's name may add a
    modifier to one (`family:exact`).
    """

    name: str
    read: Callable[[Any, str], tuple[Json, Model | None]] | None = None
    search: tuple[Source, ...] = ()
    search_params: tuple[str, ...] = field(default=())
    filters: Filters = field(default_factory=dict)
    repeatable: frozenset[str] = frozenset({"_lastUpdated"})
    listing: Callable[[Any, Q], list[Json]] | None = None

    @property
    def accepted(self) -> frozenset[str]:
        """Every parameter name a search of this type takes (besides the common ones)."""
        names = {*self.search_params, *self.filters}
        for source in self.search:
            names.update(source.filters)
        return frozenset(names)

    @property
    def interactions(self) -> list[str]:
        served = []
        if self.read is not None:
            served.append("read")
        if self.search or self.listing is not None:
            served.append("search-type")
        return served


PATIENT_SEARCH = ("patient", "_lastUpdated")
# Strings and dates may be repeated (ANDed: `given=an&given=ma`, `date=ge…&date=lt…`), tokens too.
PATIENT_REPEATABLE = frozenset({"_lastUpdated", *filters.PATIENT_FILTERS})

FHIR_TYPES: tuple[FhirType, ...] = (
    FhirType("Organization", read=reads.read_organization),
    FhirType("Location", read=reads.read_location),
    FhirType(
        "Patient",
        read=reads.read_patient,
        search=(Source(_patients_shown, "updated_at", each(mapping.patient_resource), patient_field=None),),
        search_params=("_id", "identifier", "family", "given", "name", "birthdate", "gender", "_lastUpdated"),
        filters=filters.PATIENT_FILTERS,
        repeatable=PATIENT_REPEATABLE,
    ),
    FhirType(
        "Observation",
        read=reads.read_observation,
        search=(
            Source(_strength_tests_shown, "performed_at", _strength_observations, filters=filters.STRENGTH_FILTERS),
            Source(_scores_shown, "completed_at", each(mapping.score_observation), filters=filters.SCORE_FILTERS),
        ),
        search_params=("_id", "patient", "code", "category", "date", "_lastUpdated"),
        repeatable=frozenset({"_lastUpdated", *filters.STRENGTH_FILTERS}),
    ),
    FhirType(
        "QuestionnaireResponse",
        read=reads.read_questionnaire_response,
        search=(Source(_responses_shown, "completed_at", each(mapping.questionnaire_response_resource)),),
        search_params=PATIENT_SEARCH,
    ),
    FhirType(
        "CarePlan",
        read=reads.read_care_plan,
        search=(Source(reads.programs, "created_at", each(mapping.care_plan_resource)),),
        search_params=("_id", "patient", "date", "status", "_lastUpdated"),
        filters=filters.CARE_PLAN_FILTERS,
        repeatable=frozenset({"_lastUpdated", *filters.CARE_PLAN_FILTERS}),
    ),
    FhirType(
        "Encounter",
        read=reads.read_encounter,
        search=(Source(reads.sessions, "performed_at", each(mapping.encounter_resource)),),
        search_params=("_id", "patient", "date", "status", "_lastUpdated"),
        filters=filters.ENCOUNTER_FILTERS,
        repeatable=frozenset({"_lastUpdated", *filters.ENCOUNTER_FILTERS}),
    ),
    FhirType(
        "Appointment",
        read=appointments.read_appointment,
        search=(Source(appointments.appointments, "starts_at", each(mapping.appointment_resource)),),
        search_params=("patient", "date", "status", "_lastUpdated"),
        filters={"date": appointments.appointment_date, "status": appointments.appointment_status},
        repeatable=frozenset({"_lastUpdated", "date"}),
    ),
    FhirType(
        "Slot",
        read=appointments.read_slot,
        search=(Source(appointments.slots, "starts_at", each(mapping.slot_resource), patient_field=None),),
        search_params=("schedule", "start", "status", "_lastUpdated"),
        filters={
            "schedule": appointments.slot_schedule,
            "start": appointments.slot_start,
            "status": appointments.slot_status,
        },
        repeatable=frozenset({"_lastUpdated", "start"}),
    ),
    FhirType(
        "Schedule",
        read=appointments.read_schedule,
        listing=appointments.schedules,
        search_params=("actor",),
        filters={"actor": appointments.schedule_actor},
    ),
    FhirType(
        "Device",
        read=devices.read_device,
        listing=devices.device_listing,
        search_params=("_id", "identifier", "type", "status", "location", "device-name"),
        filters=devices.DEVICE_FILTERS,
        repeatable=frozenset(devices.DEVICE_FILTERS),
    ),
    FhirType(
        "DiagnosticReport",
        read=reads.read_diagnostic_report,
        search=(Source(reads.progress_reports, "signed_at", each(mapping.diagnostic_report_resource)),),
        search_params=PATIENT_SEARCH,
    ),
)
