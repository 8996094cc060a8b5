"""The search parameters of Patient, Observation, Encounter and CarePlan: each a name → values → condition.

Tokens match the (system, code) pairs the builders emit (`apps.fhir.resources`), read from the same
tables, so what a resource says is what finds it:

- Patient: `identifier` (the MRN, `<mrn system of the organization>|<mrn>` or the MRN alone), `family`,
  `given`, `name` (family or given; strings: starts-with, `:exact`, `:contains`), `birthdate` (a date,
  prefixes eq ne gt ge lt le), `gender` (AdministrativeGender), `_id`.
- Observation: `code` (a test's local isometric-test code, a score's LOINC code), `category` (exam: the
  strength tests; survey: the scores), `date` (the effective time: `performed_at`, `completed_at`), `_id`.
- Encounter: `date` (the session's time, `period.start`), `status` (every session is `finished`), `_id`.
- CarePlan: `date` (the period from `started_at` to `ended_at`, R4's range rules; a draft without a
  start has no period), `status` (the R4 status our program status maps to), `_id`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from apps.assessments import scoring
from apps.fhir import codes, search
from apps.fhir.matching import NOTHING, Token, any_row, every, field_in, string_filters, token_filter, tokens, uuid_ids
from apps.fhir.resources.clinical import CARE_PLAN_STATUS
from apps.patients.models import Region

ADMINISTRATIVE_GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
ENCOUNTER_STATUS_SYSTEM = "http://hl7.org/fhir/encounter-status"
CARE_PLAN_STATUS_SYSTEM = "http://hl7.org/fhir/request-status"
MRN_SYSTEM_PREFIX = codes.mrn_system("")

# --- Patient --------------------------------------------------------------------------------------


def _mrn(token: Token) -> Q:
    """The MRN system names its organization (`mrn_system(slug)`): MRNs are unique per organization."""
    if token.system is None:
        return Q(mrn=token.code)
    slug = token.system.removeprefix(MRN_SYSTEM_PREFIX)
    if not token.system.startswith(MRN_SYSTEM_PREFIX) or not slug or "/" in slug:
        return NOTHING
    return Q(organization__slug=slug, **({"mrn": token.code} if token.code else {}))


def patient_identifier(values: list[str]) -> Q:
    def one(value: str) -> Q:
        condition = NOTHING
        for token in tokens(value, "identifier"):
            condition |= _mrn(token)
        return condition

    return every(values, one)


def patient_birthdate(values: list[str]) -> Q:
    return search.day_filter("birth_date", values, "birthdate")


PATIENT_FILTERS = {
    "_id": uuid_ids,
    "identifier": patient_identifier,
    **string_filters("family", ["family_name"]),
    **string_filters("given", ["given_name"]),
    **string_filters("name", ["family_name", "given_name"]),
    "birthdate": patient_birthdate,
    "gender": token_filter(
        "gender", {(ADMINISTRATIVE_GENDER_SYSTEM, code): code for code in codes.ADMINISTRATIVE_GENDER}, field_in("sex")
    ),
}

# --- Observation: strength tests and scores, each read its own way ------------------------------------

STRENGTH_CODES = {
    (codes.ISOMETRIC_TORQUE_SYSTEM, codes.isometric_test_code(region)): region for region in Region.values
}
SCORE_CODES = {
    (codes.LOINC, codes.ODI_SCORE): scoring.ODI,
    (codes.LOINC, codes.NDI_TOTAL): scoring.NDI,
    (codes.LOINC, codes.PAIN_NRS): scoring.PAIN_NRS,
}


def _category(code: str) -> Callable[[list[str]], Q]:
    return token_filter("category", {(codes.OBSERVATION_CATEGORY, code): code}, any_row)


STRENGTH_FILTERS = {
    "_id": uuid_ids,
    "code": token_filter("code", STRENGTH_CODES, field_in("region")),
    "category": _category(codes.CATEGORY_EXAM),
    "date": lambda values: search.date_filter("performed_at", values, "date"),
}
SCORE_FILTERS = {
    "_id": uuid_ids,
    "code": token_filter("code", SCORE_CODES, field_in("instrument")),
    "category": _category(codes.CATEGORY_SURVEY),
    "date": lambda values: search.date_filter("completed_at", values, "date"),
}

# --- Encounter (session) and CarePlan (program) ----------------------------------------------------

ENCOUNTER_FILTERS = {
    "_id": uuid_ids,
    "date": lambda values: search.date_filter("performed_at", values, "date"),
    "status": token_filter("status", {(ENCOUNTER_STATUS_SYSTEM, "finished"): "finished"}, any_row),
}
CARE_PLAN_FILTERS = {
    "_id": uuid_ids,
    "date": lambda values: search.period_filter("started_at", "ended_at", values, "date"),
    "status": token_filter(
        "status",
        {(CARE_PLAN_STATUS_SYSTEM, code): code for code in set(CARE_PLAN_STATUS.values())},
        lambda picked: Q(status__in=sorted(ours for ours, code in CARE_PLAN_STATUS.items() if code in picked)),
    ),
}
