from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django_scopes import scope

from apps.clinics.access import visible_clinic_ids


class ClinicScopeMiddleware:
    """Activate the django-scopes clinic scope for the signed-in user.

    This is the second wall behind the gate: any query on a scoped (patient data) model that the
    code forgot to narrow is narrowed to the user's clinics here, and an anonymous request sees
    none. Superusers get `clinic=None`, which django-scopes reads as "no narrowing".
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clinic_ids = visible_clinic_ids(request.user)
        with scope(clinic=None if clinic_ids is None else sorted(clinic_ids)):
            return self.get_response(request)
