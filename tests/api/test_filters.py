"""Time filters of the list endpoints: any ISO 8601 offset a person could send is an instant or a 400."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.partners.fixtures import api, issue_token, partner_a, reader_a  # noqa: F401

LISTS = ["/api/v1/sessions/", "/api/v1/programs/", "/api/v1/patients/", "/api/v1/flags/"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-06-10T03:46:49.06-17:27", "Give a UTC offset between -14:00 and +14:00."),  # PostgreSQL: out of range
        ("2026-12-07T10:00:00+15:00", "Give a UTC offset between -14:00 and +14:00."),
        ("0001-01-01T00:00:00+05:00", "Give a time between the years 1 and 9999."),  # before year 1 in UTC
    ],
)
def test_an_offset_or_year_no_database_can_hold_is_a_400_naming_the_field(api, reader_a, url, value, message):  # noqa: F811
    response = api("GET", f"{url}?{urlencode({'updated_since': value})}", token=reader_a)

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [{"code": "invalid", "detail": message, "attr": "updated_since"}]


@pytest.mark.parametrize("value", ["2026-12-07T10:00:00+14:00", "2026-12-07T10:00:00-12:00", "2026-12-07T10:00:00Z"])
def test_every_offset_a_zone_uses_is_accepted(api, reader_a, value):  # noqa: F811
    assert api("GET", f"/api/v1/sessions/?{urlencode({'updated_since': value})}", token=reader_a).status_code == 200
