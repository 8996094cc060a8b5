"""Model rows → FHIR R4 JSON (plain dicts, ready for the renderer): the only thing the FHIR views need.

Every function returns one resource as the JSON `fhir.resources` would write for it, without building
the model (see `apps.fhir.resources.base`); the tests validate each against the R4B models. Ids are
our primary keys as strings; references are relative ("Patient/<uuid>"). Observation ids are the
StrengthTest or QuestionnaireResponse ids (UUIDs never collide), so `Observation/<id>` resolves in
whichever table holds the id; a score Observation and its QuestionnaireResponse share one id.

Rows to prefetch in lists: Patient → organization; StrengthTest → points; TrainingSession →
clinic, program; Device (a Machine) → clinic. Appointment and Slot read their row alone; Schedule is a
Machine; DiagnosticReport is a signed progress report (its PDF stored with it).
"""

from apps.fhir.resources.administrative import (
    device_resource,
    location_resource,
    organization_resource,
    patient_resource,
)
from apps.fhir.resources.base import Json
from apps.fhir.resources.clinical import (
    care_plan_resource,
    encounter_resource,
    questionnaire_response_resource,
    score_observation,
    strength_observation,
)
from apps.fhir.resources.infrastructure import capability_statement, operation_outcome, searchset_bundle
from apps.fhir.resources.reports import diagnostic_report_resource
from apps.fhir.resources.scheduling import appointment_resource, schedule_resource, slot_resource

__all__ = [
    "Json",
    "appointment_resource",
    "capability_statement",
    "care_plan_resource",
    "device_resource",
    "diagnostic_report_resource",
    "encounter_resource",
    "location_resource",
    "operation_outcome",
    "organization_resource",
    "patient_resource",
    "questionnaire_response_resource",
    "schedule_resource",
    "score_observation",
    "searchset_bundle",
    "slot_resource",
    "strength_observation",
]
