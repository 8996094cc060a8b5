"""Code systems, codes, units and URLs of the FHIR view (DOMAIN.md "Codes for FHIR", research §3.5).

Standard codes come first (LOINC, UCUM, HL7 terminology); local ones live under `LOCAL_BASE`, a
placeholder domain the deployment may replace with its own canonical base before going live.
"""

from __future__ import annotations

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"

# --- Standard systems ----------------------------------------------------------------------------
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BCP47 = "urn:ietf:bcp:47"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
# HL7 Extensions Pack "TimezoneCode" (valueCode = IANA zone such as America/Los_Angeles).
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"

# --- LOINC (research §3.5) -----------------------------------------------------------------------
PAIN_NRS = "72514-3"
PAIN_NRS_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
ODI_PANEL = "97908-8"
ODI_PANEL_DISPLAY = "Oswestry Disability Index"
ODI_SCORE = "97909-6"
ODI_SCORE_DISPLAY = "Oswestry disability index score ODI"
NDI_PANEL = "82226-2"
NDI_PANEL_DISPLAY = "Neck Disability Index [NDI]"
NDI_TOTAL = "82237-9"
NDI_TOTAL_DISPLAY = "Total score [NDI]"
PROGRESS_NOTE = "11506-3"  # the physician's progress report (DiagnosticReport.code)
PROGRESS_NOTE_DISPLAY = "Progress note"
DIAGNOSTIC_SERVICE_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"

# --- Observation categories ----------------------------------------------------------------------
CATEGORY_EXAM = "exam"
CATEGORY_SURVEY = "survey"
CATEGORY_DISPLAYS = {CATEGORY_EXAM: "Exam", CATEGORY_SURVEY: "Survey"}

# --- UCUM units: (code, human unit) --------------------------------------------------------------
UCUM_TORQUE = ("N.m", "N.m")
UCUM_STRENGTH_INDEX = ("N.m.deg", "N.m.deg")  # area under torque vs angle
UCUM_DEGREE = ("deg", "deg")
UCUM_PERCENT = ("%", "%")
UCUM_SCORE = ("{score}", "{score}")
UCUM_WEEK = ("wk", "wk")
UCUM_LOAD = {  # machine load units (research: UCUM codes for ft·lbf and in·lbf)
    "ft_lbf": ("[ft_i].[lbf_av]", "ft.lbf"),
    "in_lbf": ("[in_i].[lbf_av]", "in.lbf"),
}

# --- Encounter class ----------------------------------------------------------------------------
ENCOUNTER_CLASS_AMB = ("AMB", "ambulatory")

# --- Local systems -------------------------------------------------------------------------------
LOCAL_BASE = "https://spinezone.example/fhir"
ISOMETRIC_TORQUE_SYSTEM = f"{LOCAL_BASE}/CodeSystem/isometric-torque"
SESSION_STATUS_SYSTEM = f"{LOCAL_BASE}/CodeSystem/session-status"
PROGRAM_STATUS_SYSTEM = f"{LOCAL_BASE}/CodeSystem/program-status"
PROGRAM_PHASE_SYSTEM = f"{LOCAL_BASE}/CodeSystem/program-phase"  # training | maintenance
ORGANIZATION_ID_SYSTEM = f"{LOCAL_BASE}/sid/organization"
# A machine's serial number (its Device identifier): the manufacturer's, unique within a clinic.
MACHINE_SERIAL_SYSTEM = f"{LOCAL_BASE}/sid/machine-serial"
MACHINE_KIND_SYSTEM = f"{LOCAL_BASE}/CodeSystem/machine-kind"  # lumbar-extension | cervical-extension
QUESTIONNAIRE_BASE = f"{LOCAL_BASE}/Questionnaire"

# Local extensions (StructureDefinitions to publish with the CapabilityStatement's documentation).
HOME_CLINIC_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/home-clinic"  # Patient: valueReference Location
PROGRAM_STATUS_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/program-status"  # CarePlan: valueCoding
# CarePlan: the program's phase now; Encounter: the phase the session took place in (valueCoding).
PROGRAM_PHASE_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/program-phase"
SESSION_STATUS_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/session-status"  # Encounter: valueCoding
CARE_PLAN_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/care-plan"  # Encounter: valueReference CarePlan
# Appointment: valueReference Schedule (the machine), kept after cancellation, when no Slot is held.
SCHEDULE_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/machine-schedule"
# DiagnosticReport (a progress report): valueReference DiagnosticReport, the earlier report it supersedes.
SUPERSEDES_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/supersedes"


def mrn_system(organization_slug: str) -> str:
    """MRNs are unique per organization, so each organization has its own identifier system."""
    return f"{LOCAL_BASE}/sid/mrn/{organization_slug}"


def questionnaire_url(instrument: str) -> str:
    """Canonical of the (locally published) Questionnaire of an instrument: odi, ndi, pain-nrs."""
    return f"{QUESTIONNAIRE_BASE}/{instrument.replace('_', '-')}"


# Isometric torque per angle has no LOINC code: local codes `<region>-extension-...`.
def isometric_test_code(region: str) -> str:
    return f"{region}-extension-isometric-test"


def torque_at_angle_code(region: str, angle_deg: int) -> str:
    return f"{region}-extension-torque-{angle_deg}"


def peak_torque_code(region: str) -> str:
    return f"{region}-extension-peak-torque"


def strength_index_code(region: str) -> str:
    return f"{region}-extension-strength-index"


def range_of_motion_code(region: str) -> str:
    return f"{region}-extension-range-of-motion"


FAMILIARIZATION_CODE = "isometric-test-familiarization"

# --- Value sets with required bindings that the library does not check ---------------------------
# fhir.resources (which validates the builders' output in the tests) checks types and cardinality,
# not the codes of required bindings; the builders check their own codes against these (R4 4.0.1).
ADMINISTRATIVE_GENDER = frozenset({"male", "female", "other", "unknown"})
OBSERVATION_STATUS = frozenset(
    {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
)
QUESTIONNAIRE_RESPONSE_STATUS = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
CARE_PLAN_STATUS = frozenset({"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"})
CARE_PLAN_ACTIVITY_STATUS = frozenset(
    {
        "not-started",
        "scheduled",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "stopped",
        "unknown",
        "entered-in-error",
    }
)
ENCOUNTER_STATUS = frozenset(
    {
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
LOCATION_STATUS = frozenset({"active", "suspended", "inactive"})
DEVICE_STATUS = frozenset({"active", "inactive", "entered-in-error", "unknown"})
DEVICE_NAME_TYPE = frozenset(
    {"udi-label-name", "user-friendly-name", "patient-reported-name", "manufacturer-name", "model-name", "other"}
)
APPOINTMENT_STATUS = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)
PARTICIPATION_STATUS = frozenset({"accepted", "declined", "tentative", "needs-action"})
SLOT_STATUS = frozenset({"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"})
ISSUE_SEVERITY = frozenset({"fatal", "error", "warning", "information"})
ISSUE_TYPE = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)
TYPE_RESTFUL_INTERACTION = frozenset(
    {"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}
)
