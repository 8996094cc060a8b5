"""The FHIR R4 endpoints: every resource returned validates against the R4B models; errors are OperationOutcomes."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import orjson
import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apps.assessments import scoring
from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.audit.models import Event
from apps.fhir import codes
from apps.fhir import urls as fhir_urls
from apps.patients.models import Patient
from apps.programs.models import ProgramStatus
from tests import factories
from tests.fhir.r4 import parsed

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"


def validated(response, status=200):
    """The body, after checking the status, the content type, and that it parses as its R4B model (a
    Bundle's entries each as theirs) and is the JSON that model writes (`r4.parsed`).
    """
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(codes.FHIR_JSON)
    body = response.json()
    parsed(body)
    return body


def outcome(response, status, code):
    body = validated(response, status)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body


def ids(bundle):
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def relative(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def strength_test(patient_a):
    return factories.StrengthTestFactory(patient=patient_a)


@pytest.fixture
def odi(patient_a):
    return factories.QuestionnaireResponseFactory(
        patient=patient_a, instrument=scoring.ODI, answers=[2, 2, 2, 2, 2, 2, 1, 1, 1, 1]
    )


@pytest.fixture
def program(patient_a):
    return factories.ProgramFactory(
        patient=patient_a, status=ProgramStatus.ACTIVE, started_at=timezone.now() - dt.timedelta(days=14)
    )


@pytest.fixture
def session(program):
    return factories.TrainingSessionFactory(program=program)


# --- metadata ------------------------------------------------------------------------------------


def _served_routes():
    """{(type, interaction)} from the URL patterns under /fhir/R4/."""
    served = set()
    for pattern in fhir_urls.urlpatterns:
        name = pattern.name or ""
        if name in ("metadata", "not-found"):
            continue
        resource_type, interaction = name.split("-", 1)
        served.add((resource_type, interaction))
    return served


def test_metadata_is_open_and_lists_exactly_the_interactions_served(api):
    body = validated(api("GET", f"{BASE}/metadata"))
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"].startswith("4.")
    listed = {
        (resource["type"], interaction["code"])
        for resource in body["rest"][0]["resource"]
        for interaction in resource["interaction"]
    }
    assert listed == _served_routes()
    assert {("Patient", "read"), ("Patient", "search-type"), ("Observation", "search-type")} <= listed


SAMPLE_VALUES = {"date": "gt2020-01-01", "token": "x", "string": "a", "reference": "x"}  # well-formed, each type


def test_every_listed_interaction_resolves_to_a_view_and_every_search_param_is_accepted(api, writer_a, patient_a):
    body = api("GET", f"{BASE}/metadata").json()
    resolver = get_resolver()
    for resource in body["rest"][0]["resource"]:
        codes_served = {interaction["code"] for interaction in resource["interaction"]}
        if "read" in codes_served:
            match = resolver.resolve(f"{BASE}/{resource['type']}/00000000-0000-0000-0000-000000000000")
            assert match.url_name == f"{resource['type']}-read"
        if "search-type" in codes_served:
            for param in resource.get("searchParam", []):
                value = str(patient_a.pk) if param["name"] == "patient" else SAMPLE_VALUES[param["type"]]
                response = api("GET", f"{BASE}/{resource['type']}?{param['name']}={value}", token=writer_a)
                assert validated(response)["type"] == "searchset"
                assert param["documentation"]


def test_the_url_patterns_are_all_accounted_for():
    # The routes are generated from the same table: nothing under /fhir/R4/ is hand-added.
    names = {pattern.name for pattern in fhir_urls.urlpatterns if isinstance(pattern, URLPattern)}
    assert not [p for p in fhir_urls.urlpatterns if isinstance(p, URLResolver)]
    assert {"metadata", "not-found"} <= names


# --- auth, negotiation, errors -------------------------------------------------------------------


def test_no_token_is_401_operation_outcome(api, patient_a):
    response = api("GET", f"{BASE}/Patient/{patient_a.pk}")
    outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_401(api, patient_a):
    outcome(api("GET", f"{BASE}/Patient/{patient_a.pk}", token="sz_nope"), 401, "login")


def test_application_json_and_format_json_get_fhir_json(api, writer_a, patient_a):
    assert validated(api("GET", f"{BASE}/Patient/{patient_a.pk}", token=writer_a, Accept="application/json"))
    assert validated(api("GET", f"{BASE}/Patient/{patient_a.pk}?_format=json", token=writer_a))
    assert validated(api("GET", f"{BASE}/Patient/{patient_a.pk}", token=writer_a, Accept=codes.FHIR_JSON))


def test_xml_is_406(api, writer_a, patient_a):
    outcome(api("GET", f"{BASE}/Patient/{patient_a.pk}?_format=xml", token=writer_a), 406, "not-supported")


def test_writes_are_405(api, writer_a, patient_a):
    outcome(api("POST", f"{BASE}/Patient", token=writer_a, body={}), 405, "not-supported")


def test_an_unknown_path_is_404_operation_outcome(api, writer_a):
    outcome(api("GET", f"{BASE}/Medication/1", token=writer_a), 404, "not-supported")


def test_a_session_user_may_read_too(signed_in, clinician_a, patient_a):
    client = signed_in(clinician_a)
    body = validated(client.get(f"{BASE}/Patient/{patient_a.pk}"))
    assert body["id"] == str(patient_a.pk)


# --- reads ---------------------------------------------------------------------------------------


def test_patient_read_validates_and_is_audited_with_the_partner_label(api, writer_a, partner_a, patient_a):
    body = validated(api("GET", f"{BASE}/Patient/{patient_a.pk}", token=writer_a))
    assert body["resourceType"] == "Patient"
    assert body["id"] == str(patient_a.pk)
    event = Event.objects.get(object_type="patients.patient", object_id=str(patient_a.pk), action="read")
    assert event.actor_label == f"partner:{partner_a.name}"
    assert event.actor is None


@pytest.mark.parametrize("other", ["patient_b", "patient_c"])
def test_another_clinics_patient_is_404(api, writer_a, other, request):
    patient = request.getfixturevalue(other)
    outcome(api("GET", f"{BASE}/Patient/{patient.pk}", token=writer_a), 404, "not-found")
    assert not Event.objects.filter(object_id=str(patient.pk), action="read").exists()


def test_a_malformed_id_is_404(api, writer_a):
    outcome(api("GET", f"{BASE}/Patient/not-a-uuid", token=writer_a), 404, "not-found")
    outcome(api("GET", f"{BASE}/Location/abc", token=writer_a), 404, "not-found")


def test_a_deleted_patient_is_404(api, writer_a, patient_a, clinician_a):
    Patient.objects.filter(pk=patient_a.pk).update(deleted_at=timezone.now(), deleted_by=clinician_a)
    outcome(api("GET", f"{BASE}/Patient/{patient_a.pk}", token=writer_a), 404, "not-found")


def test_organization_and_location_only_of_the_principal(api, writer_a, organization, other_organization, clinic_a):
    clinic_b = factories.ClinicFactory(organization=organization)
    org = validated(api("GET", f"{BASE}/Organization/{organization.pk}", token=writer_a))
    assert org["resourceType"] == "Organization"
    assert org["id"] == str(organization.pk)
    location = validated(api("GET", f"{BASE}/Location/{clinic_a.pk}", token=writer_a))
    assert location["resourceType"] == "Location"
    assert location["id"] == str(clinic_a.pk)
    outcome(api("GET", f"{BASE}/Organization/{other_organization.pk}", token=writer_a), 404, "not-found")
    outcome(api("GET", f"{BASE}/Location/{clinic_b.pk}", token=writer_a), 404, "not-found")


def test_observation_read_finds_a_strength_test_or_a_score(api, writer_a, strength_test, odi):
    test_body = validated(api("GET", f"{BASE}/Observation/{strength_test.pk}", token=writer_a))
    assert test_body["category"][0]["coding"][0]["code"] == codes.CATEGORY_EXAM
    assert test_body["component"][0]["valueQuantity"]["code"] == "N.m"
    score_body = validated(api("GET", f"{BASE}/Observation/{odi.pk}", token=writer_a))
    assert score_body["code"]["coding"][0]["code"] == codes.ODI_SCORE
    assert Event.objects.filter(object_id=str(strength_test.pk), action="read").count() == 1
    assert Event.objects.filter(object_id=str(odi.pk), action="read").count() == 1


def test_a_bed_bound_score_is_read_and_searched_with_its_band_in_words(api, writer_a, patient_a):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.ODI, answers=[5] * 10)
    read = validated(api("GET", f"{BASE}/Observation/{response.pk}", token=writer_a))
    found = validated(api("GET", f"{BASE}/Observation?patient={patient_a.pk}", token=writer_a))
    (searched,) = [entry["resource"] for entry in found["entry"] if entry["resource"]["id"] == str(response.pk)]
    assert read["interpretation"] == searched["interpretation"] == [{"text": "bed-bound"}]


def test_clinical_reads_validate_and_others_are_404(api, writer_a, writer_c, odi, program, session):
    for kind, row in (("QuestionnaireResponse", odi), ("CarePlan", program), ("Encounter", session)):
        body = validated(api("GET", f"{BASE}/{kind}/{row.pk}", token=writer_a))
        assert body["resourceType"] == kind
        assert body["id"] == str(row.pk)
        outcome(api("GET", f"{BASE}/{kind}/{row.pk}", token=writer_c), 404, "not-found")
    outcome(api("GET", f"{BASE}/Observation/{odi.pk}", token=writer_c), 404, "not-found")


def test_an_unknown_parameter_on_read_is_400(api, writer_a, patient_a):
    outcome(api("GET", f"{BASE}/Patient/{patient_a.pk}?foo=1", token=writer_a), 400, "invalid")


# --- searches ------------------------------------------------------------------------------------


def test_patient_search_shows_only_the_principals_clinics(api, writer_a, patient_a, patient_b, patient_c):
    body = validated(api("GET", f"{BASE}/Patient", token=writer_a))
    assert body["type"] == "searchset"
    assert body["total"] == 1
    assert ids(body) == [str(patient_a.pk)]
    assert [link["relation"] for link in body["link"]] == ["self"]
    assert body["entry"][0]["fullUrl"].endswith(f"/fhir/R4/Patient/{patient_a.pk}")


def test_patient_search_pages_with_next_and_no_overlap(api, writer_a, partner_a, clinic_a):
    made = [factories.PatientFactory(clinic=clinic_a) for _ in range(7)]
    first = validated(api("GET", f"{BASE}/Patient?_count=3", token=writer_a))
    assert first["total"] == 7
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "next"}
    seen = ids(first)
    url = links["next"]
    while url:
        page = validated(api("GET", relative(url), token=writer_a))
        assert page["total"] == 7
        seen += ids(page)
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert len(seen) == len(set(seen)) == 7
    newest_first = sorted(made, key=lambda p: (p.updated_at, p.pk), reverse=True)
    assert seen == [str(p.pk) for p in newest_first]
    events = Event.objects.filter(object_type="patients.patient", action="read")
    assert events.count() == 7
    assert set(events.values_list("actor_label", flat=True)) == {f"partner:{partner_a.name}"}


def test_count_is_capped_at_100(api, writer_a, clinic_a):
    Patient.objects.bulk_create(factories.PatientFactory.build_batch(105, clinic=clinic_a))
    body = validated(api("GET", f"{BASE}/Patient?_count=500", token=writer_a))
    assert len(body["entry"]) == 100
    assert body["total"] == 105


def test_last_updated_filters(api, writer_a, clinic_a):
    old = factories.PatientFactory(clinic=clinic_a)
    new = factories.PatientFactory(clinic=clinic_a)
    moment = timezone.now() - dt.timedelta(days=30)
    Patient.objects.filter(pk=old.pk).update(updated_at=moment)
    stamp = (moment + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def search(value):
        return ids(validated(api("GET", f"{BASE}/Patient?_lastUpdated={value}", token=writer_a)))

    assert search(f"gt{stamp}") == [str(new.pk)]
    assert search(f"ge{stamp}") == [str(new.pk)]
    assert search(f"lt{stamp}") == [str(old.pk)]
    assert search(f"le{stamp}") == [str(old.pk)]
    assert search(f"le{moment.date().isoformat()}") == []
    response = api("GET", f"{BASE}/Patient?_lastUpdated=gt{stamp}&_lastUpdated=lt{stamp}", token=writer_a)
    assert ids(validated(response)) == []


@pytest.mark.parametrize("value", ["2026-01-01", "eq2026-01-01", "gtyesterday", "gt2026-01-01T00:00:00", "gt"])
def test_a_bad_last_updated_is_400(api, writer_a, value):
    body = outcome(api("GET", f"{BASE}/Patient?_lastUpdated={value}", token=writer_a), 400, "invalid")
    assert body["issue"][0]["expression"] == ["_lastUpdated"]


@pytest.mark.parametrize(
    "query", ["address=Ana", "name:fuzzy=Ana", "_count=0", "_count=x", "_page=garbage", "patient=x"]
)
def test_bad_or_unknown_search_parameters_are_400(api, writer_a, query):
    outcome(api("GET", f"{BASE}/Patient?{query}", token=writer_a), 400, "invalid")


def test_observation_search_by_patient_newest_first_both_kinds(api, writer_a, patient_a, clinic_a):
    now = timezone.now()
    test = factories.StrengthTestFactory(patient=patient_a, performed_at=now - dt.timedelta(days=2))
    score = factories.QuestionnaireResponseFactory(
        patient=patient_a, instrument=scoring.PAIN_NRS, answers=[4], completed_at=now - dt.timedelta(days=1)
    )
    other = factories.PatientFactory(clinic=clinic_a)
    factories.StrengthTestFactory(patient=other)
    body = validated(api("GET", f"{BASE}/Observation?patient={patient_a.pk}", token=writer_a))
    assert body["total"] == 2
    assert ids(body) == [str(score.pk), str(test.pk)]
    reference = validated(api("GET", f"{BASE}/Observation?patient=Patient/{patient_a.pk}", token=writer_a))
    assert ids(reference) == ids(body)
    assert Event.objects.filter(action="read", patient_id=patient_a.pk).count() == 4


def test_observation_search_pages_across_both_tables(api, writer_a, patient_a):
    now = timezone.now()
    made = []
    for day in range(4):
        made.append(factories.StrengthTestFactory(patient=patient_a, performed_at=now - dt.timedelta(days=2 * day)))
        made.append(
            factories.QuestionnaireResponseFactory(
                patient=patient_a,
                instrument=scoring.PAIN_NRS,
                answers=[3],
                completed_at=now - dt.timedelta(days=2 * day + 1),
            )
        )
    seen, url = [], f"{BASE}/Observation?patient={patient_a.pk}&_count=3"
    while url:
        page = validated(api("GET", relative(url) if url.startswith("http") else url, token=writer_a))
        assert page["total"] == 8
        assert len(page.get("entry", [])) <= 3
        seen += ids(page)
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert seen == [str(row.pk) for row in made]


def test_search_by_another_clinics_patient_is_404(api, writer_a, patient_b, patient_c):
    for patient in (patient_b, patient_c):
        body = outcome(api("GET", f"{BASE}/Observation?patient={patient.pk}", token=writer_a), 404, "not-found")
        assert body["issue"][0]["expression"] == ["patient"]


def test_clinical_searches_by_patient(api, writer_a, writer_c, patient_a, odi, program, session):
    for kind, row in (("QuestionnaireResponse", odi), ("CarePlan", program), ("Encounter", session)):
        body = validated(api("GET", f"{BASE}/{kind}?patient={patient_a.pk}", token=writer_a))
        assert ids(body) == [str(row.pk)]
        assert validated(api("GET", f"{BASE}/{kind}", token=writer_c))["total"] == 0


def test_a_deleted_patients_records_are_not_found(api, writer_a, patient_a, strength_test, clinician_a):
    Patient.objects.filter(pk=patient_a.pk).update(deleted_at=timezone.now(), deleted_by=clinician_a)
    outcome(api("GET", f"{BASE}/Observation/{strength_test.pk}", token=writer_a), 404, "not-found")
    assert validated(api("GET", f"{BASE}/Observation", token=writer_a))["total"] == 0


def test_observation_search_query_count_does_not_grow_with_count(api, writer_a, patient_a, clinic_a):
    for _ in range(30):
        factories.StrengthTestFactory(patient=patient_a)
        factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, answers=[2])
    api("GET", f"{BASE}/Observation?patient={patient_a.pk}&_count=1", token=writer_a)  # warm the token's last use

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            body = validated(api("GET", f"{BASE}/Observation?patient={patient_a.pk}&_count={count}", token=writer_a))
        assert len(body["entry"]) == count
        return len(captured.captured_queries)

    assert queries(5) == queries(50)
    assert StrengthTest.objects.count() >= 30
    assert QuestionnaireResponse.objects.count() >= 30


def test_the_fhir_views_are_not_in_the_openapi_schema(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert schema["paths"]
    assert not [path for path in schema["paths"] if "fhir" in path.lower()]


def test_a_token_in_the_query_string_is_refused_with_an_operation_outcome(api, writer_a, patient_a):
    outcome(api("GET", f"{BASE}/Patient/{patient_a.pk}?access_token={writer_a}"), 401, "login")


def test_a_read_only_token_reads(api, reader_a, patient_a):
    assert validated(api("GET", f"{BASE}/Patient/{patient_a.pk}", token=reader_a))["id"] == str(patient_a.pk)


def test_a_search_writes_one_read_event_per_resource_shown_with_its_tenancy(api, writer_a, partner_a, patient_a):
    test = factories.StrengthTestFactory(patient=patient_a)
    score = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, answers=[5])
    before = set(Event.objects.values_list("pk", flat=True))
    validated(api("GET", f"{BASE}/Observation?patient={patient_a.pk}", token=writer_a))
    written = Event.objects.exclude(pk__in=before)
    assert sorted(
        written.values_list("action", "object_type", "object_id", "patient_id", "clinic_id", "organization_id")
    ) == sorted(
        [
            (
                "read",
                "assessments.strengthtest",
                str(test.pk),
                patient_a.pk,
                patient_a.clinic_id,
                patient_a.organization_id,
            ),
            (
                "read",
                "assessments.questionnaireresponse",
                str(score.pk),
                patient_a.pk,
                patient_a.clinic_id,
                patient_a.organization_id,
            ),
        ]
    )
    assert set(written.values_list("actor_label", "channel")) == {(f"partner:{partner_a.name}", "fhir")}
    assert len(set(written.values_list("request_id", flat=True))) == 1


@pytest.mark.parametrize("kind", ["Patient", "Observation", "QuestionnaireResponse", "CarePlan", "Encounter"])
def test_every_search_reads_as_many_queries_for_a_few_rows_as_for_more(api, writer_a, clinic_a, kind):
    now = timezone.now()
    for day in range(4):  # Observation: tests and scores alternate, newest first, so any page shows both
        patient = factories.PatientFactory(clinic=clinic_a)
        program = factories.ProgramFactory(patient=patient, status=ProgramStatus.ACTIVE)
        factories.TrainingSessionFactory(program=program)
        factories.StrengthTestFactory(patient=patient, performed_at=now - dt.timedelta(days=2 * day))
        factories.QuestionnaireResponseFactory(
            patient=patient, instrument=scoring.ODI, answers=[2] * 10, completed_at=now - dt.timedelta(days=2 * day + 1)
        )
    api("GET", f"{BASE}/{kind}?_count=1", token=writer_a)  # the token's last use written

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            body = validated(api("GET", f"{BASE}/{kind}?_count={count}", token=writer_a))
        assert len(body["entry"]) == count
        return len(captured.captured_queries)

    assert queries(2) == queries(4)


def test_a_search_reads_of_the_patient_only_what_it_shows(api, writer_a, patient_a, strength_test, odi):
    # Minimum necessary: an Observation page reads of the patient only the ids its audit events name.
    with CaptureQueriesContext(connection) as captured:
        validated(api("GET", f"{BASE}/Observation?patient={patient_a.pk}", token=writer_a))
        validated(api("GET", f"{BASE}/Patient", token=writer_a))
    selects = " ".join(q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT"))
    for column in ("height_cm", "body_mass_kg", "email_reminder_consent", "unsubscribed_at", "answers"):
        assert f'."{column}"' not in selects


@pytest.mark.parametrize(
    ("kind", "row"),
    [
        ("Observation", "strength_test"),
        ("Observation", "odi"),
        ("QuestionnaireResponse", "odi"),
        ("Patient", "patient_a"),
    ],
)
def test_a_resource_searched_is_the_resource_read(api, writer_a, patient_a, strength_test, odi, kind, row, request):
    # Searches load fewer columns and a test's curve without a prefetch: the JSON must not change.
    pk = request.getfixturevalue(row).pk
    read = api("GET", f"{BASE}/{kind}/{pk}", token=writer_a).json()
    query = "" if kind == "Patient" else f"?patient={patient_a.pk}"
    found = {
        entry["resource"]["id"]: entry["resource"]
        for entry in validated(api("GET", f"{BASE}/{kind}{query}", token=writer_a))["entry"]
    }
    assert orjson.dumps(found[str(pk)]) == orjson.dumps(read)  # order too
