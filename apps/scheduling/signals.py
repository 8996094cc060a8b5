"""What the scheduling app announces to the apps above it (apps.reminders), which it cannot import.

Sent inside the writing transaction, after the appointment row and its audit event are written: a
receiver adds rows of its own (reminders) in the same transaction, so none is lost or doubled.
"""

from __future__ import annotations

from django.dispatch import Signal

# appointment: the Appointment just written; change: "booked" or the state it moved to; actor: who.
appointment_changed = Signal()
