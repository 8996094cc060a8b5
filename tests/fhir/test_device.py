# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""FHIR Device: the machines of the principal's clinics, read and searched, valid R4, not audited (no patient)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import Event
from apps.clinics.models import Machine, MachineKind
from apps.fhir import codes
from tests import factories
from tests.fhir.test_views import BASE, ids, outcome, relative, validated
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def machines(clinic_a, clinic_b, clinic_c):
    """Clinic A's two machines (one retired); clinic B's and another organization's, never shown."""
    lumbar = factories.MachineFactory(clinic=clinic_a, name="Lumbar 1", serial_number="MX-100")
    cervical = factories.MachineFactory(
        clinic=clinic_a, kind=MachineKind.CERVICAL_EXTENSION, name="Cervical old", serial_number="MX-200"
    )
    Machine.objects.filter(pk=cervical.pk).update(is_active=False)
    factories.MachineFactory(clinic=clinic_b, name="Lumbar B", serial_number="MX-100")
    factories.MachineFactory(clinic=clinic_c, name="Lumbar C", serial_number="MX-300")
    return {"lumbar": str(lumbar.pk), "cervical": str(cervical.pk)}


def found(api, token, query):
    return set(ids(validated(api("GET", f"{BASE}/Device?{query}", token=token))))


def test_a_device_reads_as_valid_r4_and_is_not_audited(api, writer_a, machines, clinic_a, organization):
    body = validated(api("GET", f"{BASE}/Device/{machines['lumbar']}", token=writer_a))
    assert body["resourceType"] == "Device"
    assert body["identifier"][0] | {"type": None} == {
        "type": None,
        "system": codes.MACHINE_SERIAL_SYSTEM,
        "value": "MX-100",
    }
    assert (body["serialNumber"], body["status"]) == ("MX-100", "active")
    assert body["deviceName"] == [{"name": "Lumbar 1", "type": "user-friendly-name"}]
    assert body["type"]["coding"][0] | {"display": None} == {
        "system": codes.MACHINE_KIND_SYSTEM,
        "code": "lumbar-extension",
        "display": None,
    }
    assert body["owner"] == {"reference": f"Organization/{organization.pk}"}
    assert body["location"] == {"reference": f"Location/{clinic_a.pk}"}
    retired = validated(api("GET", f"{BASE}/Device/{machines['cervical']}", token=writer_a))
    assert (retired["status"], retired["type"]["coding"][0]["code"]) == ("inactive", "cervical-extension")
    assert not Event.objects.filter(action="read").exists()


def test_another_clinics_device_is_404_like_one_that_does_not_exist(api, writer_a, machines, clinic_b, clinic_c):
    for machine in Machine.objects.filter(clinic__in=[clinic_b, clinic_c]):
        outcome(api("GET", f"{BASE}/Device/{machine.pk}", token=writer_a), 404, "not-found")
    outcome(api("GET", f"{BASE}/Device/987654321", token=writer_a), 404, "not-found")
    outcome(api("GET", f"{BASE}/Device/not-a-number", token=writer_a), 404, "not-found")


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("", {"lumbar", "cervical"}),
        (f"identifier={quote(codes.MACHINE_SERIAL_SYSTEM, safe='')}%7CMX-100", {"lumbar"}),
        ("identifier=MX-100", {"lumbar"}),  # clinic B's machine has the same serial: not the principal's
        ("identifier=MX-100,MX-200", {"lumbar", "cervical"}),
        (f"identifier={quote(codes.MACHINE_SERIAL_SYSTEM, safe='')}%7C", {"lumbar", "cervical"}),
        ("identifier=mx-100", set()),
        ("identifier=http://example.org/serial%7CMX-100", set()),
        ("identifier=MX-300", set()),  # another organization's
        ("type=lumbar-extension", {"lumbar"}),
        (f"type={quote(codes.MACHINE_KIND_SYSTEM, safe='')}%7Ccervical-extension", {"cervical"}),
        ("type=lumbar_extension", set()),
        ("status=active", {"lumbar"}),
        ("status=inactive", {"cervical"}),
        ("status=active,inactive", {"lumbar", "cervical"}),
        ("status=http://hl7.org/fhir/device-status%7Cinactive", {"cervical"}),
        ("status=entered-in-error", set()),
        ("device-name=lum", {"lumbar"}),
        ("device-name:exact=Lumbar", set()),
        ("device-name:contains=OLD", {"cervical"}),
        ("device-name=Lumbar B", set()),
        ("type=lumbar-extension&status=inactive", set()),
    ],
)
def test_devices_are_searched_within_the_principals_clinics(api, writer_a, machines, query, wanted):
    assert found(api, writer_a, query) == {machines[name] for name in wanted}


