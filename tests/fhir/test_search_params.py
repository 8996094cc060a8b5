# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""Patient search by identifier, names, birth date, gender and id; `_summary=count`, `_count`, paging with the
parameters kept; malformed values a 400 naming the parameter; another clinic's patients never found."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import Event
from apps.fhir import codes
from apps.patients.models import Patient
from tests import factories
from tests.fhir.test_views import BASE, ids, outcome, relative, validated
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db
ACME_MRN = codes.mrn_system("acme")


@pytest.fixture
def patients(clinic_a, patient_a, patient_b, patient_c):
    """Ana Alvarez (patient_a, 1980-02-29, female) and Marta Anand (1975-12-31, male) at clinic A; Bo Brennan
    at clinic B of the same organization and Cy Castillo of another, whom the token must never find."""
    Patient.objects.filter(pk=patient_a.pk).update(birth_date=dt.date(1980, 2, 29), sex="female")
    marta = factories.PatientFactory(
        clinic=clinic_a, given_name="Marta", family_name="Anand", mrn="A-0002", birth_date=dt.date(1975, 12, 31)
    )
    Patient.objects.filter(pk=marta.pk).update(sex="male")
    for other in (patient_b, patient_c):
        Patient.objects.filter(pk=other.pk).update(birth_date=dt.date(1980, 2, 29), sex="female")
    return {"ana": str(patient_a.pk), "marta": str(marta.pk)}


def found(api, token, query):
    body = validated(api("GET", f"{BASE}/Patient?{query}", token=token))
    return set(ids(body))


def names(patients, *wanted):
    return {patients[name] for name in wanted}


# --- identifier ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        (f"identifier={ACME_MRN}|A-0001", {"ana"}),
        ("identifier=A-0001", {"ana"}),
        (f"identifier={ACME_MRN}|A-0001,{ACME_MRN}|A-0002", {"ana", "marta"}),
        (f"identifier={ACME_MRN}|", {"ana", "marta"}),  # every MRN of the organization the token sees
        ("identifier=a-0001", set()),  # identifiers are exact
        ("identifier=A-000", set()),
        (f"identifier={codes.mrn_system('other')}|A-0001", set()),
        ("identifier=http://example.org/mrn|A-0001", set()),
        ("identifier=|A-0001", set()),  # an MRN always has its system
        ("identifier=B-0001", set()),  # Bo Brennan: clinic B
        (f"identifier={codes.mrn_system('other')}|C-0001", set()),  # Cy Castillo: another organization
        (f"identifier={ACME_MRN}|A-0001&identifier=A-0002", set()),  # repeated: both at once
    ],
)
def test_identifier_finds_the_mrn_with_or_without_its_system(api, writer_a, patients, query, wanted):
    assert found(api, writer_a, query.replace("|", "%7C")) == names(patients, *wanted)


def test_an_mrn_of_another_organization_is_not_found_even_where_it_is_the_same(api, writer_a, clinic_c, patients):
    factories.PatientFactory(clinic=clinic_c, mrn="A-0001")
    assert found(api, writer_a, "identifier=A-0001") == names(patients, "ana")


