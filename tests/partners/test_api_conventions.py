from __future__ import annotations

import re

import pytest
import yaml

from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, reader_a  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_with_the_bearer_scheme_and_the_patient_operations(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["partnerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sz_<prefix>_<secret>",
        "description": schema["components"]["securitySchemes"]["partnerToken"]["description"],
    }
    assert set(schema["paths"]["/api/v1/patients/"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/patients/{patient_id}/"]) == {"get", "patch"}
    create = schema["paths"]["/api/v1/patients/"]["post"]
    assert {"201", "400", "401", "403"} <= set(create["responses"])
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert create["security"] == [{"partnerToken": []}]


def test_the_schema_validates_as_openapi(client):
    from drf_spectacular.validation import validate_schema

    validate_schema(yaml.safe_load(client.get("/api/schema/").content))  # raises on an invalid document


def test_the_docs_page_loads_only_local_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "https://" not in script.content.decode().replace("https://swagger.io", "")


def test_an_unknown_api_path_is_a_json_404(client):
    for path in ("/api/v1/nothing/", "/api/v1/patients/not-a-uuid/", "/api/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"


def test_a_404_outside_the_api_is_still_an_html_page(client):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


# --- conditional GET --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["clinic", "patient", "strength_test", "questionnaire", "program"])
def test_every_detail_answers_304_to_its_etag_until_the_row_changes(api, reader_a, clinic_a, patient_a, kind):  # noqa: F811
    rows = {
        "clinic": lambda: (clinic_a, f"/api/v1/clinics/{clinic_a.pk}/"),
        "patient": lambda: (patient_a, f"/api/v1/patients/{patient_a.pk}/"),
        "strength_test": lambda: _at(factories.StrengthTestFactory(patient=patient_a), "strength-tests"),
        "questionnaire": lambda: _at(factories.QuestionnaireResponseFactory(patient=patient_a), "questionnaires"),
        "program": lambda: _at(factories.ProgramFactory(patient=patient_a), "programs"),
    }
    row, url = rows[kind]()
    first = api("GET", url, token=reader_a)
    etag = first["ETag"]
    assert (first.status_code, etag[:3]) == (200, 'W/"')
    unchanged = api("GET", url, token=reader_a, **{"If-None-Match": f'"other", {etag}'})
    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", etag)
    row.save()  # any save moves updated_at
    changed = api("GET", url, token=reader_a, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def _at(row, collection):
    return row, f"/api/v1/{collection}/{row.pk}/"
