"""`_lastUpdated` instants the database cannot hold are a 400 OperationOutcome, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401


@pytest.mark.parametrize(
    "value", ["ge0001-06-10T03:46:49.06-17:27", "gt2026-12-07T10:00:00+15:00", "ge0001-01-01T00:00:00+05:00"]
)
def test_an_offset_or_year_no_database_can_hold_is_a_400(api, writer_a, value):  # noqa: F811
    response = api("GET", f"/fhir/R4/Patient?{urlencode({'_lastUpdated': value})}", token=writer_a)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == ["_lastUpdated"]


def test_the_widest_offset_a_zone_uses_is_accepted(api, writer_a):  # noqa: F811
    query = urlencode({"_lastUpdated": "ge2026-12-07T10:00:00+14:00"})
    assert api("GET", f"/fhir/R4/Patient?{query}", token=writer_a).status_code == 200
