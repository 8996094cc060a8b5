"""Session lifetime and the second factor required of admins, checked on every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from apps.accounts.sessions import lifetime_is_over, passed_second_factor
from apps.clinics.access import must_use_second_factor

# What a user who owes the second factor may still reach: enrolment, proving it, leaving.
ON_THE_WAY_TO_A_SECOND_FACTOR = frozenset(
    {"mfa_activate_totp", "mfa_reauthenticate", "account_reauthenticate", "account_logout"}
)
MACHINE_PREFIXES = ("/api/", "/fhir/")


class SessionLifetimeMiddleware:
    """Sign out a session SESSION_ABSOLUTE_AGE after its sign-in, active or not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and lifetime_is_over(request.session, time.time()):
            logout(request)  # the request goes on anonymous: pages send it to sign in, the API says 401/403
        return self.get_response(request)


class SecondFactorMiddleware:
    """Superusers, clinic admins and organization admins reach nothing without the second factor.

    allauth asks for the TOTP code at sign-in of anyone who has enrolled one. This catches the
    rest: an admin who has not enrolled yet is sent to enrol (first sign-in of a new admin), and a
    session that never passed the code (a sign-in by any other path) is asked for it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._owes_second_factor(request):
            return self._refuse(request)
        return self.get_response(request)

    def _owes_second_factor(self, request: HttpRequest) -> bool:
        user = request.user
        if not user.is_authenticated or passed_second_factor(request):
            return False
        return must_use_second_factor(user) and _url_name(request) not in ON_THE_WAY_TO_A_SECOND_FACTOR

    def _refuse(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(MACHINE_PREFIXES):
            detail = "Your role requires two-factor authentication: sign in through the web page first."
            error = {"code": "second_factor_required", "detail": detail, "attr": None}
            return JsonResponse({"type": "client_error", "errors": [error]}, status=403)
        if is_mfa_enabled(request.user, [Authenticator.Type.TOTP]):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
        messages.info(request, "Your role requires two-factor authentication. Set up an authenticator app to continue.")
        return redirect("mfa_activate_totp")


def _url_name(request: HttpRequest) -> str | None:
    try:
        return resolve(request.path_info).url_name
    except Resolver404:
        return None
