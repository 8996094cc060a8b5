"""django-allauth adapters: staff accounts are made by admins, and the second factor stays on for
those who must have it."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from apps.accounts.lockout import client_address
from apps.clinics.access import must_use_second_factor


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Staff accounts are created by clinic and organization admins, never by visitors.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's rate limits key on the same address as the lockout and the audit log.
        return client_address(request) or super().get_client_ip(request)


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """An admin may not switch their authenticator app off (they may still replace their
        recovery codes); anyone else may."""
        if authenticator.type != Authenticator.Type.TOTP:
            return True
        return not must_use_second_factor(authenticator.user)

    def get_totp_label(self, user: Any) -> str:
        return user.get_username()
