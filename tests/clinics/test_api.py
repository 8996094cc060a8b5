from __future__ import annotations

import pytest

from apps.clinics.models import Clinic
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db
CLINICS = "/api/v1/clinics/"


def test_the_list_shows_only_the_tokens_clinics(api, reader_a, clinic_a, clinic_b, clinic_c):  # noqa: F811
    response = api("GET", CLINICS, token=reader_a)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [clinic_a.pk]
    assert set(rows[0]) == {
        "id",
        "organization",
        "name",
        "timezone",
        "address_line",
        "city",
        "postal_code",
        "country",
        "phone",
        "is_active",
        "updated_at",
    }
    assert rows[0]["timezone"] == clinic_a.timezone


def test_the_list_filters_by_is_active_and_updated_since(api, reader_a, partner_a, clinic_a, organization):  # noqa: F811
    closed = factories.ClinicFactory(organization=organization, is_active=False)
    partner_a.clinics.add(closed)

    def ids(query):
        return [row["id"] for row in api("GET", f"{CLINICS}?{query}", token=reader_a).json()["results"]]

    assert ids("is_active=false") == [closed.pk]
    assert ids("is_active=true") == [clinic_a.pk]
    assert ids(f"updated_since={closed.updated_at.isoformat().replace('+00:00', 'Z')}") == [closed.pk]


def test_a_malformed_filter_is_400(api, reader_a):  # noqa: F811
    response = api("GET", f"{CLINICS}?updated_since=soon", token=reader_a)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "updated_since"


def test_the_list_pages_with_a_cursor_in_a_stable_order(api, reader_a, partner_a, organization):  # noqa: F811
    made = [factories.ClinicFactory(organization=organization) for _ in range(4)]
    partner_a.clinics.set(made)
    first = api("GET", f"{CLINICS}?page_size=3", token=reader_a).json()
    second = api("GET", first["next"], token=reader_a).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == [c.pk for c in sorted(made, key=lambda c: (c.updated_at, c.pk))]
    assert second["next"] is None


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_query_count_does_not_grow_with_the_page(
    api,  # noqa: F811
    reader_a,  # noqa: F811
    partner_a,  # noqa: F811
    organization,
    rows,
    django_assert_num_queries,
):
    partner_a.clinics.set(
        Clinic.objects.bulk_create(factories.ClinicFactory.build_batch(rows, organization=organization))
    )
    api("GET", CLINICS, token=reader_a)  # first use stamps last_used_at
    # token + partner + granted clinics (one query), page of clinics.
    with django_assert_num_queries(2):
        response = api("GET", CLINICS, token=reader_a)
    assert len(response.json()["results"]) == rows


def test_the_detail_shows_a_granted_clinic(api, reader_a, clinic_a):  # noqa: F811
    response = api("GET", f"{CLINICS}{clinic_a.pk}/", token=reader_a)
    assert response.status_code == 200
    assert response.json()["name"] == clinic_a.name


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_a_clinic_outside_the_token_is_404(api, writer_a, writer_c, clinic_a, clinic_b, who):  # noqa: F811
    target, token = (clinic_b, writer_a) if who == "other_clinic" else (clinic_a, writer_c)
    response = api("GET", f"{CLINICS}{target.pk}/", token=token)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_clinics_are_read_only(api, writer_a, clinic_a):  # noqa: F811
    assert api("POST", CLINICS, token=writer_a, body={"name": "New"}).status_code == 405
    assert api("PATCH", f"{CLINICS}{clinic_a.pk}/", token=writer_a, body={"name": "New"}).status_code == 405
    assert Clinic.objects.count() == 1


@pytest.mark.parametrize("path", ["", "{pk}/"])
def test_clinics_need_authentication(api, clinic_a, path):  # noqa: F811
    assert api("GET", CLINICS + path.format(pk=clinic_a.pk)).status_code == 401
