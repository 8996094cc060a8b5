"""The search parameters the CapabilityStatement declares: each one's type, definition and documentation.

The documentation says what the parameter matches here (which column, which codes, which modifiers and
prefixes): an integrator reads it to know what a search finds without trying it. The view takes exactly
the names of `apps.fhir.capabilities.FHIR_TYPES` (with the modifiers said here), and a test checks that
every name declared there has its entry below.
"""

from __future__ import annotations

from typing import NamedTuple


class ParamDefinition(NamedTuple):
    type: str
    definition: str
    documentation: str


SP = "http://hl7.org/fhir/SearchParameter"
DATE_PREFIXES = "prefixes eq (default), ne, gt, ge, lt, le; repeat to AND (a range: ge…&lt…)"
DATE_VALUE = "a UTC year, month or day (YYYY, YYYY-MM, YYYY-MM-DD) or an instant with a time zone"
STRING_MATCH = "case-insensitive starts-with; `:exact` for the exact value, `:contains` anywhere; accents count"
ANY_OF = "commas for any of several"

# Parameters every type that declares them reads the same way.
COMMON: dict[str, ParamDefinition] = {
    "_id": ParamDefinition("token", f"{SP}/Resource-id", f"The resource id; {ANY_OF}."),
    "_lastUpdated": ParamDefinition(
        "date",
        f"{SP}/Resource-lastUpdated",
        "meta.lastUpdated: prefixes gt, ge, lt, le (required); an instant with a time zone or a date (UTC "
        "midnight); repeat to AND.",
    ),
    "patient": ParamDefinition(
        "reference",
        f"{SP}/clinical-patient",
        "The patient, `<id>` or `Patient/<id>`; a patient you may not see is a 404, as its read.",
    ),
}
PATIENT_DEFINITIONS = {  # the types whose own definition of `patient` R4 names
    "QuestionnaireResponse": f"{SP}/QuestionnaireResponse-patient",
    "Appointment": f"{SP}/Appointment-patient",
}

# Parameters one type defines: (type, name) → its definition.
BY_TYPE: dict[tuple[str, str], ParamDefinition] = {
    ("Patient", "identifier"): ParamDefinition(
        "token",
        f"{SP}/Patient-identifier",
        "The MRN: `<system>|<mrn>` with the organization's MRN system "
        "(https://spinezone.example/fhir/sid/mrn/<organization>), `<system>|` for every MRN of it, or the MRN "
        f"alone (exact); {ANY_OF}.",
    ),
    ("Patient", "family"): ParamDefinition("string", f"{SP}/individual-family", f"The family name: {STRING_MATCH}."),
    ("Patient", "given"): ParamDefinition("string", f"{SP}/individual-given", f"The given name: {STRING_MATCH}."),
    ("Patient", "name"): ParamDefinition(
        "string", f"{SP}/Patient-name", f"The family or the given name: {STRING_MATCH}."
    ),
    ("Patient", "birthdate"): ParamDefinition(
        "date", f"{SP}/individual-birthdate", f"The date of birth: a year, month or day; {DATE_PREFIXES}."
    ),
    ("Patient", "gender"): ParamDefinition(
        "token",
        f"{SP}/individual-gender",
        f"male, female, other, unknown (http://hl7.org/fhir/administrative-gender); {ANY_OF}.",
    ),
    ("Observation", "code"): ParamDefinition(
        "token",
        f"{SP}/clinical-code",
        "Observation.code: a strength test's local code (https://spinezone.example/fhir/CodeSystem/"
        "isometric-torque|lumbar-extension-isometric-test or cervical-…), a score's LOINC code (97909-6 ODI, "
        f"82237-9 NDI, 72514-3 pain NRS); `system|code` or the code alone; {ANY_OF}.",
    ),
    ("Observation", "category"): ParamDefinition(
        "token",
        f"{SP}/Observation-category",
        "exam (the strength tests) or survey (the questionnaire scores), "
        f"http://terminology.hl7.org/CodeSystem/observation-category; {ANY_OF}.",
    ),
    ("Observation", "date"): ParamDefinition(
        "date", f"{SP}/clinical-date", f"The effective time: {DATE_VALUE}; {DATE_PREFIXES}."
    ),
    ("Encounter", "date"): ParamDefinition(
        "date", f"{SP}/clinical-date", f"The session's time (period.start): {DATE_VALUE}; {DATE_PREFIXES}."
    ),
    ("Encounter", "status"): ParamDefinition(
        "token",
        f"{SP}/Encounter-status",
        f"finished: every session recorded (how it ended is the session-status extension); {ANY_OF}.",
    ),
    ("CarePlan", "date"): ParamDefinition(
        "date",
        f"{SP}/clinical-date",
        f"The program's period (no end: still going; not started: no period): {DATE_VALUE}; eq within it, "
        "ne not within, gt/ge some of it after (or at), lt/le some of it before (or at); repeat to AND.",
    ),
    ("CarePlan", "status"): ParamDefinition(
        "token",
        f"{SP}/CarePlan-status",
        "draft, active, on-hold (on hold or lapsed), completed (completed or discharged), revoked (cancelled); "
        f"{ANY_OF}.",
    ),
    ("Appointment", "date"): ParamDefinition(
        "date", f"{SP}/Appointment-date", f"The start: {DATE_VALUE}; {DATE_PREFIXES}."
    ),
    ("Appointment", "status"): ParamDefinition(
        "token", f"{SP}/Appointment-status", f"booked, checked-in, fulfilled, cancelled, noshow; {ANY_OF}."
    ),
    ("Slot", "schedule"): ParamDefinition(
        "reference", f"{SP}/Slot-schedule", "The machine's Schedule, `<id>` or `Schedule/<id>`."
    ),
    ("Slot", "start"): ParamDefinition("date", f"{SP}/Slot-start", f"The start: {DATE_VALUE}; {DATE_PREFIXES}."),
    ("Slot", "status"): ParamDefinition(
        "token", f"{SP}/Slot-status", "busy (the live appointments); free matches nothing (see /api/v1/slots/)."
    ),
    ("Schedule", "actor"): ParamDefinition(
        "reference", f"{SP}/Schedule-actor", "The clinic, `Location/<id>`: its machines."
    ),
    ("Device", "identifier"): ParamDefinition(
        "token",
        f"{SP}/Device-identifier",
        "The serial number: `https://spinezone.example/fhir/sid/machine-serial|<serial>` or the serial alone "
        f"(exact); {ANY_OF}.",
    ),
    ("Device", "type"): ParamDefinition(
        "token",
        f"{SP}/Device-type",
        "The machine kind: lumbar-extension or cervical-extension "
        f"(https://spinezone.example/fhir/CodeSystem/machine-kind); {ANY_OF}.",
    ),
    ("Device", "status"): ParamDefinition(
        "token", f"{SP}/Device-status", f"active or inactive (http://hl7.org/fhir/device-status); {ANY_OF}."
    ),
    ("Device", "location"): ParamDefinition(
        "reference", f"{SP}/Device-location", "The clinic, `Location/<id>` or `<id>`; commas for any of several."
    ),
    ("Device", "device-name"): ParamDefinition(
        "string", f"{SP}/Device-device-name", f"The machine's name: {STRING_MATCH}."
    ),
}


def definition_of(resource_type: str, name: str) -> ParamDefinition:
    """The definition of a parameter of a type; KeyError for one not declared here."""
    found = BY_TYPE.get((resource_type, name)) or COMMON[name]
    if name == "patient" and resource_type in PATIENT_DEFINITIONS:
        found = found._replace(definition=PATIENT_DEFINITIONS[resource_type])
    return found
