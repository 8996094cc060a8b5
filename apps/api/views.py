"""The base of every API view: the request's principal passes the same tenancy gate as staff."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from django_scopes import scope
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
