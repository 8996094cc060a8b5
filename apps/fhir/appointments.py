"""FHIR Appointment, Slot and Schedule: reads through the tenancy gate, search rows and parameters.

- Appointment: every appointment of the principal's patients (any state); search by `patient`,
  `date` (its start: prefixes eq, gt, ge, lt, le on a UTC date or an instant; repeatable),
  `status` (R4 codes, comma-separated for any of them) and `_lastUpdated`.
- Slot: the time each live (booked or checked-in) appointment holds on its machine, `busy`, with
  the appointment's id; search by `schedule`, `start`, `status`. Free times are offered per program
  by the partner API (`GET /api/v1/slots/`), since they follow from the program's rest window and
  due time; `status=free` matches nothing here. Read and searched as a read of the appointment
  (audited), though a Slot names no patient.
- Schedule: one per machine of the principal's clinics (id = the machine's); search by `actor`
  (`Location/<clinic id>`), every match listed in a fixed order and paged by offset (a clinic has a
  handful of machines). Machines hold no patient data: not audited, like Location.

A token or reference that names nothing the principal may see (an unknown code, another clinic's
machine, a malformed id) matches nothing: the search cannot tell "elsewhere" from "nowhere".
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.clinics.access import machines_for_user
from apps.fhir import mapping, reads, search
from apps.fhir.mapping import Json
from apps.fhir.resources.scheduling import APPOINTMENT_STATUS, BUSY
from apps.scheduling.models import LIVE_STATES, Appointment

NOTHING = Q(pk__in=[])
SLOT_FIELDS = ("machine", "starts_at", "ends_at", "state", "updated_at", "patient__organization", "patient__clinic")


def appointments(user: Any) -> QuerySet:
    return reads.records(Appointment, user)


def slots(user: Any) -> QuerySet:
    return appointments(user).filter(state__in=LIVE_STATES).only(*SLOT_FIELDS)


def machines(user: Any) -> QuerySet:
    return machines_for_user(user).order_by("clinic_id", "name", "pk")


def read_appointment(user: Any, pk: str) -> tuple[Json, Appointment]:
    appointment = reads.one(appointments(user), reads.as_uuid(pk))
    return mapping.appointment_resource(appointment), appointment


def read_slot(user: Any, pk: str) -> tuple[Json, Appointment]:
    appointment = reads.one(slots(user), reads.as_uuid(pk))
    return mapping.slot_resource(appointment), appointment


def read_schedule(user: Any, pk: str) -> tuple[Json, None]:
    try:
        key = int(pk)
    except ValueError:
        raise Http404 from None
    return mapping.schedule_resource(reads.one(machines(user), key)), None


# --- Search parameters: each a list of values → a condition on the rows ---------------------------


def _codes(values: list[str]) -> set[str]:
    return {code.strip() for code in values[0].split(",")}


def appointment_status(values: list[str]) -> Q:
    wanted = _codes(values)
    states = [state for state, code in APPOINTMENT_STATUS.items() if code in wanted]
    return Q(state__in=states) if states else NOTHING


def slot_status(values: list[str]) -> Q:
    return Q() if BUSY in _codes(values) else NOTHING


def appointment_date(values: list[str]) -> Q:
    return search.date_filter("starts_at", values, "date")


def slot_start(values: list[str]) -> Q:
    return search.date_filter("starts_at", values, "start")


def _local_id(value: str, resource_type: str) -> int | None:
    try:
        return int(value.removeprefix(f"{resource_type}/"))
    except ValueError:
        return None


def slot_schedule(values: list[str]) -> Q:
    machine_id = _local_id(values[0], "Schedule")
    return NOTHING if machine_id is None else Q(machine_id=machine_id)


def schedule_actor(values: list[str]) -> Q:
    clinic_id = _local_id(values[0], "Location")
    return NOTHING if clinic_id is None else Q(clinic_id=clinic_id)


def schedules(user: Any, condition: Q) -> list[Json]:
    """Every Schedule of the principal's machines the condition keeps (of one clinic with `actor=Location/<id>`)."""
    return [mapping.schedule_resource(machine) for machine in machines(user).filter(condition)]
