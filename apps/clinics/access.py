"""The tenancy gate: which clinics a user may see, and lookups that are 404 outside them.

Every clinic-owned row reaches a user through here (or through a `for_user` queryset built on
`visible_clinic_ids`). Outside the user's clinics the answer is 404, never 403, so a probe
cannot tell "exists elsewhere" from "does not exist".
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from apps.clinics.models import Clinic, Machine, Membership, OrganizationAdmin, Role

_ROLES_ATTR = "_spinezone_roles"
_ORGANIZATIONS_ATTR = "_spinezone_administered_organizations"
ORGANIZATION_ADMIN = "organization_admin"
# The role a partner system's token holds at each clinic its partner is granted.
PARTNER = "partner"


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def roles_by_clinic(user: Any) -> dict[int, str]:
    """{clinic id: role} for every clinic the user may see, remembered on the user object.

    A partner token (`apps.partners.authentication.PartnerPrincipal`) holds `partner` at the
    clinics granted to its partner. An organization admin holds `organization_admin` at each
    clinic of the organization, unless a membership there names a role of its own.
    """
    if not _signed_in(user):
        return {}
    if not hasattr(user, _ROLES_ATTR) and getattr(user, "is_partner", False):
        setattr(user, _ROLES_ATTR, dict.fromkeys(user.granted_clinic_ids(), PARTNER))
    if not hasattr(user, _ROLES_ATTR):
        roles = {
            clinic_id: ORGANIZATION_ADMIN
            for clinic_id in Clinic.objects.filter(organization__admins__user=user).values_list("id", flat=True)
        }
        roles.update(Membership.objects.filter(user=user).values_list("clinic_id", "role"))
        setattr(user, _ROLES_ATTR, roles)
    return getattr(user, _ROLES_ATTR)


def visible_clinic_ids(user: Any) -> frozenset[int] | None:
    """The ids of the clinics this user may see; `None` means all of them (a superuser)."""
    if _signed_in(user) and user.is_superuser:
        return None
    return frozenset(roles_by_clinic(user))


def clinic_ids_with_role(user: Any, roles: frozenset[str]) -> frozenset[int] | None:
    """Clinics where the user holds one of these roles; `None` means all (a superuser)."""
    if _signed_in(user) and user.is_superuser:
        return None
    return frozenset(clinic_id for clinic_id, role in roles_by_clinic(user).items() if role in roles)


def administered_clinic_ids(user: Any) -> frozenset[int] | None:
    """Clinics whose staff and settings this user manages."""
    return clinic_ids_with_role(user, frozenset({Role.CLINIC_ADMIN, ORGANIZATION_ADMIN}))


def report_clinic_ids(user: Any) -> frozenset[int] | None:
    """Clinics whose audit trail this user may read: those they administer (`None`: all, a superuser).

    Clinicians and partner tokens read none. Events that name no clinic (refused attempts, failed
    sign-ins, exports) are for superusers only: nothing ties them to one clinic's administrators.
    """
    if getattr(user, "is_partner", False):
        return frozenset()
    return administered_clinic_ids(user)


def administered_organization_ids(user: Any) -> frozenset[int] | None:
    if _signed_in(user) and user.is_superuser:
        return None
    if not _signed_in(user) or getattr(user, "is_partner", False):
        return frozenset()
    if not hasattr(user, _ORGANIZATIONS_ATTR):
        administered = OrganizationAdmin.objects.filter(user=user).values_list("organization_id", flat=True)
        setattr(user, _ORGANIZATIONS_ATTR, frozenset(administered))
    return getattr(user, _ORGANIZATIONS_ATTR)


def must_use_second_factor(user: Any) -> bool:
    """Superusers, clinic admins and organization admins: they manage staff and settings, so a
    stolen password alone must not reach the admin or the UI (issue 7). Other staff may opt in."""
    if not _signed_in(user) or getattr(user, "is_partner", False):
        return False
    return bool(user.is_superuser or administered_clinic_ids(user) or administered_organization_ids(user))


def forget_cached_access(user: Any) -> None:
    """Drop what the gate remembered about this user object (after a membership change)."""
    for attr in (_ROLES_ATTR, _ORGANIZATIONS_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


def restrict(queryset: QuerySet, clinic_ids: frozenset[int] | None, clinic_field: str = "clinic") -> QuerySet:
    """Narrow a queryset of clinic-owned rows to these clinics (`None`: no narrowing)."""
    if clinic_ids is None:
        return queryset
    return queryset.filter(**{f"{clinic_field}__in": clinic_ids})


def clinics_for_user(user: Any) -> QuerySet[Clinic]:
    return restrict(Clinic.objects.select_related("organization"), visible_clinic_ids(user), "id")


def machines_for_user(user: Any) -> QuerySet[Machine]:
    return restrict(Machine.objects.all(), visible_clinic_ids(user))


def access_clinic(user: Any, clinic_id: Any) -> Clinic:
    try:
        return clinics_for_user(user).get(pk=clinic_id)
    except (Clinic.DoesNotExist, ValueError, TypeError):
        raise Http404("No such clinic.") from None


def access_machine(user: Any, machine_id: Any) -> Machine:
    try:
        return machines_for_user(user).get(pk=machine_id)
    except (Machine.DoesNotExist, ValueError, TypeError):
        raise Http404("No such machine.") from None
