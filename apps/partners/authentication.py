"""Partner tokens on the API: `Authorization: Bearer sz_…`, never the query string."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.clinics.models import Clinic
from apps.partners.models import Partner, PartnerToken
from apps.partners.tokens import token_hash, token_prefix

# Recording every use would be a write per request; a minute is fine enough to spot stale tokens.
LAST_USED_RESOLUTION = timedelta(minutes=1)
QUERY_STRING_TOKEN_NAMES = ("token", "access_token", "api_key", "apikey", "auth", "authorization")
WRITE_ACTIONS = frozenset({"add", "change"})


class PartnerPrincipal:
    """`request.user` for a partner token: passes the tenancy gate like a staff member of its clinics.

    `pk` is None, so audit events record no user and `partner:<name>` as the actor label.
    """

    is_partner = True
    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, token: PartnerToken) -> None:
        self.token = token
        self.partner: Partner = token.partner
        self.scope = token.scope

    @property
    def is_active(self) -> bool:
        return self.partner.is_active

    def __str__(self) -> str:
        return self.get_username()

    def get_username(self) -> str:
        return f"partner:{self.partner.name}"

    def granted_clinic_ids(self) -> list[int]:
        """Read once per request by the gate (`apps.clinics.access.roles_by_clinic` caches it)."""
        granted = getattr(self.token, "granted_clinic_ids", None)  # fetched with the token on PostgreSQL
        return (
            list(granted)
            if granted is not None
            else list(granted_clinics(self.partner.pk).values_list("id", flat=True))
        )

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """From the token's scope: view anything in its clinics; add and change only with read_write."""
        from apps.clinics.access import visible_clinic_ids

        clinic_ids = visible_clinic_ids(self) or frozenset()
        if obj is not None and obj.audit_subject().clinic_id not in clinic_ids:
            return False
        action = perm.partition(".")[2].partition("_")[0]
        if action == "view":
            return bool(clinic_ids)
        return action in WRITE_ACTIONS and self.token.can_write and bool(clinic_ids)

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perms)

    def has_module_perms(self, app_label: str) -> bool:
        return False


def granted_clinics(partner_id: Any) -> QuerySet[Clinic]:
    # The organization filter guards against a clinic granted across organizations by hand.
    return Clinic.objects.filter(partners=partner_id, organization__partners=partner_id)


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[PartnerPrincipal, PartnerToken] | None:
        self._refuse_query_string_tokens(request)
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = self._token_for(credentials.strip())
        refusal = token.refusal(timezone.now())
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        self._note_use(token)
        return PartnerPrincipal(token), token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    def _refuse_query_string_tokens(self, request: Request) -> None:
        # Query strings end up in proxy logs, browser history and Referer headers.
        named = [name for name in QUERY_STRING_TOKEN_NAMES if name in request.query_params]
        if named:
            raise exceptions.AuthenticationFailed(
                f"Credentials are not accepted in the query string ({', '.join(named)}); "
                "send them in the header Authorization: Bearer <token>."
            )

    def _token_for(self, plaintext: str) -> PartnerToken:
        prefix = token_prefix(plaintext)
        token = None
        if prefix is not None:
            tokens = PartnerToken.objects.select_related("partner").filter(prefix=prefix)
            if connection.vendor == "postgresql":
                # The gate needs the granted clinics on every request: one round trip instead of two.
                clinic_ids = granted_clinics(OuterRef("partner_id")).order_by("id").values("id")
                tokens = tokens.annotate(granted_clinic_ids=ArraySubquery(clinic_ids))
            token = tokens.first()
        # Constant-time compare of the hashes: timing reveals nothing about how much matched.
        if token is None or not hmac.compare_digest(token.secret_hash, token_hash(plaintext)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return token

    def _note_use(self, token: PartnerToken) -> None:
        now = timezone.now()
        if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
            return
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        PartnerToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
