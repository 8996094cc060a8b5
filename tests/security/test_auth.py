"""Staff authentication (issue 7, item 3): lockout, one answer for unknown user and wrong password,
password strength, reset links, session timeouts and the TOTP second factor.

Sign-ins go through the real pages (django-allauth at /accounts/, django-axes before the password
check), as a browser posts them.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.sessions import SIGNED_IN_AT
from apps.clinics.access import must_use_second_factor
from tests import factories
from tests.auth import TOTP_SECRET, enrol_totp, sign_in, totp_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
REAL_CLIENT = "198.51.100.7"  # the attacker's (and, later, the clinician's) real address
PROXY = "10.0.0.2"  # our reverse proxy, when TRUSTED_PROXY_COUNT is 1
CSRF_VALUE = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def post_login(client, username, password, *, forwarded_for=None, remote_addr=REAL_CLIENT, **extra):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        LOGIN, {"login": username, "password": password}, headers=headers, REMOTE_ADDR=remote_addr, **extra
    )


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def spoofed(i: int) -> str:
    return f"203.0.{i // 256 % 256}.{i % 256}"


@pytest.fixture
def password_checks():
    """How many login attempts reached a password hash (the check, or its stand-in for an unknown user)."""
    with mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode) as spy:
        yield spy


# --- Lockout -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("proxies", [0, 1], ids=["no-proxy", "behind-one-proxy"])
def test_a_thousand_wrong_passwords_from_rotating_spoofed_addresses_are_cut_off_at_the_limit(
    client, clinician_a, password_checks, settings, proxies
):
    settings.TRUSTED_PROXY_COUNT = proxies
    limit = settings.LOGIN_FAILURE_LIMIT
    statuses, locked_out_pages = [], 0
    for i in range(1000):
        if proxies:  # the client writes any X-Forwarded-For it likes; our proxy appends the real address
            response = post_login(
                client, "clinician_a", f"guess-{i:04d}", forwarded_for=f"{spoofed(i)}, {REAL_CLIENT}", remote_addr=PROXY
            )
        else:
            response = post_login(client, "clinician_a", f"guess-{i:04d}", forwarded_for=spoofed(i))
        statuses.append(response.status_code)
        locked_out_pages += b"Sign-in paused" in response.content
        assert signed_in_as(client) is None

    refusals = {429: statuses.count(429), "locked_out_page": locked_out_pages}
    print(f"1000 wrong passwords: {password_checks.call_count} reached the password check (limit {limit}); {refusals}")
    assert password_checks.call_count == limit
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, "not correct"
    assert set(statuses[limit - 1 :]) == {429}  # the lockout page; past 30 posts a minute, allauth's rate limit
    assert locked_out_pages >= 30 - limit
    assert AccessAttempt.objects.get().failures_since_start >= limit

    # A minute later (allauth's per-minute window has passed), the lockout still holds, and the
    # right password is refused without a password check.
    cache.clear()
    during = post_login(
        client,
        "clinician_a",
        PASSWORD,
        forwarded_for=f"198.18.0.1, {REAL_CLIENT}" if proxies else None,
        remote_addr=PROXY if proxies else REAL_CLIENT,
    )
    assert during.status_code == 429
    assert b"Sign-in paused" in during.content
    assert during["Retry-After"] == str(settings.LOGIN_LOCKOUT_MINUTES * 60)
    assert signed_in_as(client) is None
    assert password_checks.call_count == limit

    cool_off_passes()
    after = post_login(
        client,
        "clinician_a",
        PASSWORD,
        forwarded_for=f"{REAL_CLIENT}" if proxies else None,
        remote_addr=PROXY if proxies else REAL_CLIENT,
    )
    assert after.status_code == 302
    assert signed_in_as(client) == str(clinician_a.pk)
    assert not AccessAttempt.objects.exists()  # a successful sign-in clears the count


def cool_off_passes():
    """LOGIN_LOCKOUT_MINUTES go by: the failures recorded are that much older (allauth's one-minute
    rate-limit windows in the cache have long passed too)."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    cache.clear()


