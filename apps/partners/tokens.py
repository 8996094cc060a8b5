"""The token format: `sz_<prefix>_<secret>`, and its hash."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PATTERN = re.compile(r"^sz_(?P<prefix>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_-]{43,})$")


def new_token() -> tuple[str, str]:
    """(prefix, token). Hex prefix, so the `_` after it is unambiguous; 32 random bytes of secret."""
    prefix = secrets.token_hex(4)
    return prefix, f"sz_{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    # SHA-256 without salt or stretching is enough for 256 random bits (see PartnerToken).
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    match = TOKEN_PATTERN.fullmatch(token)
    return match["prefix"] if match else None
