"""The reminders app's answers to what the scheduling app announces (apps.scheduling.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from apps.reminders import appointments
from apps.scheduling.models import Appointment
from apps.scheduling.signals import appointment_changed


@receiver(appointment_changed, sender=Appointment, dispatch_uid="reminders.after_appointment_changed")
def _appointment_changed(*, appointment: Appointment, change: str, actor: Any, **kwargs: Any) -> None:
    # The signal carries no clock: a cancellation's is on the row; a booking's is now. (A `now` sent
    # with the signal would win, so a test's or a replay's clock would carry through.)
    now = kwargs.get("now") or (appointment.cancelled_at if change == appointments.CANCELLED else None)
    appointments.reminders_for_appointment(
        appointment=appointment, change=change, actor=actor, now=now or timezone.now()
    )
