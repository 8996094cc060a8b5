"""Appointment, Slot and Schedule: when and on which machine a patient trains.

A Schedule is one machine of a clinic (its id the machine's); a Slot is the time a live (booked or
checked-in) appointment holds on that machine, with the appointment's id and `status: busy`. Free
slots are not Slot resources: which times are free depends on the program (its rest window and due
time), so they are offered per program by the partner API (`GET /api/v1/slots/?program=…`).
A Slot names no patient; its Appointment does.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from apps.fhir import codes
from apps.fhir.resources.base import Json, checked, compact, iso, meta, reference

if TYPE_CHECKING:
    from apps.clinics import models as clinic_models
    from apps.scheduling import models as scheduling_models

# Our states → R4 AppointmentStatus. `checked-in`, not `arrived`: the front desk has checked the
# patient in, which is what R4 means by it.
APPOINTMENT_STATUS = {
    "booked": "booked",
    "checked_in": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
LIVE = frozenset({"booked", "checked_in"})  # the states that hold the machine: a busy Slot
BUSY = "busy"


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def appointment_resource(appointment: scheduling_models.Appointment) -> Json:
    """The patient booked at the clinic on a machine (the Schedule extension) for one slot.

    The program is its supporting information (R4 `basedOn` allows ServiceRequest only).
    """
    status = APPOINTMENT_STATUS[appointment.state]
    return compact(
        {
            "resourceType": "Appointment",
            "id": str(appointment.pk),
            "meta": meta(appointment.updated_at),
            "extension": [
                {"url": codes.SCHEDULE_EXTENSION, "valueReference": reference("Schedule", appointment.machine_id)}
            ],
            "status": checked(status, codes.APPOINTMENT_STATUS, "Appointment.status"),
            "cancelationReason": {"text": appointment.cancel_reason} if appointment.cancel_reason else None,
            "supportingInformation": [reference("CarePlan", appointment.program_id)],
            "start": iso(appointment.starts_at),
            "end": iso(appointment.ends_at),
            "minutesDuration": _minutes(appointment.starts_at, appointment.ends_at),
            "slot": [reference("Slot", appointment.pk)] if appointment.state in LIVE else None,
            "created": iso(appointment.created_at),
            "participant": [
                {"actor": reference("Patient", appointment.patient_id), "required": "required", "status": "accepted"},
                {"actor": reference("Location", appointment.clinic_id), "required": "required", "status": "accepted"},
            ],
        }
    )


def slot_resource(appointment: scheduling_models.Appointment) -> Json:
    """The time a live appointment holds on its machine (the Schedule): busy, and nothing of the patient."""
    return compact(
        {
            "resourceType": "Slot",
            "id": str(appointment.pk),
            "meta": meta(appointment.updated_at),
            "schedule": reference("Schedule", appointment.machine_id),
            "status": checked(BUSY, codes.SLOT_STATUS, "Slot.status"),
            "start": iso(appointment.starts_at),
            "end": iso(appointment.ends_at),
        }
    )


def schedule_resource(machine: clinic_models.Machine) -> Json:
    """One machine's calendar at its clinic. No `meta.lastUpdated`: machines have no update timestamp."""
    return compact(
        {
            "resourceType": "Schedule",
            "id": str(machine.pk),
            "active": machine.is_active,
            "serviceType": [{"text": f"{machine.get_kind_display()} strength training"}],
            "actor": [reference("Location", machine.clinic_id)],
            "comment": machine.name,
        }
    )
