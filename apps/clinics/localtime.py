"""A clinic's wall clock as instants: the one rule every clinic-local time follows (DOMAIN.md,
"Scheduling": times are stored in UTC and computed in the clinic's IANA zone)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def localise(wall_time: datetime, tz: ZoneInfo) -> datetime:
    """A naive clinic-local wall time as a UTC instant: gaps move forward, ambiguous times take fold=0."""
    return wall_time.replace(tzinfo=tz, fold=0).astimezone(UTC)
