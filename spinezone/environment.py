"""Strict readers for settings taken from the environment.

django-environ parses URLs well but reads any unknown word as ``False`` for a
boolean and lets a typo in a number surface as a stack trace deep inside Django.
These helpers fail at start with one sentence that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def read_str(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    """The value, or the default when unset or blank: `NAME=` in an .env file means "not set"."""
    raw = environ.get(name, "").strip()
    return raw or default


def read_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name, "")
    if not raw.strip():
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of true/false, 1/0, yes/no, on/off.")


def read_int(name: str, default: int, *, minimum: int, maximum: int, environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={value} is out of range: use {minimum} to {maximum}.")
    return value


def read_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    items = [item.strip() for item in environ.get(name, "").split(",") if item.strip()]
    return items or default


def read_secret_key(debug: bool, environ: Mapping[str, str] = os.environ) -> str:
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        if not debug and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY is too short for production: use at least 50 random characters.")
        return key
    if debug:
        # A fixed key is acceptable only on a developer's machine: DEBUG is on.
        return "django-insecure-development-only-key-never-use-in-production-0123456789"
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. With DEBUG off the platform refuses to start without one: "
        "set SECRET_KEY to a long random string (see .env.example)."
    )


def require_url_scheme(name: str, url: str, schemes: tuple[str, ...]) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in schemes:
        # The scheme only: the rest of the URL may hold a password, and this message goes to logs.
        found = f"scheme {scheme!r}" if scheme else "no scheme"
        raise ImproperlyConfigured(
            f"{name} is not a supported URL ({found}): it must start with one of "
            f"{', '.join(s + '://' for s in schemes)}."
        )
    return url