def test_devices_by_location_and_id(api, writer_a, machines, clinic_a, clinic_b, clinic_c):
    both = set(machines.values())
    assert found(api, writer_a, f"location=Location/{clinic_a.pk}") == both
    assert found(api, writer_a, f"location={clinic_a.pk}") == both
    assert found(api, writer_a, f"location=Location/{clinic_b.pk},Location/{clinic_c.pk}") == set()
    assert found(api, writer_a, "location=Location/nope") == set()
    assert found(api, writer_a, f"_id={machines['lumbar']}") == {machines["lumbar"]}
    others = ",".join(str(pk) for pk in Machine.objects.exclude(clinic=clinic_a).values_list("pk", flat=True))
    assert found(api, writer_a, f"_id={others}") == set()


def test_each_device_is_found_by_the_identifier_and_type_it_carries(api, writer_a, machines):
    for entry in validated(api("GET", f"{BASE}/Device", token=writer_a))["entry"]:
        device = entry["resource"]
        identifier, kind = device["identifier"][0], device["type"]["coding"][0]
        query = "identifier={}&type={}".format(
            quote(f"{identifier['system']}|{identifier['value']}", safe=""), quote(f"{kind['system']}|{kind['code']}")
        )
        assert found(api, writer_a, query) == {device["id"]}


def test_device_search_pages_by_offset_keeping_the_parameters(api, writer_a, clinic_a, machines):
    for n in range(3):
        factories.MachineFactory(clinic=clinic_a, name=f"Lumbar {n + 2}")
    url, seen = f"{BASE}/Device?type=lumbar-extension&_count=2", []
    while url:
        page = validated(api("GET", url, token=writer_a))
        assert page["total"] == 4
        links = {link["relation"]: link["url"] for link in page["link"]}
        assert relative(links["self"]) == url
        seen += ids(page)
        url = relative(links["next"]) if "next" in links else None
        assert url is None or "type=lumbar-extension" in url
    assert len(seen) == len(set(seen)) == 4
    assert machines["cervical"] not in seen


def test_device_summary_count(api, writer_a, machines):
    body = validated(api("GET", f"{BASE}/Device?status=active,inactive&_summary=count", token=writer_a))
    assert (body["total"], "entry" in body) == (2, False)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("identifier=", "identifier"),
        ("type=", "type"),
        ("status=active,", "status"),
        ("location=", "location"),
        ("device-name=", "device-name"),
        ("_id=", "_id"),
        ("_page=nope", "_page"),
        ("_count=0", "_count"),
        ("serial=MX-100", "serial"),
        ("patient=x", "patient"),
        ("_lastUpdated=gt2026-01-01", "_lastUpdated"),  # machines have no update time
    ],
)
def test_a_bad_device_search_is_a_400_naming_the_parameter(api, writer_a, machines, query, named):
    body = outcome(api("GET", f"{BASE}/Device?{query}", token=writer_a), 400, "invalid")
    assert body["issue"][0]["expression"] == [named]


def test_the_device_search_query_count_does_not_grow_with_count(api, writer_a, clinic_a):
    for n in range(5):
        factories.MachineFactory(clinic=clinic_a, name=f"M{n}")
    api("GET", f"{BASE}/Device?_count=1", token=writer_a)  # the token's last use written

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            body = validated(api("GET", f"{BASE}/Device?status=active&_count={count}", token=writer_a))
        assert len(body["entry"]) == count
        return len(captured.captured_queries)

    assert queries(1) == queries(5)


def test_the_capability_statement_declares_device_and_every_new_parameter_with_its_documentation(api):
    body = validated(api("GET", f"{BASE}/metadata"))
    resources = {resource["type"]: resource for resource in body["rest"][0]["resource"]}
    declared = {name: {p["name"]: p for p in resource.get("searchParam", [])} for name, resource in resources.items()}
    assert [i["code"] for i in resources["Device"]["interaction"]] == ["read", "search-type"]
    assert set(declared["Device"]) == {"_id", "identifier", "type", "status", "location", "device-name"}
    assert {"_id", "identifier", "family", "given", "name", "birthdate", "gender"} <= set(declared["Patient"])
    assert {"code", "category", "date", "_id"} <= set(declared["Observation"])
    assert {"date", "status"} <= set(declared["Encounter"]) & set(declared["CarePlan"])
    kinds = {(kind, name): param["type"] for kind, params in declared.items() for name, param in params.items()}
    assert kinds[("Patient", "birthdate")] == kinds[("Observation", "date")] == "date"
    assert kinds[("Patient", "family")] == kinds[("Device", "device-name")] == "string"
    assert kinds[("Observation", "code")] == kinds[("Device", "identifier")] == "token"
    assert all(param["documentation"] for params in declared.values() for param in params.values())
    assert "_summary=count" in body["rest"][0]["documentation"]


def test_schedules_page_by_offset_too(api, writer_a, machines, clinic_a):
    first = validated(api("GET", f"{BASE}/Schedule?actor=Location/{clinic_a.pk}&_count=1", token=writer_a))
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert (first["total"], len(first["entry"]), "actor=Location" in links["next"]) == (2, 1, True)
    second = validated(api("GET", relative(links["next"]), token=writer_a))
    assert [link["relation"] for link in second["link"]] == ["self"]
    assert set(ids(first) + ids(second)) == set(machines.values())
    assert validated(api("GET", f"{BASE}/Schedule?_summary=count", token=writer_a))["total"] == 2
