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
            # A method the view does not offer passes here so that DRF answers 405, not 403;
            # a method it offers without a named permission is refused.
            return request.method in ("HEAD", "OPTIONS") or not hasattr(view, request.method.lower())
        return request.user.has_perm(perm)