def test_the_lockout_holds_until_the_cool_off_has_passed(client, clinician_a):
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        post_login(client, "clinician_a", f"guess-{i}")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(seconds=30))
    assert post_login(client, "clinician_a", PASSWORD).status_code == 429
    cool_off_passes()
    assert post_login(client, "clinician_a", PASSWORD).status_code == 302


def test_the_lock_is_on_the_username_and_address_pair(client, clinician_a):
    """Decision (ECOSYSTEM.md): an attacker elsewhere cannot lock a clinician out of their own desk."""
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        post_login(client, "clinician_a", f"guess-{i}", remote_addr="192.0.2.66")
    assert post_login(client, "clinician_a", PASSWORD, remote_addr="192.0.2.66").status_code == 429
    assert post_login(client, "clinician_a", PASSWORD, remote_addr=REAL_CLIENT).status_code == 302


def test_case_variants_of_the_username_share_one_count(client, clinician_a):
    variants = ["clinician_a", "Clinician_A", "CLINICIAN_A", "cLiNiCiAn_a", "Clinician_a"]
    responses = [post_login(client, name, "wrong-password-000") for name in variants[: settings.LOGIN_FAILURE_LIMIT]]
    assert responses[-1].status_code == 429
    assert post_login(client, "clinician_A", PASSWORD).status_code == 429


def test_an_unknown_username_is_locked_out_the_same_way(client, clinician_a):
    known = [post_login(client, "clinician_a", f"guess-{i}") for i in range(settings.LOGIN_FAILURE_LIMIT)]
    unknown = [post_login(client, "nobody_here", f"guess-{i}") for i in range(settings.LOGIN_FAILURE_LIMIT)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert known[-1].content == unknown[-1].content


# --- One answer for an unknown user and a wrong password ----------------------------------------


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer_after_the_same_work(
    client, clinician_a, password_checks
):
    wrong_password = post_login(client, "clinician_a", "wrong-password-123")
    assert password_checks.call_count == 1
    unknown_user = post_login(client, "nobody_xyzab", "wrong-password-123")
    assert password_checks.call_count == 2  # the unknown user's path hashes the password too

    assert wrong_password.status_code == unknown_user.status_code == 200

    def normalised(response, username):
        return CSRF_VALUE.sub(b"", response.content).replace(username.encode(), b"USERNAME")

    assert normalised(wrong_password, "clinician_a") == normalised(unknown_user, "nobody_xyzab")
    assert b"The username and/or password you specified are not correct." in wrong_password.content


def test_an_inactive_user_with_the_right_password_is_not_signed_in(client, clinician_a):
    clinician_a.is_active = False
    clinician_a.save()
    post_login(client, "clinician_a", PASSWORD)
    assert signed_in_as(client) is None


# --- Passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Tr0ub4dor&3", "at least 12 characters"),
        ("password1234", "too common"),
        ("482917365021", "entirely numeric"),
        ("clinician_a_2026", "too similar"),
    ],
)
def test_weak_passwords_are_refused(clinician_a, password, reason):
    with pytest.raises(ValidationError, match=reason):
        validate_password(password, user=clinician_a)


def test_a_long_uncommon_password_is_accepted(clinician_a):
    validate_password("correct horse battery staple", user=clinician_a)


def test_sign_up_is_closed(client):
    page = client.get("/accounts/signup/")
    assert b"Sign Up Closed" in page.content
    client.post(
        "/accounts/signup/",
        {"username": "walk_in", "password1": "Sufficiently-long-1", "password2": "Sufficiently-long-1"},
    )
    assert not get_user_model().objects.filter(username="walk_in").exists()


# --- Password reset ------------------------------------------------------------------------------


