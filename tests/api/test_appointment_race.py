# ruff: noqa: F811 (pytest fixtures imported from tests.partners.fixtures are parameters here)
"""0 double bookings over HTTP: 50 partners' requests racing for the last free slot of a machine."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit.models import Event
from apps.scheduling import booking, selectors
from apps.scheduling.models import Appointment
from tests import factories
from tests.api.test_appointments import APPOINTMENTS, bookable_program, booking_body
from tests.partners.fixtures import issue_token, partner_a, writer_a  # noqa: F401

ATTEMPTS = 50

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")


def post_all_at_once(bodies, token):
    """POST every body at once (a barrier), each thread with its own client and connection."""
    start = threading.Barrier(len(bodies))
    responses = []

    def attempt(body):
        try:
            with scopes_disabled():
                client = Client(headers={"Authorization": f"Bearer {token}"})
                start.wait()
                responses.append(client.post(APPOINTMENTS, body, content_type="application/json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


def test_fifty_requests_for_the_last_free_slot_give_one_201_and_forty_nine_409s(
    transactional_db,
    clinic_a,
    clinician_a,
    writer_a,
):
    # The clinic opens for one half hour, tomorrow: one machine, so one free slot in the horizon.
    day = (timezone.now() + timedelta(days=1)).astimezone(clinic_a.tzinfo)
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a, booking_horizon_days=3)
    factories.OpeningHoursFactory(calendar=calendar, weekday=day.weekday(), opens_at=time(9), closes_at=time(9, 30))
    machine = factories.MachineFactory(clinic=clinic_a)
    programs = [bookable_program(clinician_a, factories.PatientFactory(clinic=clinic_a)) for _ in range(ATTEMPTS)]
    offered = selectors.offer_slots(programs[0], now=timezone.now(), count=5)
    assert [slot.machine for slot in offered] == [machine.pk]  # the last free slot

    responses = post_all_at_once([booking_body(program, offered[0]) for program in programs], writer_a)

    assert sorted(response.status_code for response in responses) == [201] + [409] * (ATTEMPTS - 1)
    refusals = [response.json() for response in responses if response.status_code == 409]
    assert all(
        body == {"type": "client_error", "errors": [{"code": "conflict", "detail": booking.TAKEN, "attr": None}]}
        for body in refusals
    )
    # Nothing half-written: one row, one audit event, and both the winner's.
    (winner,) = [response.json() for response in responses if response.status_code == 201]
    assert [str(pk) for pk in Appointment.objects.values_list("pk", flat=True)] == [winner["id"]]
    assert list(Event.objects.filter(object_type="scheduling.appointment").values_list("action", "object_id")) == [
        ("create", winner["id"])
    ]