def test_the_identifier_searched_is_the_one_the_resource_carries(api, writer_a, patients):
    resource = validated(api("GET", f"{BASE}/Patient/{patients['ana']}", token=writer_a))
    (identifier,) = resource["identifier"]
    query = f"identifier={quote(identifier['system'] + '|' + identifier['value'], safe='')}"
    assert found(api, writer_a, query) == {patients["ana"]}


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("family=Alvarez", {"ana"}),
        ("family=alv", {"ana"}),  # case-insensitive starts-with
        ("family=ALVAREZ", {"ana"}),
        ("family=a", {"ana", "marta"}),
        ("family=lvarez", set()),  # starts-with, not contains
        ("family=Alvareze", set()),
        ("family:exact=Alvarez", {"ana"}),
        ("family:exact=alvarez", set()),
        ("family:exact=Alv", set()),
        ("family:contains=VAR", {"ana"}),
        ("family=Alv,Ana", {"ana", "marta"}),  # a comma: any of them
        ("family=a&family=an", {"marta"}),  # repeated: all of them
        ("given=an", {"ana"}),
        ("given=Marta", {"marta"}),
        ("given:exact=Ana", {"ana"}),
        ("given:contains=art", {"marta"}),
        ("given=Alvarez", set()),
        ("name=an", {"ana", "marta"}),  # Ana by her given name, Marta by her family name
        ("name=alv", {"ana"}),
        ("name=mar", {"marta"}),
        ("name:exact=Anand", {"marta"}),
        ("name:contains=and", {"marta"}),
        ("family=Brennan", set()),  # clinic B
        ("name=cy", set()),  # another organization
        ("family=%25", set()),  # LIKE's wildcards are plain characters
        ("family=_lvarez", set()),
    ],
)
def test_names_match_as_fhir_strings(api, writer_a, patients, query, wanted):
    assert found(api, writer_a, query) == names(patients, *wanted)


# --- birthdate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        ("1980-02-29", {"ana"}),
        ("eq1980-02-29", {"ana"}),
        ("1980-02", {"ana"}),
        ("1980", {"ana"}),
        ("1975-12", {"marta"}),
        ("1980-03-01", set()),
        ("ne1980-02-29", {"marta"}),
        ("ge1980-02-29", {"ana"}),  # the edges: the day itself is in ge and le, not in gt and lt
        ("gt1980-02-29", set()),
        ("gt1980-02-28", {"ana"}),
        ("le1980-02-29", {"ana", "marta"}),
        ("lt1980-02-29", {"marta"}),
        ("lt1975-12-31", set()),
        ("le1975-12-31", {"marta"}),
        ("gt1975", {"ana"}),  # after the whole of 1975
        ("lt1976", {"marta"}),
        ("ge1975-12-31&le1980-02-28", {"marta"}),  # a range: both
    ],
)
def test_birthdate_takes_a_year_month_or_day_with_a_prefix(api, writer_a, patients, value, wanted):
    query = "&".join(f"birthdate={part.removeprefix('birthdate=')}" for part in value.split("&"))
    assert found(api, writer_a, query) == names(patients, *wanted)


# --- gender and _id ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        ("female", {"ana"}),
        ("male", {"marta"}),
        ("http://hl7.org/fhir/administrative-gender|male", {"marta"}),
        ("female,male", {"ana", "marta"}),
        ("other", set()),
        ("http://example.org/sex|male", set()),
        ("FEMALE", set()),  # codes are exact
    ],
)
def test_gender_is_the_administrative_gender_code(api, writer_a, patients, value, wanted):
    assert found(api, writer_a, f"gender={quote(value, safe=',')}") == names(patients, *wanted)


def test_id_finds_the_patients_named_and_only_the_principals(api, writer_a, patients, patient_b, patient_c):
    assert found(api, writer_a, f"_id={patients['ana']}") == {patients["ana"]}
    assert found(api, writer_a, f"_id={patients['ana']},{patients['marta']}") == set(patients.values())
    assert found(api, writer_a, f"_id={patient_b.pk},{patient_c.pk}") == set()
    assert found(api, writer_a, "_id=not-a-uuid") == set()


# --- _summary, _count and paging -----------------------------------------------------------------


def test_summary_count_is_the_total_alone_and_reads_nothing(api, writer_a, patients):
    before = Event.objects.count()
    body = validated(api("GET", f"{BASE}/Patient?family=a&_summary=count", token=writer_a))
    assert body["total"] == 2
    assert "entry" not in body
    assert [link["relation"] for link in body["link"]] == ["self"]
    assert Event.objects.count() == before
    assert validated(api("GET", f"{BASE}/Patient?family=zz&_summary=count", token=writer_a))["total"] == 0


