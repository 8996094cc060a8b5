"""FHIR Device: the extension machines of the principal's clinics (the machine a Schedule is the calendar of).

Read by id (the machine's) and searched by `identifier` (the serial number: `<serial system>|<serial>`
or the serial alone), `type` (the machine kind), `status` (active | inactive), `location`
(`Location/<clinic id>`), `device-name` (a string: starts-with, `:exact`, `:contains`) and `_id`. Every
match of a search is listed in the machines' fixed order and paged by offset (a clinic has a handful of
machines). Machines hold no patient data: not audited, like Location and Schedule.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.clinics.access import machines_for_user
from apps.clinics.models import MachineKind
from apps.fhir import codes, mapping, reads
from apps.fhir.mapping import Json
from apps.fhir.matching import NOTHING, Token, every, field_in, int_ids, local_ids, string_filters, token_filter, tokens
from apps.fhir.resources.administrative import DEVICE_FIELDS

DEVICE_STATUS_SYSTEM = "http://hl7.org/fhir/device-status"
KIND_CODES = {(codes.MACHINE_KIND_SYSTEM, kind.replace("_", "-")): kind for kind in MachineKind.values}
STATUS_CODES = {(DEVICE_STATUS_SYSTEM, "active"): True, (DEVICE_STATUS_SYSTEM, "inactive"): False}


def devices(user: Any) -> QuerySet:
    return machines_for_user(user).select_related("clinic").only(*DEVICE_FIELDS).order_by("clinic_id", "name", "pk")


def read_device(user: Any, pk: str) -> tuple[Json, None]:
    try:
        key = int(pk)
    except ValueError:
        raise Http404 from None
    return mapping.device_resource(reads.one(devices(user), key)), None


def device_listing(user: Any, condition: Q) -> list[Json]:
    return [mapping.device_resource(machine) for machine in devices(user).filter(condition)]


def _serial(token: Token) -> Q:
    if token.system not in (None, codes.MACHINE_SERIAL_SYSTEM):
        return NOTHING
    # `system|`: every serial. Not an empty Q(), which an OR with NOTHING would drop.
    return Q(serial_number=token.code) if token.code else Q(serial_number__isnull=False)


def device_identifier(values: list[str]) -> Q:
    def one(value: str) -> Q:
        condition = NOTHING
        for token in tokens(value, "identifier"):
            condition |= _serial(token)
        return condition

    return every(values, one)


def device_location(values: list[str]) -> Q:
    return every(values, lambda value: Q(clinic_id__in=local_ids(value, "Location", "location")))


DEVICE_FILTERS = {
    "_id": int_ids,
    "identifier": device_identifier,
    "type": token_filter("type", KIND_CODES, field_in("kind")),
    "status": token_filter("status", STATUS_CODES, field_in("is_active")),
    "location": device_location,
    **string_filters("device-name", ["name"]),
}
