"""Sign-in, sign-out and the root URL as the staff UI sees them (the sign-in is django-allauth's,
in our templates; lockout, timeouts and the second factor are in tests/security/test_auth.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def test_the_login_page_renders_our_template_with_the_idle_timeout(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert b"Sign in" in response.content
    assert b'href="/static/web/app.css"' in response.content  # the staff UI's frame, not allauth's bare page
    assert f"after {settings.SESSION_COOKIE_AGE // 60} minutes".encode() in response.content
    assert b"sign up" not in response.content.lower()


def test_login_url_is_the_staff_sign_in_page_and_login_is_a_short_address_to_it(client):
    assert reverse(settings.LOGIN_URL) == LOGIN
    response = client.get("/login/?next=/patients/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/patients/"


def test_staff_sign_in_lands_on_the_board(client, clinician_a):
    response = client.post(LOGIN, {"login": "clinician_a", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1] == ("/board/", 302)
    assert b"Today at Clinic A" in response.content


def test_sign_in_goes_back_to_the_page_asked_for(client, clinician_a):
    response = client.post(f"{LOGIN}?next=/patients/", {"login": "clinician_a", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/patients/"


def test_a_wrong_password_is_refused_with_a_message(client, clinician_a):
    response = client.post(LOGIN, {"login": "clinician_a", "password": "wrong-password-123"})
    assert response.status_code == 200
    assert b"username and/or password you specified are not correct" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/", "/board/", "/patients/", "/clinics/"])
def test_pages_need_a_signed_in_user(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


def test_a_patient_chart_needs_a_signed_in_user(client, patient_a):
    response = client.get(f"/patients/{patient_a.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_root_sends_signed_in_staff_to_the_board(signed_in, clinician_a):
    response = signed_in(clinician_a).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/board/"


def test_sign_out_is_a_post_and_ends_the_session(signed_in, clinician_a):
    client = signed_in(clinician_a)
    asked = client.get("/accounts/logout/")
    assert asked.status_code == 200  # a page asking to confirm: a GET (a link, a prefetch) signs nobody out
    assert client.get("/board/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.get("/board/").status_code == 302


def test_every_staff_page_offers_sign_out_by_post(signed_in, clinician_a):
    page = signed_in(clinician_a).get("/board/").content.decode()
    assert '<form method="post" action="/accounts/logout/">' in page


def test_staff_pages_carry_a_policy_without_inline_script(signed_in, clinician_a):
    policy = signed_in(clinician_a).get("/board/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_admin_sign_in_goes_through_the_staff_sign_in(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
