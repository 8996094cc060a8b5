from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class ActionPermission(BasePermission):
    """The model permission the view names for this method (`required_perms`), asked of the principal.

    A first, coarse check (may this principal read or write patients at all); services check the
    same permission again against the row, and the gate keeps rows outside the principal's clinics 404.
    """

    message = "This token or role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        perm = getattr(view, "required_perms", {}).get(request.method)
        if perm is None:
            return request.method in ("HEAD", "OPTIONS")
        return request.user.has_perm(perm)


class StaffWritePermission(ActionPermission):
    """Reads as `ActionPermission`; writes only by staff, since a partner token cannot be `recorded_by`."""

    message = "A partner token cannot record this: the record needs the clinician who took it."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method == "POST" and getattr(request.user, "is_partner", False):
            return False
        return super().has_permission(request, view)
