"""Clinic time in the admin: columns shown, and times typed, on the wall clock of the clinic.

A clinician in Los Angeles types 10:00 for a 10:00 session and reads 10:00 back, whatever zone
the server runs in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.utils import timezone

from apps.clinics.localtime import localise
from apps.clinics.models import Clinic


def clinic_time(moment: datetime | None, clinic: Clinic) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(clinic.tzinfo)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_time(field: str, description: str, clinic_of: Callable[[Any], Clinic] | None = None) -> Callable:
    """An admin column showing `field` in the clinic's time (the row's `clinic` unless `clinic_of` says)."""

    @admin.display(description=description, ordering=field)
    def show(modeladmin: Any, obj: Any) -> str:
        return clinic_time(getattr(obj, field), clinic_of(obj) if clinic_of else obj.clinic)

    return show


def wall_clock(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` as a naive wall time in `tz`: a form shows a naive initial value as it is."""
    return timezone.localtime(moment, tz).replace(tzinfo=None)


def at_clinic(typed: datetime, tz: ZoneInfo) -> datetime:
    """A time the form read in the server's zone, read again as the clinic's wall clock (`localise`:
    a time in a spring-forward gap moves forward, an ambiguous one is its first occurrence)."""
    return localise(timezone.make_naive(typed), tz)


def performed_at_machine_clinic(cleaned: dict[str, Any]) -> None:
    """A form's `performed_at` read on the wall clock of the clinic where its `machine` stands."""
    machine, performed_at = cleaned.get("machine"), cleaned.get("performed_at")
    if machine is not None and performed_at is not None:
        cleaned["performed_at"] = at_clinic(performed_at, machine.clinic.tzinfo)
