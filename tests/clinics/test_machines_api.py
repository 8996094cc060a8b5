"""Machines on the partner API: the ids, limits and test angles of the token's clinics' machines only."""

from __future__ import annotations

import pytest

from apps.clinics.models import MachineKind
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db
MACHINES = "/api/v1/machines/"


@pytest.fixture
def machines(clinic_a, clinic_b, clinic_c):
    """Two machines of clinic A (one cervical, retired), one of B and one of C."""
    return {
        "lumbar_a": factories.MachineFactory(clinic=clinic_a),
        "cervical_a": factories.MachineFactory(clinic=clinic_a, kind=MachineKind.CERVICAL_EXTENSION, is_active=False),
        "b": factories.MachineFactory(clinic=clinic_b),
        "c": factories.MachineFactory(clinic=clinic_c),
    }


def ids(call, token, query=""):
    response = call("GET", f"{MACHINES}{query}", token=token)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_the_list_shows_only_the_tokens_clinics_machines_with_their_limits(api, reader_a, machines):  # noqa: F811
    response = api("GET", MACHINES, token=reader_a)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [machines["lumbar_a"].pk, machines["cervical_a"].pk]
    cervical = machines["cervical_a"]
    assert rows[1] == {
        "id": cervical.pk,
        "clinic": cervical.clinic_id,
        "kind": "cervical_extension",
        "name": cervical.name,
        "serial_number": cervical.serial_number,
        "load_unit": "in_lbf",
        "load_increment": "3.00",
        "min_load": "0.00",
        "max_load": "900.00",
        "rom_min_deg": 0,
        "rom_max_deg": 126,
        "test_angles": [126, 108, 90, 72, 54, 36, 18, 0],
        "is_active": False,
    }


def test_the_list_filters_by_clinic_kind_and_is_active(api, reader_a, machines, clinic_a, clinic_b):  # noqa: F811
    lumbar, cervical = machines["lumbar_a"].pk, machines["cervical_a"].pk
    assert ids(api, reader_a, f"?clinic={clinic_a.pk}") == [lumbar, cervical]
    assert ids(api, reader_a, f"?clinic={clinic_b.pk}") == []  # not the token's: lists nothing
    assert ids(api, reader_a, "?kind=cervical_extension") == [cervical]
    assert ids(api, reader_a, "?is_active=true") == [lumbar]
    assert api("GET", f"{MACHINES}?kind=rowing", token=reader_a).status_code == 400


def test_the_list_pages_with_a_cursor_in_id_order(api, reader_a, clinic_a):  # noqa: F811
    made = [factories.MachineFactory(clinic=clinic_a) for _ in range(3)]
    first = api("GET", f"{MACHINES}?page_size=2", token=reader_a).json()
    second = api("GET", first["next"], token=reader_a).json()
    assert [row["id"] for row in first["results"] + second["results"]] == [m.pk for m in made]
    assert second["next"] is None


def test_a_machine_of_the_tokens_clinics_is_read(api, reader_a, machines):  # noqa: F811
    machine = machines["lumbar_a"]
    response = api("GET", f"{MACHINES}{machine.pk}/", token=reader_a)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["kind"], response.json()["max_load"]) == (
        machine.pk,
        "lumbar_extension",
        "600.00",
    )


@pytest.mark.parametrize("which", ["b", "c", "unknown"])
def test_a_machine_of_another_clinic_is_404(api, reader_a, writer_c, machines, which):  # noqa: F811
    pk = machines[which].pk if which in machines else 987654321
    response = api("GET", f"{MACHINES}{pk}/", token=reader_a)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert api("GET", f"{MACHINES}{machines['lumbar_a'].pk}/", token=writer_c).status_code == 404


def test_staff_see_their_clinics_machines(client, clinician_b, machines):
    client.force_login(clinician_b)
    response = client.get(MACHINES)
    assert [row["id"] for row in response.json()["results"]] == [machines["b"].pk]
    assert client.get(f"{MACHINES}{machines['lumbar_a'].pk}/").status_code == 404


@pytest.mark.parametrize("url", [MACHINES, "{MACHINES}{pk}/"])
def test_machines_need_authentication_and_are_read_only(api, writer_a, machines, url):  # noqa: F811
    url = url.format(MACHINES=MACHINES, pk=machines["lumbar_a"].pk)
    assert api("GET", url).status_code == 401
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert api(method, url, token=writer_a, body={"name": "x"}).status_code == 405


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_query_count_does_not_grow_with_the_page(api, reader_a, clinic_a, rows, django_assert_num_queries):  # noqa: F811
    for _ in range(rows):
        factories.MachineFactory(clinic=clinic_a)
    api("GET", MACHINES, token=reader_a)  # first use stamps last_used_at
    with django_assert_num_queries(2):  # token + partner + granted clinics (one query), the page
        response = api("GET", MACHINES, token=reader_a)
    assert len(response.json()["results"]) == rows
