"""What every API view shares with the tenancy gate: the principal's clinic scope, and staff named
in a request body looked up among the principal's clinics only.

The plumbing in `apps.api` (errors, pagination, idempotency, ETags) knows nothing of tenancy; this
module is where an API view meets the gate, as `apps.clinics.admin_base` is for the admin.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django_scopes import scope
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.clinics.access import visible_clinic_ids


class ScopedAPIView(APIView):
    """Activates the django-scopes clinic scope of the principal DRF authenticated.

    `ClinicScopeMiddleware` runs before DRF authenticates, so a token request arrives with the
    anonymous (empty) scope. Once `initial()` has authenticated, the principal's scope is entered
    on a stack that `dispatch` closes when the view returns, error or not.
    """

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with ExitStack() as self._scope_stack:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        clinic_ids = visible_clinic_ids(request.user)
        self._scope_stack.enter_context(scope(clinic=None if clinic_ids is None else sorted(clinic_ids)))


class ScopedGenericAPIView(ScopedAPIView, GenericAPIView):
    pass


class ClinicianField(serializers.SlugRelatedField):
    """A staff member named by username, among the active staff of the caller's clinics.

    A partner system records on behalf of a clinician: the service then checks that this
    clinician may record it at the patient's clinic. Staff of other clinics read as unknown, so
    the field reveals no usernames outside the caller's clinics.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(slug_field="username", queryset=get_user_model().objects.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        users = get_user_model().objects.filter(is_active=True)
        if request is None:
            return users.none()
        clinic_ids = visible_clinic_ids(request.user)
        return users if clinic_ids is None else users.filter(memberships__clinic_id__in=clinic_ids).distinct()
