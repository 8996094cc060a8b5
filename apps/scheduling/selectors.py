"""Reads of clinic calendars, as the plain values the pure slot finder takes.

Callers pass a clinic that already came through the gate (`clinics.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from apps.clinics.models import Clinic
from apps.scheduling import models
from apps.scheduling.models import ClinicCalendar, Weekday
from apps.scheduling.slots import Calendar, OpeningRange

# DOMAIN.md "Appointments": a clinic that has set nothing is open Monday to Friday, 08:00-18:00.
DEFAULT_OPENING = tuple(OpeningRange(day, time(8), time(18)) for day in range(Weekday.MONDAY, Weekday.SATURDAY))


@dataclass(frozen=True)
class BookingRules:
    """The appointment rules' numbers that are not the finder's: when a cancellation is late, when a no-show."""

    late_cancel: timedelta
    no_show_grace: timedelta


def _settings_of(clinic: Clinic) -> ClinicCalendar | None:
    return ClinicCalendar.objects.filter(clinic=clinic).first()


def calendar_for(clinic: Clinic, *, closures_from: date | None = None) -> Calendar:
    """The clinic's calendar for `slots.free_slots`; the defaults when the clinic has set none.

    `closures_from` leaves out closures before that day (the finder never looks back).
    """
    settings = _settings_of(clinic)
    if settings is None:
        return Calendar(
            tz=clinic.tzinfo,
            opening=DEFAULT_OPENING,
            slot_minutes=models.DEFAULT_SLOT_MINUTES,
            horizon_days=models.DEFAULT_HORIZON_DAYS,
            supervisor_capacity=models.DEFAULT_SUPERVISOR_CAPACITY,
        )
    opening = settings.opening_hours.order_by("weekday", "opens_at").values_list("weekday", "opens_at", "closes_at")
    closures = settings.closures.all()
    if closures_from is not None:
        closures = closures.filter(date__gte=closures_from)
    return Calendar(
        tz=clinic.tzinfo,
        opening=tuple(OpeningRange(*row) for row in opening),
        closures=frozenset(closures.values_list("date", flat=True)),
        slot_minutes=settings.slot_minutes,
        horizon_days=settings.booking_horizon_days,
        supervisor_capacity=settings.supervisor_capacity,
    )


def booking_rules_for(clinic: Clinic) -> BookingRules:
    settings = _settings_of(clinic)
    hours = settings.late_cancel_hours if settings else models.DEFAULT_LATE_CANCEL_HOURS
    grace = settings.no_show_grace_minutes if settings else models.DEFAULT_NO_SHOW_GRACE_MINUTES
    return BookingRules(late_cancel=timedelta(hours=hours), no_show_grace=timedelta(minutes=grace))
