"""Role predicates (django-rules) behind every `user.has_perm(...)`, the admin's included.

A predicate called without an object answers "anywhere among the user's clinics" (the admin asks
that for list and add pages); with an object it answers for the object's own clinic. Which rows
appear at all is the gate's business (`apps.clinics.access`), not these predicates'.
"""

from __future__ import annotations

from typing import Any

import rules

from apps.clinics.access import administered_organization_ids, clinic_ids_with_role, visible_clinic_ids
from apps.clinics.models import CLINICAL_ROLES, Role

ADMIN_ROLES = frozenset({Role.CLINIC_ADMIN, "organization_admin"})
ALL_ROLES = frozenset(Role.values) | {"organization_admin"}


def clinic_id_of(obj: Any) -> int | None:
    return obj.audit_subject().clinic_id


def _holds(clinic_ids: frozenset[int] | None, obj: Any) -> bool:
    if clinic_ids is None:
        return True
    if obj is None:
        return bool(clinic_ids)
    return clinic_id_of(obj) in clinic_ids


def role_predicate(name: str, roles: frozenset[str]) -> rules.Predicate:
    def check(user: Any, obj: Any = None) -> bool:
        return _holds(clinic_ids_with_role(user, roles), obj)

    return rules.predicate(check, name=name)


is_staff_member = rules.predicate(lambda user, obj=None: _holds(visible_clinic_ids(user), obj), name="is_staff_member")
is_clinician = role_predicate("is_clinician", CLINICAL_ROLES)
is_physician = role_predicate("is_physician", frozenset({Role.PHYSICIAN}))
is_clinic_admin = role_predicate("is_clinic_admin", ADMIN_ROLES)


@rules.predicate
def is_organization_admin(user: Any, obj: Any = None) -> bool:
    org_ids = administered_organization_ids(user)
    if org_ids is None:
        return True
    if obj is None:
        return bool(org_ids)
    return obj.audit_subject().organization_id in org_ids


# Module permissions decide which apps appear on the admin index.
rules.add_perm("clinics", is_staff_member)
rules.add_perm("clinics.view_organization", is_organization_admin)
rules.add_perm("clinics.change_organization", is_organization_admin)
rules.add_perm("clinics.view_clinic", is_staff_member)
rules.add_perm("clinics.change_clinic", is_clinic_admin)
rules.add_perm("clinics.add_clinic", is_organization_admin)
rules.add_perm("clinics.view_machine", is_staff_member)
rules.add_perm("clinics.add_machine", is_clinic_admin)
rules.add_perm("clinics.change_machine", is_clinic_admin)
rules.add_perm("clinics.delete_machine", is_clinic_admin)
rules.add_perm("clinics.view_membership", is_clinic_admin)
rules.add_perm("clinics.add_membership", is_clinic_admin)
rules.add_perm("clinics.change_membership", is_clinic_admin)
rules.add_perm("clinics.delete_membership", is_clinic_admin)
rules.add_perm("clinics.view_organizationadmin", is_organization_admin)
rules.add_perm("clinics.add_organizationadmin", is_organization_admin)
rules.add_perm("clinics.delete_organizationadmin", is_organization_admin)
rules.add_perm("audit", is_clinic_admin)
rules.add_perm("audit.view_event", is_clinic_admin)
