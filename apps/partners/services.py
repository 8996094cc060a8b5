"""Creating partners, issuing and revoking their tokens. A token's plaintext exists only in the issuer's
return value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit import events
from apps.clinics.models import Clinic, Organization
from apps.partners.models import Partner, PartnerToken, TokenScope
from apps.partners.tokens import new_token, token_hash


def _user_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) is not None else None


@transaction.atomic
def partner_create(
    *, actor: Any, organization: Organization, name: str, contact_email: str, clinics: list[Clinic]
) -> Partner:
    """A partner system of the organization, granted these of its clinics (at least one), audited."""
    if not actor.has_perm("partners.add_partner", organization):
        raise PermissionDenied("Only an admin of the organization can add its partners.")
    if not clinics:
        raise ValidationError({"clinics": "Grant the partner at least one clinic."})
    foreign = sorted(clinic.name for clinic in clinics if clinic.organization_id != organization.pk)
    if foreign:
        raise ValidationError({"clinics": f"Not clinics of {organization.name}: {', '.join(foreign)}."})
    partner = Partner(organization=organization, name=name.strip(), contact_email=contact_email.strip())
    partner.full_clean()  # the name unique in the organization, a valid contact address
    partner.save()
    partner.clinics.set(clinics)
    events.record(action=events.Action.CREATE, obj=partner, actor=actor)
    return partner


@transaction.atomic
def partner_token_issue(
    *, actor: Any, partner: Partner, name: str, scope: str, expires_at: datetime
) -> tuple[PartnerToken, str]:
    """The new token and its plaintext, which is shown once and never stored."""
    if not actor.has_perm("partners.add_partnertoken", partner):
        raise PermissionDenied("Only an admin of the partner's organization can issue its tokens.")
    if scope not in TokenScope.values:
        raise ValidationError({"scope": "Choose read or read_write."})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if not name.strip():
        raise ValidationError({"name": "Give the token a name that says what it is for."})
    for _attempt in range(3):
        prefix, plaintext = new_token()
        try:
            # Savepoint: a prefix collision (1 in 4 billion per token) retries instead of failing.
            with transaction.atomic():
                token = PartnerToken.objects.create(
                    partner=partner,
                    name=name.strip(),
                    scope=scope,
                    prefix=prefix,
                    secret_hash=token_hash(plaintext),
                    expires_at=expires_at,
                    created_by=_user_or_none(actor),
                )
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError("Could not find a free token prefix.")
    events.record(action=events.Action.CREATE, obj=token, actor=actor)
    return token, plaintext


@transaction.atomic
def partner_token_revoke(*, actor: Any, token: PartnerToken) -> PartnerToken:
    if not actor.has_perm("partners.change_partnertoken", token):
        raise PermissionDenied("Only an admin of the partner's organization can revoke its tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        events.record(action=events.Action.UPDATE, obj=token, actor=actor)
    return token
