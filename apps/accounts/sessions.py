"""How long a signed-in session lasts, and whether it has passed the second factor.

Idle timeout: SESSION_COOKIE_AGE renewed on every request (SESSION_SAVE_EVERY_REQUEST). Absolute
lifetime: the moment of sign-in is stamped in the session and, SESSION_ABSOLUTE_AGE later, the
session is ended however active it was, so a stolen session cookie stops working within a shift.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.account.authentication import get_authentication_records
from django.conf import settings

SIGNED_IN_AT = "accounts.signed_in_at"  # Unix time of the sign-in


def stamp_sign_in(session: Any, now: float | None = None) -> None:
    session[SIGNED_IN_AT] = time.time() if now is None else now


def lifetime_is_over(session: Any, now: float) -> bool:
    """True once the session outlived SESSION_ABSOLUTE_AGE; a session without a stamp (signed in
    before this check existed) gets one now."""
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int | float):
        stamp_sign_in(session, now)
        return False
    return now - signed_in_at >= settings.SESSION_ABSOLUTE_AGE


def passed_second_factor(request: Any) -> bool:
    """allauth records in the session each way its user proved who they are (password, mfa...),
    bound to that user; Django flushes the session on sign-out and on a sign-in as someone else."""
    records = get_authentication_records(request, request.user)
    return any(isinstance(record, dict) and record.get("method") == "mfa" for record in records)
