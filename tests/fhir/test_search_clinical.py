# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""Observation search by code, category and date; Encounter and CarePlan by date and status; each only within
the principal's clinics, with `_summary=count`, the audit of what a page shows and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.assessments import scoring
from apps.audit.models import Event
from apps.fhir import codes
from apps.fhir.capabilities import FHIR_TYPES
from apps.programs.models import ProgramStatus
from tests import factories
from tests.fhir.test_views import BASE, ids, outcome, validated
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db
UTC = dt.UTC
TEST_AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ODI_AT = dt.datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
NRS_AT = dt.datetime(2026, 3, 12, 18, 30, tzinfo=UTC)
LUMBAR_TEST = codes.isometric_test_code("lumbar")


def instant(moment):
    return quote(moment.isoformat().replace("+00:00", "Z"))


def search(api, token, kind, query):
    return set(ids(validated(api("GET", f"{BASE}/{kind}?{query}", token=token))))


@pytest.fixture
def observations(patient_a, patient_b, patient_c):
    """patient_a's lumbar test, ODI and pain NRS; the same of patients of clinic B and of another organization."""
    made = {}
    for patient in (patient_a, patient_b, patient_c):
        made[patient.pk] = {
            "test": str(factories.StrengthTestFactory(patient=patient, performed_at=TEST_AT).pk),
            "odi": str(factories.QuestionnaireResponseFactory(patient=patient, completed_at=ODI_AT).pk),
            "nrs": str(
                factories.QuestionnaireResponseFactory(
                    patient=patient, instrument=scoring.PAIN_NRS, answers=[6], completed_at=NRS_AT
                ).pk
            ),
        }
    return made[patient_a.pk]


def picked(rows, *names):
    return {rows[name] for name in names}


# --- Observation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "wanted"),
    [
        (f"{codes.LOINC}|{codes.ODI_SCORE}", {"odi"}),
        (codes.ODI_SCORE, {"odi"}),
        (codes.PAIN_NRS, {"nrs"}),
        (f"{codes.ISOMETRIC_TORQUE_SYSTEM}|{LUMBAR_TEST}", {"test"}),
        (LUMBAR_TEST, {"test"}),
        (f"{codes.LOINC}|", {"odi", "nrs"}),
        (f"{codes.ODI_SCORE},{LUMBAR_TEST}", {"odi", "test"}),
        (codes.isometric_test_code("cervical"), set()),
        (codes.NDI_TOTAL, set()),
        (f"{codes.LOINC}|{LUMBAR_TEST}", set()),  # the right code in the wrong system
        (f"|{codes.ODI_SCORE}", set()),
        (codes.torque_at_angle_code("lumbar", 60), set()),  # a component's code is not the Observation's
        (codes.ODI_PANEL, set()),
    ],
)
def test_observation_code_matches_system_and_code_or_the_code_alone(api, writer_a, observations, code, wanted):
    assert search(api, writer_a, "Observation", f"code={quote(code, safe=',')}") == picked(observations, *wanted)


def test_each_observation_is_found_by_the_code_it_carries(api, writer_a, observations):
    everything = validated(api("GET", f"{BASE}/Observation", token=writer_a))
    assert len(everything["entry"]) == 3
    for entry in everything["entry"]:
        coding = entry["resource"]["code"]["coding"][0]
        token = quote(f"{coding['system']}|{coding['code']}", safe="")
        assert search(api, writer_a, "Observation", f"code={token}") == {entry["resource"]["id"]}
        category = entry["resource"]["category"][0]["coding"][0]
        token = quote(f"{category['system']}|{category['code']}", safe="")
        assert entry["resource"]["id"] in search(api, writer_a, "Observation", f"category={token}")


@pytest.mark.parametrize(
    ("category", "wanted"),
    [
        ("exam", {"test"}),
        ("survey", {"odi", "nrs"}),
        ("exam,survey", {"test", "odi", "nrs"}),
        (f"{codes.OBSERVATION_CATEGORY}|exam", {"test"}),
        ("vital-signs", set()),
        ("http://example.org/category|exam", set()),
    ],
)
def test_observation_category_is_exam_for_tests_and_survey_for_scores(api, writer_a, observations, category, wanted):
    assert search(api, writer_a, "Observation", f"category={quote(category, safe=',')}") == picked(
        observations, *wanted
    )


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("date=2026-03-11", {"odi"}),
        ("date=eq2026-03-11", {"odi"}),
        ("date=2026-03", {"test", "odi", "nrs"}),
        ("date=2026", {"test", "odi", "nrs"}),
        ("date=2025", set()),
        ("date=ne2026-03-11", {"test", "nrs"}),
        (f"date=ge{instant(ODI_AT)}", {"odi", "nrs"}),  # the edges: the instant itself is in ge and le
        (f"date=gt{instant(ODI_AT)}", {"nrs"}),
        (f"date=le{instant(ODI_AT)}", {"test", "odi"}),
        (f"date=lt{instant(ODI_AT)}", {"test"}),
        (f"date=eq{instant(NRS_AT)}", {"nrs"}),
        (f"date={quote('2026-03-12T19:30:00+01:00')}", {"nrs"}),  # the same instant at another offset
        ("date=gt2026-03-11", {"nrs"}),  # after the whole day
        ("date=le2026-03-11", {"test", "odi"}),
        ("date=ge2026-03-11&date=lt2026-03-12", {"odi"}),
        ("date=ge2026-03-11&category=survey&code=72514-3", {"nrs"}),
    ],
)
def test_observation_date_is_the_effective_time_with_prefixes(api, writer_a, observations, query, wanted):
    assert search(api, writer_a, "Observation", query) == picked(observations, *wanted)


