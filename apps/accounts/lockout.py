"""django-axes wiring: who is counted, from where, and what a locked-out caller sees.

Failures are counted per (username, client address) pair (`AXES_LOCKOUT_PARAMETERS`). The address
is the one the audit log records (`apps.audit.context.client_ip`): REMOTE_ADDR, or the entry our
own trusted proxies appended to X-Forwarded-For, never a value the client wrote itself. Rotating
spoofed X-Forwarded-For values therefore keeps hitting the same counter.

Locking the pair rather than the username alone means an attacker elsewhere cannot lock a
clinician out of their own workstation; the price is that a botnet with many real addresses gets
LOGIN_FAILURE_LIMIT guesses per address, which the password validators (12+ characters, not
common) and the second factor required of admins make worthless.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.audit.context import client_ip


def client_address(request: HttpRequest) -> str | None:
    return client_ip(
        request.META.get("REMOTE_ADDR"),
        request.headers.get("X-Forwarded-For"),
        settings.TRUSTED_PROXY_COUNT,
    )


def username_key(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username as the login compares it: allauth matches usernames case-insensitively, so
    `Clinician_A` and `clinician_a` must share one counter, or case variants would multiply the
    attempts allowed."""
    source = credentials if credentials is not None else request.POST
    username = source.get("username") or source.get("login")
    return username.strip().lower() if isinstance(username, str) else None


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """429 with the lockout page, the same whether or not the username exists."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    response = render(request, "account/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
