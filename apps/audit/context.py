"""Where an audited action comes from: the request (or task) being served right now.

The middleware sets it once per request; the audit helper reads it, so services need not
thread the request id and client address through every call.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class Origin:
    request_id: str
    ip_address: str | None
    channel: str  # "admin", "ui", "api", "fhir", "task", "command"


_current: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def current_origin() -> Origin:
    return _current.get() or Origin(request_id="", ip_address=None, channel="command")


@contextmanager
def origin(request_id: str, ip_address: str | None, channel: str) -> Iterator[Origin]:
    value = Origin(request_id=request_id, ip_address=ip_address, channel=channel)
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


def new_request_id(supplied: str | None = None) -> str:
    """Keep a caller's X-Request-ID when it is well formed, so logs join across systems."""
    # fullmatch: `$` in match() would let a trailing newline through into the response header.
    if supplied and REQUEST_ID_PATTERN.fullmatch(supplied):
        return supplied
    return uuid.uuid4().hex


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The client's address: REMOTE_ADDR, or the entry a trusted proxy appended to X-Forwarded-For.

    Only the last `trusted_proxies` hops are ours; anything to their left was written by the
    client and may be spoofed, so it is never taken.
    """
    if trusted_proxies and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies and _is_ip_address(hops[-trusted_proxies]):
            return hops[-trusted_proxies]
    return remote_addr or None


def _is_ip_address(value: str) -> bool:
    # Anything else would make the audit INSERT (an inet column) fail, and the request with it.
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        origin_now = _current.get()
        record.request_id = origin_now.request_id if origin_now else "-"
        return True
