"""Bookkeeping on sign-in and on enrolment of an authenticator app (no business logic)."""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from apps.accounts.sessions import stamp_sign_in


@receiver(user_logged_in, dispatch_uid="accounts.stamp_sign_in")
def _stamp_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    stamp_sign_in(request.session)
    if any(record.get("method") == "password" for record in get_authentication_records(request, user)):
        # The password was typed seconds ago: for allauth's re-authentication window (5 minutes)
        # that is as fresh as typing it again, so a new admin enrols their authenticator app right
        # after signing in without being asked for the password twice.
        record_authentication(request, user, "password", reauthenticated=True, at_sign_in=True)


@receiver(authenticator_added, dispatch_uid="accounts.enrolment_proves_the_second_factor")
def _enrolment_proves_the_second_factor(
    sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    # Activating an authenticator app takes a valid code from it: the session has just proved the
    # second factor (as fresh as a re-authentication), so an admin enrolling at their first sign-in
    # goes on to their recovery codes and their work without typing another.
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, enrolled=True, reauthenticated=True
        )