def test_observation_parameters_combine_with_patient(api, writer_a, patient_a, observations):
    query = f"patient={patient_a.pk}&code={codes.ODI_SCORE},{LUMBAR_TEST}&date=le2026-03-11"
    assert search(api, writer_a, "Observation", query) == picked(observations, "test", "odi")


def test_another_clinics_observations_are_never_found(api, writer_a, patient_b, observations):
    assert search(api, writer_a, "Observation", "code=97909-6,72514-3,lumbar-extension-isometric-test") == set(
        observations.values()
    )
    outcome(api("GET", f"{BASE}/Observation?patient={patient_b.pk}&code=97909-6", token=writer_a), 404, "not-found")


def test_observation_summary_count_adds_both_tables(api, writer_a, observations):
    before = Event.objects.count()
    body = validated(api("GET", f"{BASE}/Observation?code=97909-6,{LUMBAR_TEST}&_summary=count", token=writer_a))
    assert (body["total"], "entry" in body) == (2, False)
    assert Event.objects.count() == before


def test_an_observation_search_audits_only_what_its_page_shows(api, writer_a, observations):
    validated(api("GET", f"{BASE}/Observation?category=survey", token=writer_a))
    read = set(Event.objects.filter(action="read").values_list("object_id", flat=True))
    assert read == picked(observations, "odi", "nrs")


def test_observation_paging_keeps_code_and_date(api, writer_a, patient_a):
    for day in range(5):
        factories.StrengthTestFactory(patient=patient_a, performed_at=TEST_AT + dt.timedelta(days=day))
        factories.QuestionnaireResponseFactory(
            patient=patient_a, completed_at=TEST_AT + dt.timedelta(days=day, hours=1)
        )
    url, seen = f"{BASE}/Observation?code={LUMBAR_TEST}&date=ge2026-03-11&_count=2", []
    while url:
        page = validated(api("GET", url, token=writer_a))
        assert page["total"] == 4
        seen += ids(page)
        links = {link["relation"]: link["url"] for link in page["link"]}
        url = links.get("next")
        assert url is None or ("code=" in url and "date=ge2026-03-11" in url)
    assert len(seen) == len(set(seen)) == 4


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("date=2026-03-32", "date"),
        ("date=sa2026-03-11", "date"),
        ("date=2026-03-11T09:00:00", "date"),  # an instant needs its zone
        ("date=", "date"),
        ("code=", "code"),
        ("code=97909-6,", "code"),
        ("category=%7C", "category"),
        ("code:text=ODI", "code:text"),
        ("patient=x&patient=y", "patient"),
    ],
)
def test_a_bad_observation_search_is_a_400_naming_the_parameter(api, writer_a, query, named):
    body = outcome(api("GET", f"{BASE}/Observation?{query}", token=writer_a), 400, "invalid")
    assert body["issue"][0]["expression"] == [named]


# --- Encounter -----------------------------------------------------------------------------------


@pytest.fixture
def sessions(patient_a, patient_b):
    made = {}
    for patient in (patient_a, patient_b):
        program = factories.ProgramFactory(patient=patient, status=ProgramStatus.ACTIVE, started_at=TEST_AT)
        made[patient.pk] = {
            "first": str(factories.TrainingSessionFactory(program=program, performed_at=TEST_AT).pk),
            "second": str(factories.TrainingSessionFactory(program=program, performed_at=NRS_AT).pk),
        }
    return made[patient_a.pk]


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("date=2026-03-10", {"first"}),
        (f"date=ge{instant(TEST_AT)}", {"first", "second"}),
        (f"date=gt{instant(TEST_AT)}", {"second"}),
        (f"date=le{instant(TEST_AT)}", {"first"}),
        (f"date=lt{instant(TEST_AT)}", set()),
        ("date=ne2026-03-10", {"second"}),
        ("date=ge2026-03-11&date=le2026-03-12", {"second"}),
        ("status=finished", {"first", "second"}),
        ("status=http://hl7.org/fhir/encounter-status%7Cfinished", {"first", "second"}),
        ("status=planned,in-progress", set()),
        ("status=finished&date=2026-03-12", {"second"}),
    ],
)
def test_encounters_by_date_and_status(api, writer_a, sessions, query, wanted):
    assert search(api, writer_a, "Encounter", query) == picked(sessions, *wanted)


def test_encounter_status_is_the_one_each_resource_carries(api, writer_a, sessions):
    for entry in validated(api("GET", f"{BASE}/Encounter", token=writer_a))["entry"]:
        found = search(
            api, writer_a, "Encounter", f"status={entry['resource']['status']}&_id={entry['resource']['id']}"
        )
        assert found == {entry["resource"]["id"]}