def test_paging_keeps_the_search_parameters(api, writer_a, partner_a, clinic_a):
    made = {str(factories.PatientFactory(clinic=clinic_a, family_name=f"Quinn{n}").pk) for n in range(5)}
    factories.PatientFactory(clinic=clinic_a, family_name="Other")
    url, seen = f"{BASE}/Patient?family=quinn&gender=female,male&_count=2", []
    while url:
        response = api("GET", url, token=writer_a)
        page = validated(response)
        assert page["total"] == 5
        links = {link["relation"]: link["url"] for link in page["link"]}
        assert relative(links["self"]) == url
        seen += ids(page)
        url = relative(links["next"]) if "next" in links else None
        if url:
            kept = parse_qs(urlsplit(url).query)
            assert (kept["family"], kept["gender"], kept["_count"]) == (["quinn"], ["female,male"], ["2"])
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == made
    assert Event.objects.filter(action="read", object_type="patients.patient").count() == 5


@pytest.mark.parametrize(("count", "shown"), [("1", 1), ("100", 100), ("101", 100), ("+3", 3)])
def test_count_is_at_least_one_and_at_most_a_hundred(api, writer_a, clinic_a, count, shown):
    Patient.objects.bulk_create(factories.PatientFactory.build_batch(101, clinic=clinic_a))
    body = validated(api("GET", f"{BASE}/Patient?_count={quote(count)}", token=writer_a))
    assert (len(body["entry"]), body["total"]) == (shown, 101)


@pytest.mark.parametrize("count", ["0", "-1", "1.5", "1_0", " 5", "٣", ""])
def test_a_count_that_is_not_a_whole_number_from_one_is_400(api, writer_a, count):
    body = outcome(api("GET", f"{BASE}/Patient?_count={quote(count)}", token=writer_a), 400, "invalid")
    assert body["issue"][0]["expression"] == ["_count"]


# --- malformed values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("birthdate=1980-02-30", "birthdate"),
        ("birthdate=1980-13", "birthdate"),
        ("birthdate=80", "birthdate"),
        ("birthdate=sa1980", "birthdate"),
        ("birthdate=ge1980-02-29T00:00:00Z", "birthdate"),  # a date of birth is a date
        ("birthdate=", "birthdate"),
        ("identifier=", "identifier"),
        ("identifier=%7C", "identifier"),
        ("gender=", "gender"),
        ("gender=male,", "gender"),
        ("family=", "family"),
        ("name=an,", "name"),
        ("given:exact=", "given:exact"),
        ("_id=", "_id"),
        ("family:fuzzy=ana", "family:fuzzy"),
        ("family:missing=true", "family:missing"),
        ("_summary=true", "_summary"),
        ("_summary=data", "_summary"),
        ("_page=xyz", "_page"),
    ],
)
def test_a_malformed_value_or_unknown_modifier_is_a_400_naming_it(api, writer_a, query, named):
    body = outcome(api("GET", f"{BASE}/Patient?{query}", token=writer_a), 400, "invalid")
    assert body["issue"][0]["expression"] == [named]


# --- query counts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [f"identifier={quote(ACME_MRN, safe='')}%7C", "family=pat&gender=female,male", "birthdate=ge1950&name:contains=a"],
)
def test_a_filtered_page_reads_as_many_queries_for_a_few_rows_as_for_more(api, writer_a, clinic_a, query):
    for n in range(6):
        born = dt.date(1970, 1, 1 + n)
        factories.PatientFactory(clinic=clinic_a, family_name=f"Pata{n}", given_name="Ann", birth_date=born)
    api("GET", f"{BASE}/Patient?_count=1", token=writer_a)  # the token's last use written

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            body = validated(api("GET", f"{BASE}/Patient?{query}&_count={count}", token=writer_a))
        assert len(body["entry"]) == count
        return len(captured.captured_queries)

    assert queries(2) == queries(5)
