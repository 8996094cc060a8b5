"""HTTP hardening (issue 7, item 4): security headers on UI, admin, API and FHIR responses,
Cache-Control on patient data, `check --deploy` without a warning, and error bodies without a
trace or SQL when DEBUG is off (tests/settings.py runs with DEBUG off, as production does)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import DatabaseError
from django.test import Client
from django.urls import include, path

from spinezone import urls as site_urls
from tests.partners.fixtures import issue_token, partner_a, reader_a  # noqa: F401
from tests.test_deployment import ROOT, clean_environment

pytestmark = pytest.mark.django_db
SECRET_SQL = "SELECT password FROM auth_user WHERE username = 'secret-marker'"


@pytest.fixture
def admin_client(signed_in, superuser):
    superuser.is_staff = True
    superuser.save()
    return signed_in(superuser)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def policy_of(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {name: values for name, *values in directives}


STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


# --- Headers -------------------------------------------------------------------------------------


def assert_hardened(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert policy_of(response) == STRICT


def assert_not_stored(response) -> None:
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_a_ui_page_with_patient_data(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).get(f"/patients/{patient_a.pk}/")
    assert response.status_code == 200
    assert patient_a.mrn.encode() in response.content
    assert_hardened(response)
    assert_not_stored(response)


def test_an_admin_page_with_patient_data(admin_client, patient_a):
    response = admin_client.get(f"/admin/patients/patient/{patient_a.pk}/change/")
    assert response.status_code == 200
    assert_hardened(response)  # the admin runs under the same strict policy
    assert_not_stored(response)


def test_the_admin_change_lists_render_no_inline_style(admin_client, patient_a):
    # Django's change list inlines a <style> only for admins without actions, which the CSP would block.
    for url in ("/admin/patients/patient/", "/admin/programs/program/", "/admin/clinics/clinic/"):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert b"<style" not in page.content, url
        assert b"<script>" not in page.content, url


def test_an_api_answer_with_patient_data(client, reader_a, patient_a):  # noqa: F811
    response = client.get(f"/api/v1/patients/{patient_a.pk}/", headers=bearer(reader_a))
    assert response.status_code == 200
    assert_hardened(response)
    assert_not_stored(response)


def test_a_fhir_answer_with_patient_data(client, reader_a, patient_a):  # noqa: F811
    response = client.get(f"/fhir/R4/Patient/{patient_a.pk}", headers=bearer(reader_a))
    assert response.status_code == 200
    assert_hardened(response)
    assert_not_stored(response)


def test_the_sign_in_page_is_not_stored_either(client):
    response = client.get("/accounts/login/")
    assert_hardened(response)
    assert_not_stored(response)


def test_hsts_on_https_responses(client, clinician_a):
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_api_docs_page_allows_its_one_inline_style_by_hash_and_nothing_else(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = policy_of(response)
    style = re.search(rb"<style>(.*?)</style>", response.content, flags=re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style).digest()).decode()
    assert policy["style-src"] == ["'self'", f"'sha256-{digest}'"]
    assert {k: v for k, v in policy.items() if k != "style-src"} == {
        k: v for k, v in STRICT.items() if k != "style-src"
    }
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert b"<script>" not in response.content  # the split view: its script is a file too


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_pages_about_no_one_may_be_cached(client, url):
    assert "no-store" not in client.get(url).get("Cache-Control", "")


@pytest.mark.slow
def test_check_deploy_has_no_warning_at_all():
    environment = clean_environment(
        DEBUG="false",
        SECRET_KEY="pr0duct10n-L1ke_s3cret-Key-" + "x7Q9" * 8 + "z",
        ALLOWED_HOSTS="example.org",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/spinezone",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout  # security.W021: HSTS preload


# --- Error bodies --------------------------------------------------------------------------------


def fails_with_sql(request, **kwargs):
    raise DatabaseError(f'syntax error at or near "FROM"\nLINE 1: {SECRET_SQL}')


def forbids(request, **kwargs):
    raise PermissionDenied("secret-marker reason")


def suspicious(request, **kwargs):
    raise SuspiciousOperation("secret-marker suspicion")


# This module is also the URLconf of the tests below: the site's patterns, plus views that fail.
urlpatterns = [
    path("api/v1/fails/", fails_with_sql),
    path("api/v1/forbids/", forbids),
    path("api/v1/suspicious/", suspicious),
    path("fhir/R4/fails", fails_with_sql),
    path("fhir/R4/forbids", forbids),
    path("fhir/R4/suspicious", suspicious),
    path("fails/", fails_with_sql),
    path("forbids/", forbids),
    path("suspicious/", suspicious),
    path("", include(site_urls.urlpatterns)),
]
handler400, handler403 = site_urls.handler400, site_urls.handler403
handler404, handler500 = site_urls.handler404, site_urls.handler500


@pytest.fixture
def failing_site(settings):
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def assert_reveals_nothing(response) -> None:
    body = response.content.decode()
    for leak in ("Traceback", "secret-marker", "SELECT", "auth_user", "DatabaseError", 'File "', ".py"):
        assert leak not in body, leak
    assert "Content-Security-Policy" in response


@pytest.mark.parametrize(
    ("path", "status"),
    [("fails/", 500), ("forbids/", 403), ("suspicious/", 400), ("no-such-page/", 404)],
)
def test_ui_errors_are_our_pages(failing_site, path, status):
    response = failing_site.get(f"/{path}")
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"SpineZone" in response.content
    assert_reveals_nothing(response)


@pytest.mark.parametrize(
    ("path", "status", "kind"),
    [
        ("fails/", 500, "server_error"),
        ("forbids/", 403, "client_error"),
        ("suspicious/", 400, "client_error"),
        ("no-such-endpoint/", 404, "client_error"),
    ],
)
def test_api_errors_are_json_in_the_api_shape(failing_site, path, status, kind):
    response = failing_site.get(f"/api/v1/{path}")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["type"] == kind
    assert_reveals_nothing(response)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("fails", 500, "exception"), ("forbids", 403, "forbidden"), ("suspicious", 400, "invalid")],
)
def test_fhir_errors_are_operation_outcomes(failing_site, path, status, code):
    response = failing_site.get(f"/fhir/R4/{path}")
    assert response.status_code == status
    assert response["Content-Type"] == "application/fhir+json"
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == code
    assert_reveals_nothing(response)


def test_an_unknown_host_gets_a_plain_400(client):
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert_reveals_nothing(response)


def test_a_failed_csrf_check_is_our_page(signed_in, clinician_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician_a)
    response = client.post("/clinics/", {"clinic": "1"})
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert_reveals_nothing(response)