# --- CarePlan ------------------------------------------------------------------------------------


@pytest.fixture
def programs(clinic_a, clinic_b):
    """Programs of clinic A's patients (and one of clinic B) with periods and statuses to pick from."""

    def program(clinic, status, started, ended=None):
        patient = factories.PatientFactory(clinic=clinic)
        row = factories.ProgramFactory(patient=patient, status=status, started_at=started, ended_at=ended)
        return str(row.pk)

    day = lambda month, dd: dt.datetime(2026, month, dd, 12, 0, tzinfo=UTC)  # noqa: E731
    program(clinic_b, ProgramStatus.ACTIVE, day(3, 1))
    return {
        "active": program(clinic_a, ProgramStatus.ACTIVE, day(3, 1)),  # still going
        "discharged": program(clinic_a, ProgramStatus.DISCHARGED, day(1, 5), day(2, 15)),
        "lapsed": program(clinic_a, ProgramStatus.LAPSED, day(1, 10), day(1, 31)),
        "draft": program(clinic_a, ProgramStatus.DRAFT, None),
    }


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("status=active", {"active"}),
        ("status=on-hold", {"lapsed"}),
        ("status=completed", {"discharged"}),
        ("status=draft", {"draft"}),
        ("status=http://hl7.org/fhir/request-status%7Ccompleted,active", {"discharged", "active"}),
        ("status=revoked", set()),
        ("status=lapsed", set()),  # our status is not R4's: the extension carries it
        ("date=2026-01", {"lapsed"}),  # eq: the whole period within January
        ("date=2026", {"discharged", "lapsed"}),  # the active one has no end yet
        ("date=ne2026-01", {"active", "discharged"}),
        ("date=ge2026-02-15", {"active", "discharged"}),  # some of it on or after
        ("date=gt2026-02-15", {"active"}),
        ("date=lt2026-01-10", {"discharged"}),  # some of it before
        ("date=le2026-01-10", {"discharged", "lapsed"}),
        ("date=ge2030-01-01", {"active"}),  # still going
        ("date=ge2026-01-20&date=le2026-02-01", {"discharged", "lapsed"}),  # overlapping the range
        ("date=2026-01-01&status=draft", set()),  # a draft has no period
    ],
)
def test_care_plans_by_period_and_status(api, writer_a, programs, query, wanted):
    assert search(api, writer_a, "CarePlan", query) == picked(programs, *wanted)


def test_care_plan_status_is_the_one_each_resource_carries(api, writer_a, programs):
    for entry in validated(api("GET", f"{BASE}/CarePlan", token=writer_a))["entry"]:
        found = search(api, writer_a, "CarePlan", f"status={entry['resource']['status']}")
        assert entry["resource"]["id"] in found


@pytest.mark.parametrize("query", ["date=2026-02-30", "date=xx2026", "status=", "status=active&status="])
def test_a_bad_care_plan_or_encounter_search_is_400(api, writer_a, query):
    for kind in ("CarePlan", "Encounter"):
        outcome(api("GET", f"{BASE}/{kind}?{query}", token=writer_a), 400, "invalid")


# --- query counts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("Observation", f"code={codes.PAIN_NRS},{LUMBAR_TEST}&date=ge2026-01-01"),
        ("Observation", "category=exam,survey&date=2026"),
        ("Encounter", "status=finished&date=ge2026-01-01"),
        ("CarePlan", "status=active&date=ge2026-01-01"),
    ],
)
def test_a_filtered_clinical_page_reads_as_many_queries_for_a_few_rows_as_for_more(
    api, writer_a, clinic_a, kind, query
):
    for day in range(4):
        patient = factories.PatientFactory(clinic=clinic_a)
        moment = TEST_AT + dt.timedelta(days=2 * day)
        program = factories.ProgramFactory(patient=patient, status=ProgramStatus.ACTIVE, started_at=moment)
        factories.TrainingSessionFactory(program=program, performed_at=moment)
        factories.StrengthTestFactory(patient=patient, performed_at=moment)
        factories.QuestionnaireResponseFactory(
            patient=patient, instrument=scoring.PAIN_NRS, answers=[3], completed_at=moment + dt.timedelta(days=1)
        )
    api("GET", f"{BASE}/{kind}?_count=1", token=writer_a)  # the token's last use written

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            body = validated(api("GET", f"{BASE}/{kind}?{query}&_count={count}", token=writer_a))
        assert len(body["entry"]) == count
        return len(captured.captured_queries)

    assert queries(2) == queries(4)

    def summary():
        with CaptureQueriesContext(connection) as captured:
            validated(api("GET", f"{BASE}/{kind}?{query}&_summary=count", token=writer_a))
        return len(captured.captured_queries)

    assert summary() < queries(4)


def test_the_sources_of_a_type_read_the_same_parameters():
    # A parameter one source reads and another ignores would let the other's rows through unfiltered.
    for fhir_type in FHIR_TYPES:
        assert len({frozenset(source.filters) for source in fhir_type.search}) <= 1, fhir_type.name
