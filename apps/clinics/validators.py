from __future__ import annotations

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError


@cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_iana_timezone(value: str) -> None:
    if value not in iana_zones():
        raise ValidationError(
            "%(value)s is not an IANA time zone (for example Europe/London or America/Chicago).",
            code="invalid_timezone",
            params={"value": value},
        )
