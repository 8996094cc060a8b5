"""`/api/v1/outcomes/`: the token's clinics only, the filters, the small-group rule, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.audit.models import Action, Event
from apps.outcomes import rules
from tests.outcomes.fixtures import fact
from tests.partners.fixtures import issue_token, partner_a  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/outcomes/"


@pytest.fixture
def api(partner_a, issue_token):  # noqa: F811
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(partner_a, 'read')}")
    return client


@pytest.fixture
def programs(clinic_a, clinic_b, clinic_c):
    for index in range(12):
        fact(clinic_a, strength_change_pct=Decimal(index), prom_change=Decimal(index), prom_important=index >= 6)
    for _ in range(3):
        fact(clinic_b, prom_change=Decimal(30), prom_important=True)
    for _ in range(20):
        fact(clinic_c, prom_change=Decimal(-5), prom_important=False)


def test_the_token_reads_the_aggregates_of_its_clinics_only(api, partner_a, clinic_a, clinic_c, programs):  # noqa: F811
    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [clinic["id"] for clinic in body["clinics"]] == [clinic_a.pk]  # partner_a: clinic A only
    assert body["programs"] == 12
    assert body["headline"]["responders"] == {
        "too_few": False, "n": 12, "successes": 6, "rate": 0.5, "ci_low": 0.2538, "ci_high": 0.7462,
    }  # fmt: skip
    assert body["headline"]["strength_change_pct"] == {"too_few": False, "n": 12, "median": 5.5, "q1": 2.8, "q3": 8.3}
    assert body["headline"]["ndi_change"] == {"too_few": True}
    event = Event.objects.get(object_type="outcomes.report")
    assert (event.action, event.clinic_id, event.channel) == (Action.READ, clinic_a.pk, "api")
    assert api.get(URL, {"clinic": clinic_c.pk}).status_code == 404


def test_no_group_under_ten_carries_a_number(api, partner_a, clinic_a, clinic_b, programs):  # noqa: F811
    partner_a.clinics.add(clinic_b)

    body = api.get(URL).json()

    assert body["programs"] == 15
    # Clinic B's 3 would be the total minus A: both clinics show too few, with no n, no rate.
    assert body["by_clinic"] == [
        {"key": str(clinic.pk), "label": clinic.name, "too_few": True}
        | {"strength_change_pct": {"too_few": True}, "responders": {"too_few": True}}
        for clinic in (clinic_a, clinic_b)
    ]
    small = api.get(URL, {"clinic": clinic_b.pk}).json()
    assert small["too_few"] is True
    assert "programs" not in small
    assert all(value == {"too_few": True} for value in small["headline"].values())


def test_filters_and_their_errors(api, clinic_a, programs):
    fact(clinic_a, outcome_status=rules.DROPPED_OUT)

    assert api.get(URL, {"status": rules.DROPPED_OUT}).json()["too_few"] is True
    assert api.get(URL, {"region": "lumbar"}).json()["programs"] == 13
    response = api.get(URL, {"since": "2026-05-01", "until": "2026-04-01", "sex": "x"})
    assert response.status_code == 400
    errors = {error["attr"]: error["code"] for error in response.json()["errors"]}
    assert errors == {"sex": "invalid_choice"}  # field errors first; the period is checked once they pass
    response = api.get(URL, {"since": "2026-05-01", "until": "2026-04-01"})
    assert {error["attr"] for error in response.json()["errors"]} == {"until"}
