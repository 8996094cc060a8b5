"""Signing test clients in as the platform does, the second factor included.

Superusers, clinic admins and organization admins reach nothing until their session has passed
the TOTP step (apps.accounts.middleware.SecondFactorMiddleware). `sign_in` enrols such a user with
a known secret and records the passed step in the session, as allauth does at sign-in.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from apps.clinics.access import forget_cached_access, must_use_second_factor

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32, as authenticator apps take it


def totp_code(secret: str = TOTP_SECRET, at: float | None = None) -> str:
    """The code an authenticator app shows now (RFC 6238, allauth's own HOTP helper)."""
    counter = int(time.time() if at is None else at) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def enrol_totp(user: Any, secret: str = TOTP_SECRET) -> Authenticator:
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return existing or TOTP.activate(user, secret).instance


def sign_in(client: Any, user: Any) -> Any:
    """`client.force_login(user)`, plus the second factor for those who must have one."""
    client.force_login(user)
    required = must_use_second_factor(user)
    forget_cached_access(user)  # the test may change the user's roles afterwards
    if required:
        authenticator = enrol_totp(user)
        session = client.session
        record_authentication(SimpleNamespace(session=session), user, "mfa", id=authenticator.pk, type="totp")
        session.save()
    return client
