"""The FHIR mapping: every resource validates against the R4 models and carries the agreed codes.

The builders return JSON dicts; `r4.parsed` is the R4 check they no longer run themselves.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from apps.assessments import scoring
from apps.fhir import codes, mapping
from apps.programs.models import ProgramStatus, SessionStatus
from tests import factories
from tests.fhir.r4 import NotR4, parsed

BASE = "https://api.example.test/fhir/R4"


def round_trip(body):
    """The body, after checking it parses as its R4B model and is the JSON that model writes."""
    parsed(body)
    return body


def codings(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def extension(body: dict, url: str) -> dict:
    (found,) = [e for e in body.get("extension", []) if e["url"] == url]
    return found


@pytest.fixture
def strength_test(patient_a):
    return factories.StrengthTestFactory(patient=patient_a)


@pytest.fixture
def odi_response(patient_a):
    # 16 points over ten answered sections: 16 / 50 = 32.0 %.
    return factories.QuestionnaireResponseFactory(
        patient=patient_a, instrument=scoring.ODI, answers=[2, 2, 2, 2, 2, 2, 1, 1, 1, 1]
    )


@pytest.fixture
def program(patient_a):
    return factories.ProgramFactory(
        patient=patient_a,
        status=ProgramStatus.ACTIVE,
        started_at=timezone.now() - dt.timedelta(days=14),
        current_load=Decimal("105"),
    )


@pytest.fixture
def session(program):
    return factories.TrainingSessionFactory(program=program)


# --- Every mapping validates and round-trips -----------------------------------------------------


@pytest.fixture
def every_resource(organization, clinic_a, patient_a, strength_test, odi_response, program, session):
    ndi = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.NDI, answers=[1] * 10)
    nrs = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, answers=[6])
    return [
        mapping.organization_resource(organization),
        mapping.location_resource(clinic_a),
        mapping.patient_resource(patient_a),
        mapping.strength_observation(strength_test),
        mapping.score_observation(odi_response),
        mapping.score_observation(ndi),
        mapping.score_observation(nrs),
        mapping.questionnaire_response_resource(odi_response),
        mapping.questionnaire_response_resource(ndi),
        mapping.questionnaire_response_resource(nrs),
        mapping.care_plan_resource(program),
        mapping.encounter_resource(session),
        mapping.operation_outcome("error", "not-found", "Patient/123 is not known."),
        mapping.capability_statement(base_url=BASE, interactions={"Patient": ["read", "search-type"]}),
    ]


EVERY_TYPE = [
    "Organization",
    "Location",
    "Patient",
    *["Observation"] * 4,
    *["QuestionnaireResponse"] * 3,
    "CarePlan",
    "Encounter",
    "OperationOutcome",
    "CapabilityStatement",
]


def test_every_mapping_validates_and_round_trips_through_json(every_resource):
    for resource in every_resource:
        round_trip(resource)
    assert [resource["resourceType"] for resource in every_resource] == EVERY_TYPE


def test_every_mapping_is_plain_json(every_resource):
    # What the renderer gets: nothing it would have to convert (no Decimal, datetime, UUID, lazy text).
    # (A factory's unsaved row may hold a TextChoices member, a str; rows read back hold plain str.)
    for resource in every_resource:
        assert all(isinstance(value, str | int | float | bool) for value in leaf_values(resource))


def test_every_mapping_can_be_a_searchset_entry(every_resource):
    bundle = mapping.searchset_bundle(every_resource, total=len(every_resource), self_url=f"{BASE}/Observation")
    body = round_trip(bundle)
    assert len(body["entry"]) == len(every_resource)
    assert [entry["fullUrl"] for entry in body["entry"]][:2] == [
        f"{BASE}/Organization/{every_resource[0]['id']}",
        f"{BASE}/Location/{every_resource[1]['id']}",
    ]


def test_a_code_outside_a_required_value_set_raises(patient_a):
    # The library checks codes' syntax only; the mapping checks required bindings itself.
    patient_a.sex = "robot"
    with pytest.raises(ValueError, match=r"Patient\.gender"):
        mapping.patient_resource(patient_a)


# --- Organization and Location ------------------------------------------------------------------


def test_organization_has_id_name_and_slug_identifier(organization):
    body = round_trip(mapping.organization_resource(organization))
    assert body["id"] == str(organization.pk)
    assert body["name"] == "Acme Spine"
    assert body["identifier"] == [{"system": codes.ORGANIZATION_ID_SYSTEM, "value": "acme"}]


def test_location_carries_timezone_address_phone_and_organization(clinic_a):
    clinic_a.phone = "+1 619 555 0100"
    clinic_a.address_line = "1 Spine Way"
    clinic_a.save()
    body = round_trip(mapping.location_resource(clinic_a))
    assert body["id"] == str(clinic_a.pk)
    assert body["status"] == "active"
    assert body["name"] == "Clinic A"
    assert extension(body, codes.TIMEZONE_EXTENSION)["valueCode"] == "America/Los_Angeles"
    assert body["telecom"] == [{"system": "phone", "value": "+1 619 555 0100", "use": "work"}]
    assert body["address"]["line"] == ["1 Spine Way"]
    assert body["address"]["city"] == "San Diego"
    assert body["managingOrganization"] == {"reference": f"Organization/{clinic_a.organization_id}"}
    assert body["meta"]["lastUpdated"]


def test_inactive_clinic_is_an_inactive_location(clinic_a):
    clinic_a.is_active = False
    assert round_trip(mapping.location_resource(clinic_a))["status"] == "inactive"


# --- Patient -------------------------------------------------------------------------------------

DEMOGRAPHIC_KEYS = {
    "resourceType",
    "id",
    "meta",
    "extension",
    "identifier",
    "active",
    "name",
    "telecom",
    "gender",
    "birthDate",
    "deceasedDateTime",
    "communication",
    "managingOrganization",
}


def test_patient_maps_mrn_name_gender_birth_date_contacts_and_organization(patient_a):
    patient_a.phone = "+1 619 555 0199"
    patient_a.preferred_language = "es"
    patient_a.save()
    body = round_trip(mapping.patient_resource(patient_a))
    assert body["id"] == str(patient_a.pk)
    (identifier,) = body["identifier"]
    assert identifier["system"] == "https://spinezone.example/fhir/sid/mrn/acme"
    assert identifier["value"] == "A-0001"
    assert codings(identifier["type"]) == {(codes.V2_IDENTIFIER_TYPE, "MR")}
    assert body["name"] == [{"use": "official", "family": "Alvarez", "given": ["Ana"]}]
    assert body["gender"] == patient_a.sex
    assert body["birthDate"] == patient_a.birth_date.isoformat()
    assert {(t["system"], t["value"]) for t in body["telecom"]} == {
        ("email", patient_a.email),
        ("phone", "+1 619 555 0199"),
    }
    assert codings(body["communication"][0]["language"]) == {(codes.BCP47, "es")}
    assert body["managingOrganization"] == {"reference": f"Organization/{patient_a.organization_id}"}
    assert extension(body, codes.HOME_CLINIC_EXTENSION)["valueReference"] == {
        "reference": f"Location/{patient_a.clinic_id}"
    }
    assert body["active"] is True
    assert "deceasedDateTime" not in body


@pytest.mark.parametrize("sex", ["female", "male", "other", "unknown"])
def test_every_sex_maps_to_the_same_gender_code(patient_a, sex):
    patient_a.sex = sex
    assert round_trip(mapping.patient_resource(patient_a))["gender"] == sex


def test_a_deleted_patient_is_inactive(patient_a, superuser):
    patient_a.deleted_at = timezone.now()
    patient_a.deleted_by = superuser
    patient_a.save()
    assert round_trip(mapping.patient_resource(patient_a))["active"] is False


def test_a_deceased_patient_has_a_deceased_date(patient_a):
    patient_a.deceased_on = dt.date(2024, 3, 1)
    body = round_trip(mapping.patient_resource(patient_a))
    assert body["deceasedDateTime"] == "2024-03-01"


def test_the_patient_resource_carries_no_clinical_data(patient_a):
    patient_a.height_cm = 187
    patient_a.body_mass_kg = Decimal("93.5")
    patient_a.deceased_on = dt.date(2024, 3, 1)
    body = round_trip(mapping.patient_resource(patient_a))
    assert set(body) <= DEMOGRAPHIC_KEYS
    # Values are compared whole: digits of the height may well appear inside an id or a date.
    assert not {187, "187", 93.5, "93.5", Decimal("93.5")} & set(leaf_values(body))
    text = str(body)
    for clinical in ("height", "mass", "consent", "unsubscribe", "screen"):
        assert clinical not in text


def leaf_values(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from leaf_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from leaf_values(value)
    else:
        yield node


# --- Strength test -------------------------------------------------------------------------------


def test_strength_observation_has_one_component_per_point_in_newton_metres(strength_test):
    body = round_trip(mapping.strength_observation(strength_test))
    torque = [c for c in body["component"] if c["code"]["coding"][0]["code"].startswith("lumbar-extension-torque-")]
    points = list(strength_test.points.all())
    assert len(torque) == len(points) == 7
    by_code = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in torque}
    for point in points:
        quantity = by_code[f"lumbar-extension-torque-{point.angle_deg}"]
        assert Decimal(str(quantity["value"])) == point.torque_nm
        assert quantity["system"] == "http://unitsofmeasure.org"
        assert quantity["code"] == "N.m"
        assert quantity["unit"] == "N.m"
    assert all(c["code"]["coding"][0]["system"] == codes.ISOMETRIC_TORQUE_SYSTEM for c in body["component"])


def test_strength_observation_is_a_final_exam_for_the_patient_with_its_index(strength_test):
    body = round_trip(mapping.strength_observation(strength_test))
    assert body["id"] == str(strength_test.pk)
    assert body["status"] == "final"
    assert codings(body["category"][0]) == {(codes.OBSERVATION_CATEGORY, "exam")}
    assert codings(body["code"]) == {
        ("https://spinezone.example/fhir/CodeSystem/isometric-torque", "lumbar-extension-isometric-test")
    }
    assert body["subject"] == {"reference": f"Patient/{strength_test.patient_id}"}
    assert body["effectiveDateTime"]
    by_code = {c["code"]["coding"][0]["code"]: c for c in body["component"]}
    index = by_code["lumbar-extension-strength-index"]["valueQuantity"]
    assert (index["code"], Decimal(str(index["value"]))) == ("N.m.deg", strength_test.strength_index_nm_deg)
    assert by_code["lumbar-extension-peak-torque"]["valueQuantity"]["value"] == 250
    assert by_code["lumbar-extension-range-of-motion"]["valueRange"]["high"]["value"] == 72
    assert by_code["isometric-test-familiarization"]["valueBoolean"] is False


def test_cervical_test_uses_cervical_codes(patient_a, clinic_a):
    machine = factories.MachineFactory(clinic=clinic_a, kind="cervical_extension")
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine)
    body = round_trip(mapping.strength_observation(test))
    assert codings(body["code"]) == {(codes.ISOMETRIC_TORQUE_SYSTEM, "cervical-extension-isometric-test")}
    angles = {c["code"]["coding"][0]["code"] for c in body["component"]}
    assert {f"cervical-extension-torque-{a}" for a in (126, 108, 90, 72, 54, 36, 18, 0)} <= angles


# --- Scores and questionnaire responses ----------------------------------------------------------


def test_odi_16_of_50_maps_to_32_percent_with_its_loinc_code(odi_response):
    body = round_trip(mapping.score_observation(odi_response))
    assert codings(body["code"]) == {("http://loinc.org", "97909-6")}
    assert body["valueQuantity"] == {"value": 32.0, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    assert codings(body["category"][0]) == {(codes.OBSERVATION_CATEGORY, "survey")}
    assert body["status"] == "final"
    assert body["interpretation"] == [{"text": "moderate"}]
    assert body["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{odi_response.pk}"}]
    assert body["subject"] == {"reference": f"Patient/{odi_response.patient_id}"}


def test_the_top_odi_band_is_displayed_bed_bound_never_as_its_code(patient_a):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.ODI, answers=[5] * 10)
    assert response.band == "bed_bound"
    body = round_trip(mapping.score_observation(response))
    assert body["interpretation"] == [{"text": "bed-bound"}]


def test_ndi_score_is_the_raw_total_with_its_loinc_code(patient_a):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.NDI, answers=[2] * 10)
    body = round_trip(mapping.score_observation(response))
    assert codings(body["code"]) == {("http://loinc.org", "82237-9")}
    assert body["valueQuantity"] == {
        "value": 20.0,
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }


def test_pain_nrs_score_is_an_integer_with_its_loinc_code(patient_a):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, answers=[7])
    body = round_trip(mapping.score_observation(response))
    assert codings(body["code"]) == {("http://loinc.org", "72514-3")}
    assert body["valueInteger"] == 7
    assert "valueQuantity" not in body


def test_questionnaire_response_has_one_item_per_section(odi_response):
    body = round_trip(mapping.questionnaire_response_resource(odi_response))
    assert body["status"] == "completed"
    assert body["questionnaire"] == "https://spinezone.example/fhir/Questionnaire/odi"
    assert body["subject"] == {"reference": f"Patient/{odi_response.patient_id}"}
    assert body["authored"]
    assert [item["linkId"] for item in body["item"]] == [str(n) for n in range(1, 11)]
    assert [item["text"] for item in body["item"]][:2] == ["Pain intensity", "Personal care"]
    assert [item["answer"][0]["valueInteger"] for item in body["item"]] == [2, 2, 2, 2, 2, 2, 1, 1, 1, 1]


def test_unanswered_sections_have_no_answer(patient_a):
    answers = [3, 3, 3, 3, 3, 3, 3, None, 3, 3]  # ODI section 8 skipped: 9 answered is still valid
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.ODI, answers=answers)
    body = round_trip(mapping.questionnaire_response_resource(response))
    skipped = body["item"][7]
    assert skipped == {"linkId": "8", "text": "Sex life"}
    assert all("answer" in item for n, item in enumerate(body["item"]) if n != 7)


def test_pain_nrs_response_is_a_single_item(patient_a):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, answers=[4])
    body = round_trip(mapping.questionnaire_response_resource(response))
    assert body["questionnaire"] == "https://spinezone.example/fhir/Questionnaire/pain-nrs"
    assert body["item"] == [{"linkId": "1", "text": "Pain intensity (0-10)", "answer": [{"valueInteger": 4}]}]


# --- CarePlan ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "care_plan_status", "activity_status"),
    [
        (ProgramStatus.DRAFT, "draft", "not-started"),
        (ProgramStatus.ACTIVE, "active", "in-progress"),
        (ProgramStatus.ON_HOLD, "on-hold", "on-hold"),
        (ProgramStatus.LAPSED, "on-hold", "on-hold"),
        (ProgramStatus.COMPLETED, "completed", "completed"),
        (ProgramStatus.DISCHARGED, "completed", "completed"),
        (ProgramStatus.CANCELLED, "revoked", "cancelled"),
    ],
)
def test_program_status_maps_to_care_plan_status(patient_a, status, care_plan_status, activity_status):
    program = factories.ProgramFactory(patient=patient_a, status=status)
    body = round_trip(mapping.care_plan_resource(program))
    assert body["status"] == care_plan_status
    assert body["activity"][0]["detail"]["status"] == activity_status
    # Our finer status is kept, so discharged and completed stay distinguishable.
    assert extension(body, codes.PROGRAM_STATUS_EXTENSION)["valueCoding"]["code"] == status


def test_care_plan_describes_the_prescription(program):
    body = round_trip(mapping.care_plan_resource(program))
    assert body["intent"] == "plan"
    assert body["subject"] == {"reference": f"Patient/{program.patient_id}"}
    assert body["period"]["start"]
    assert "end" not in body["period"]
    detail = body["activity"][0]["detail"]
    repeat = detail["scheduledTiming"]["repeat"]
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (2, 1.0, "wk")
    assert (repeat["boundsDuration"]["value"], repeat["boundsDuration"]["code"]) == (10, "wk")
    assert detail["quantity"] == {
        "value": 105.0,
        "unit": "ft.lbf",
        "system": "http://unitsofmeasure.org",
        "code": "[ft_i].[lbf_av]",
    }
    assert detail["location"] == {"reference": f"Location/{program.clinic_id}"}
    assert "8-12 repetitions" in detail["description"]
    assert "load 105 ft·lbf" in detail["description"]


# --- Encounter -----------------------------------------------------------------------------------


def test_session_is_a_finished_ambulatory_encounter(session):
    body = round_trip(mapping.encounter_resource(session))
    assert body["status"] == "finished"
    assert body["class"] == {"system": codes.V3_ACT_CODE, "code": "AMB", "display": "ambulatory"}
    assert body["subject"] == {"reference": f"Patient/{session.patient_id}"}
    assert body["period"]["start"]
    assert body["location"] == [{"location": {"reference": f"Location/{session.clinic_id}"}}]
    assert body["serviceProvider"] == {"reference": f"Organization/{session.clinic.organization_id}"}
    assert extension(body, codes.CARE_PLAN_EXTENSION)["valueReference"] == {
        "reference": f"CarePlan/{session.program_id}"
    }
    assert extension(body, codes.SESSION_STATUS_EXTENSION)["valueCoding"]["code"] == "completed"


def test_a_stopped_early_session_is_finished_with_the_reason_in_its_extension(program):
    session = factories.TrainingSessionFactory(program=program, status=SessionStatus.STOPPED_EARLY)
    body = round_trip(mapping.encounter_resource(session))
    assert body["status"] == "finished"
    assert extension(body, codes.SESSION_STATUS_EXTENSION)["valueCoding"] == {
        "system": codes.SESSION_STATUS_SYSTEM,
        "code": "stopped-early",
        "display": "Stopped early",
    }


# --- Bundle, OperationOutcome, CapabilityStatement -----------------------------------------------


def test_a_searchset_bundle_with_a_next_link_validates(patient_a, patient_b):
    resources = [mapping.patient_resource(patient_a), mapping.patient_resource(patient_b)]
    bundle = mapping.searchset_bundle(
        resources,
        total=5,
        self_url=f"{BASE}/Patient?_count=2",
        next_url=f"{BASE}/Patient?_count=2&cursor=abc",
    )
    body = bundle
    model = parsed(body)
    assert isinstance(model, Bundle)
    assert isinstance(model.entry[0].resource, Patient)
    assert body["type"] == "searchset"
    assert body["total"] == 5
    assert body["link"] == [
        {"relation": "self", "url": f"{BASE}/Patient?_count=2"},
        {"relation": "next", "url": f"{BASE}/Patient?_count=2&cursor=abc"},
    ]
    assert [e["fullUrl"] for e in body["entry"]] == [f"{BASE}/Patient/{patient_a.pk}", f"{BASE}/Patient/{patient_b.pk}"]
    assert all(e["search"] == {"mode": "match"} for e in body["entry"])


def test_an_empty_searchset_has_no_entries_and_no_next_link():
    body = round_trip(mapping.searchset_bundle([], total=0, self_url=f"{BASE}/Observation?patient=x"))
    assert "entry" not in body
    assert [link["relation"] for link in body["link"]] == ["self"]


def test_operation_outcome_carries_one_issue():
    body = round_trip(mapping.operation_outcome("error", "not-found", "Patient/x is not known."))
    assert body["issue"] == [{"severity": "error", "code": "not-found", "diagnostics": "Patient/x is not known."}]


def test_operation_outcome_rejects_an_unknown_issue_code():
    with pytest.raises(ValueError, match=r"issue\.code"):
        mapping.operation_outcome("error", "oops", "x")


def test_the_capability_statement_lists_exactly_the_interactions_passed():
    interactions = {
        "Patient": ["read", "search-type"],
        "Observation": ["read", "search-type"],
        "Organization": ["read"],
    }
    body = mapping.capability_statement(base_url=BASE, interactions=interactions)
    assert isinstance(parsed(body), CapabilityStatement)
    assert (body["status"], body["kind"], body["fhirVersion"]) == ("active", "instance", "4.0.1")
    assert body["format"] == ["application/fhir+json"]
    assert body["implementation"]["url"] == BASE
    (rest,) = body["rest"]
    assert rest["mode"] == "server"
    served = {r["type"]: [i["code"] for i in r["interaction"]] for r in rest["resource"]}
    assert served == interactions
    params = {r["type"]: {p["name"] for p in r.get("searchParam", [])} for r in rest["resource"]}
    assert params == {"Patient": {"_lastUpdated"}, "Observation": {"patient", "_lastUpdated"}, "Organization": set()}


def test_the_capability_statement_rejects_an_interaction_it_cannot_name():
    with pytest.raises(ValueError, match="interaction"):
        mapping.capability_statement(base_url=BASE, interactions={"Patient": ["read", "teleport"]})


# --- The builders' edges -------------------------------------------------------------------------


def test_a_curve_given_to_the_strength_observation_is_what_the_points_give(strength_test):
    curve = [(point.angle_deg, point.torque_nm) for point in strength_test.points.all()]
    assert mapping.strength_observation(strength_test, curve) == mapping.strength_observation(strength_test)


def test_an_unknown_instrument_raises(odi_response):
    odi_response.instrument = "sf36"
    with pytest.raises(ValueError, match="sf36"):
        mapping.score_observation(odi_response)
    with pytest.raises(ValueError, match="sf36"):
        mapping.questionnaire_response_resource(odi_response)


# --- The R4 check itself: a wrong shape fails it ---------------------------------------------------


DROP = object()


def _broken(body, path, value):
    """A copy of `body` with the element at `path` set to `value` (or dropped)."""
    body = copy.deepcopy(body)
    *parents, last = path
    node = body
    for key in parents:
        node = node[key]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return body


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("birthDate",), "1990-13-01"),  # not a date
        (("gender",), ""),  # an empty code
        (("nickname",), "Annie"),  # no such element
        (("name", 0, "given"), "Ana"),  # a list element given once
        (("active",), "yes"),  # not a boolean
        (("meta", "lastUpdated"), "2025-03-04T09:30:15"),  # an instant without its zone
        (("identifier", 0, "assigner"), "Organization/1"),  # a Reference given as a string
    ],
)
def test_the_r4_check_refuses_a_patient_of_the_wrong_shape(patient_a, path, value):
    body = mapping.patient_resource(patient_a)
    parsed(body)
    with pytest.raises((NotR4, ValidationError)):
        parsed(_broken(body, path, value))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("status",), DROP),  # a required element missing
        (("valueInteger",), 7.0),  # a decimal where FHIR has an integer
        (("effectiveDateTime",), "2025-03-12T09:30:15.002000+00:00"),  # UTC not written as Z
        (("code",), DROP),  # another required element
    ],
)
def test_the_r4_check_refuses_an_observation_not_as_the_library_writes_it(patient_a, path, value):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, answers=[7])
    body = mapping.score_observation(response)
    body["effectiveDateTime"] = "2025-03-12T09:30:15.002000Z"
    parsed(body)
    with pytest.raises((NotR4, ValidationError)):
        parsed(_broken(body, path, value))


def test_the_r4_check_refuses_elements_out_of_order(patient_a):
    body = mapping.patient_resource(patient_a)
    reordered = {"resourceType": "Patient", "gender": body["gender"], **body}
    assert reordered == body
    with pytest.raises(NotR4):
        parsed(reordered)


def test_the_r4_check_looks_into_every_bundle_entry(patient_a, patient_b):
    bundle = mapping.searchset_bundle(
        [mapping.patient_resource(patient_a), mapping.patient_resource(patient_b)], total=2, self_url=f"{BASE}/Patient"
    )
    parsed(bundle)
    with pytest.raises(ValidationError):
        parsed(_broken(bundle, ("entry", 1, "resource", "birthDate"), "1990-13-01"))