def request_reset(client, email):
    response = client.post("/accounts/password/reset/", {"email": email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"


def reset_link():
    (message,) = mail.outbox
    return re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", message.body).group(1)


def set_new_password(client, link, password="a-brand-new-passphrase"):  # noqa: S107
    """Follow the emailed link and submit a new password; the final response."""
    page = client.get(link, follow=True)
    if b'name="password1"' not in page.content:
        return page
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    return client.post(form_url, {"password1": password, "password2": password}, follow=True)


def test_a_reset_link_works_once(client, clinician_a):
    request_reset(client, clinician_a.email)
    link = reset_link()
    done = set_new_password(client, link)
    assert b"Your password is now changed." in done.content
    clinician_a.refresh_from_db()
    assert clinician_a.check_password("a-brand-new-passphrase")

    again = set_new_password(client, link, "yet-another-passphrase-9")
    assert b"Bad Token" in again.content
    clinician_a.refresh_from_db()
    assert clinician_a.check_password("a-brand-new-passphrase")


@pytest.mark.parametrize(("seconds_later", "works"), [(3500, True), (3601, False)])
def test_a_reset_link_is_valid_for_one_hour(client, clinician_a, seconds_later, works):
    assert settings.PASSWORD_RESET_TIMEOUT == 3600
    request_reset(client, clinician_a.email)
    link = reset_link()
    later = timezone.now() + timedelta(seconds=seconds_later)
    with mock.patch(
        "django.contrib.auth.tokens.PasswordResetTokenGenerator._now", return_value=later.replace(tzinfo=None)
    ):
        done = set_new_password(client, link)
    assert (b"Your password is now changed." in done.content) is works
    clinician_a.refresh_from_db()
    assert clinician_a.check_password("a-brand-new-passphrase") is works


def test_a_reset_link_must_meet_the_password_rules(client, clinician_a):
    request_reset(client, clinician_a.email)
    refused = set_new_password(client, reset_link(), "short-pass1")
    assert b"at least 12 characters" in refused.content
    clinician_a.refresh_from_db()
    assert clinician_a.check_password(PASSWORD)


def test_a_reset_request_answers_the_same_for_an_unknown_address_and_mails_nobody(client, clinician_a):
    request_reset(client, "nobody@example.test")
    assert mail.outbox == []
    request_reset(client, clinician_a.email)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [clinician_a.email]


# --- Session timeouts ----------------------------------------------------------------------------


def test_every_request_renews_the_thirty_minute_idle_timeout(signed_in, clinician_a):
    client = signed_in(clinician_a)
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    session = Session.objects.get(session_key=client.session.session_key)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get("/board/").status_code == 200
    renewed = Session.objects.get(pk=session.pk).expire_date - timezone.now()
    assert timedelta(minutes=29) < renewed <= timedelta(minutes=30)


def test_a_session_idle_for_thirty_minutes_is_signed_out(signed_in, clinician_a):
    client = signed_in(clinician_a)
    # Thirty minutes after the last request, the session row has expired.
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now())
    response = client.get("/board/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_sign_in_stamps_the_session(client, clinician_a):
    before = time.time()
    post_login(client, "clinician_a", PASSWORD)
    assert before <= client.session[SIGNED_IN_AT] <= time.time()


@pytest.mark.parametrize(("hours_ago", "still_in"), [(11.9, True), (12.01, False)])
def test_a_session_ends_twelve_hours_after_sign_in_however_active(signed_in, clinician_a, hours_ago, still_in):
    assert settings.SESSION_ABSOLUTE_AGE == 12 * 3600
    client = signed_in(clinician_a)
    session = client.session
    session[SIGNED_IN_AT] = time.time() - hours_ago * 3600
    session.save()
    response = client.get("/board/")
    assert (response.status_code == 200) is still_in
    if not still_in:
        assert response["Location"].startswith(LOGIN)
        assert client.get("/board/").status_code == 302  # signed out for good, not just this once


def test_the_api_refuses_a_session_past_its_lifetime(signed_in, clinician_a):
    client = signed_in(clinician_a)
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 13 * 3600
    session.save()
    assert client.get("/api/v1/patients/").status_code in (401, 403)


# --- Second factor -------------------------------------------------------------------------------


def test_who_must_use_a_second_factor(clinician_a, physician_a, clinic_admin_a, org_admin, superuser):
    assert not must_use_second_factor(clinician_a)
    assert not must_use_second_factor(physician_a)
    assert must_use_second_factor(clinic_admin_a)
    assert must_use_second_factor(org_admin)
    assert must_use_second_factor(superuser)


@pytest.fixture(params=["clinic_admin_a", "org_admin", "superuser"])
def admin_user(request, clinic_a):
    user = request.getfixturevalue(request.param)
    user.is_staff = True
    user.save()
    return user


# Committing for real: allauth announces the enrolment after commit, inside the request, as in production.
@pytest.mark.django_db(transaction=True)
def test_an_admin_without_totp_reaches_nothing_but_enrolment(client, admin_user):
    assert post_login(client, admin_user.username, PASSWORD).status_code == 302
    assert signed_in_as(client) == str(admin_user.pk)  # the password was right...
    for path in ("/board/", "/patients/", "/admin/", "/accounts/2fa/recovery-codes/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/", path
    api = client.get("/api/v1/patients/")
    assert api.status_code == 403
    assert api.json()["errors"][0]["code"] == "second_factor_required"
    assert client.get("/fhir/R4/Patient").status_code == 403

    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert f'value="{secret}"'.encode() in page.content  # shown for manual entry, beside the QR code

    wrong = client.post(
        "/accounts/2fa/totp/activate/", {"code": "000000" if totp_code(secret) != "000000" else "111111"}
    )
    assert wrong.status_code == 200
    assert b"Incorrect code." in wrong.content
    assert not Authenticator.objects.filter(user=admin_user).exists()

    enrolled = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert enrolled.status_code == 302
    assert enrolled["Location"] == "/accounts/2fa/recovery-codes/"
    assert Authenticator.objects.filter(user=admin_user, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=admin_user, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get("/accounts/2fa/recovery-codes/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/api/v1/patients/").status_code == 200


def test_an_enrolled_admin_enters_the_code_at_sign_in_and_a_wrong_code_is_refused(client, admin_user):
    enrol_totp(admin_user)
    response = post_login(client, admin_user.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_as(client) is None  # not before the code
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456" if totp_code() != "123456" else "654321"})
    assert wrong.status_code == 200
    assert b"Incorrect code." in wrong.content
    assert signed_in_as(client) is None

    right = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    assert right.status_code == 302
    assert signed_in_as(client) == str(admin_user.pk)
    assert client.get("/admin/").status_code == 200
    patients = client.get("/patients/")  # the UI too (a superuser of several clinics picks one first)
    assert patients.status_code == 200 or patients["Location"].startswith("/clinics/")


def test_a_code_is_accepted_once(client, clinic_admin_a):
    enrol_totp(clinic_admin_a)
    post_login(client, "clinic_admin_a", PASSWORD)
    code = totp_code()
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    post_login(client, "clinic_admin_a", PASSWORD)
    replay = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert replay.status_code == 200
    assert signed_in_as(client) is None


def test_a_recovery_code_stands_in_for_the_app_once(client, clinic_admin_a):
    enrol_totp(clinic_admin_a)
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(clinic_admin_a).generate_codes()
    post_login(client, "clinic_admin_a", PASSWORD)
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert signed_in_as(client) == str(clinic_admin_a.pk)
    client.post("/accounts/logout/")
    post_login(client, "clinic_admin_a", PASSWORD)
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200
    assert signed_in_as(client) is None


def test_a_session_signed_in_without_the_code_is_asked_for_it(client, clinic_admin_a):
    """Any sign-in path other than allauth's (here force_login) still meets the second factor."""
    enrol_totp(clinic_admin_a)
    client.force_login(clinic_admin_a)
    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fpatients%2F"
    assert client.post("/accounts/2fa/reauthenticate/?next=/patients/", {"code": totp_code()}).status_code == 302
    assert client.get("/patients/").status_code == 200


def test_an_admin_may_not_switch_their_authenticator_off(client, clinic_admin_a):
    sign_in(client, clinic_admin_a)
    session = client.session
    session["account_authentication_methods"][-1]["reauthenticated"] = True
    session.save()
    refused = client.post("/accounts/2fa/totp/deactivate/", {})
    assert refused.status_code == 200
    assert Authenticator.objects.filter(user=clinic_admin_a, type=Authenticator.Type.TOTP).exists()


def test_a_clinician_needs_no_second_factor_but_may_enrol_one(client, clinician_a, django_capture_on_commit_callbacks):
    post_login(client, "clinician_a", PASSWORD)
    assert client.get("/board/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200

    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}).status_code == 302

    client.post("/accounts/logout/")
    assert post_login(client, "clinician_a", PASSWORD)["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_as(client) is None


def test_the_admin_sign_in_leads_through_the_second_factor_back_to_the_admin(client, superuser):
    superuser.is_staff = True
    superuser.save()
    enrol_totp(superuser)
    start = client.get("/admin/")
    assert start["Location"] == "/admin/login/?next=/admin/"
    login = client.get(start["Location"])
    assert login["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
    stage = client.post(login["Location"], {"login": superuser.username, "password": PASSWORD})
    assert stage["Location"] == "/accounts/2fa/authenticate/"
    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_staff_member_without_an_admin_role_is_not_asked(client, clinic_a):
    desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    post_login(client, "desk_a", PASSWORD)
    assert signed_in_as(client) == str(desk.pk)
    assert client.get("/board/").status_code == 200


def test_totp_codes_follow_rfc_6238():
    # RFC 6238 appendix B, SHA-1, 8 digits, T = 59 s: 94287082 (6 digits: its last six).
    rfc_secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890" in base32
    assert totp_code(rfc_secret, at=59) == "287082"
    assert len(totp_code(TOTP_SECRET)) == 6


def test_the_admin_lists_second_factors_without_their_secrets_and_can_remove_one(signed_in, superuser, clinic_admin_a):
    superuser.is_staff = True
    superuser.save()
    client = signed_in(superuser)
    lost = enrol_totp(clinic_admin_a)
    listing = client.get("/admin/mfa/authenticator/")
    assert listing.status_code == 200
    assert b"clinic_admin_a" in listing.content
    page = client.get(f"/admin/mfa/authenticator/{lost.pk}/change/")
    assert page.status_code == 200
    assert TOTP_SECRET.encode() not in page.content
    assert client.post(f"/admin/mfa/authenticator/{lost.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Authenticator.objects.filter(pk=lost.pk).exists()


def test_a_clinic_admin_cannot_see_anyones_second_factor_in_the_admin(signed_in, clinic_admin_a):
    clinic_admin_a.is_staff = True
    clinic_admin_a.save()
    assert signed_in(clinic_admin_a).get("/admin/mfa/authenticator/").status_code == 403


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_the_second_factor_admin_pages_do_not_tell_staff_which_ids_exist(signed_in, clinic_admin_a, clinician_a, view):
    clinic_admin_a.is_staff = True
    clinic_admin_a.save()
    existing = enrol_totp(clinician_a)
    client = signed_in(clinic_admin_a)
    found = client.get(f"/admin/mfa/authenticator/{existing.pk}/{view}/")
    missing = client.get(f"/admin/mfa/authenticator/{existing.pk + 1000}/{view}/")
    assert (found.status_code, found.get("Location")) == (missing.status_code, missing.get("Location"))
