"""The scheduling benchmarks (bench/appointments.py, slot_finder.py, week_view.py) run on a tiny network.

A clinic of 100 patients is generated and booked as the benchmarks book them; each benchmark's two
sides run twice and must agree (the same slots offered, the same appointments placed), and what the
seeding made is gone afterwards, so the other benchmarks read the dataset `bench.scale` made.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from apps.clinics.models import Machine
from apps.scheduling.models import Appointment, ClinicCalendar
from bench import appointments, scale, slot_finder, week_view
from bench.common import DATASET_TABLE

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database, as the benchmarks' own psycopg connections name it."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def booked():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL")
    network = scale.generate(100, seed=7, per_clinic=100, log=lambda line: None)
    seeded = appointments.seed(network.clinic_ids, network.anchor, log=lambda line: None)
    yield network, seeded
    appointments.clear(network.clinic_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {DATASET_TABLE}")


def test_the_clinic_gets_ten_machines_four_weeks_of_bookings_and_loses_them_after(booked):
    network, seeded = booked
    with scopes_disabled():
        states = set(Appointment.objects.filter(clinic_id=seeded.clinic_id).values_list("state", flat=True))
        subject_booked = Appointment.objects.filter(program_id=seeded.program_id).exists()
    assert seeded.machines == 10
    assert states == {"booked", "cancelled", "completed", "no_show"}
    assert seeded.live_in_clinic > 10 * 128 * 2  # most of four weeks of 128 slots a machine
    assert not subject_booked

    appointments.clear(network.clinic_ids)

    with scopes_disabled():
        assert not Appointment.objects.filter(clinic_id__in=network.clinic_ids).exists()
    assert not ClinicCalendar.objects.filter(clinic_id__in=network.clinic_ids).exists()
    assert Machine.objects.filter(clinic_id__in=network.clinic_ids).count() == 2  # scale's lumbar and cervical


def test_the_finder_and_its_baseline_offer_the_same_slots(booked):
    network, seeded = booked

    measured = slot_finder.measure(database_url(), seeded, network.anchor, repeat=2)

    assert len(measured["offered"]) == slot_finder.COUNT
    assert measured["figures"]["finder"]["n"] == measured["figures"]["baseline"]["n"] == 2
    assert "Execution Time" in measured["explain"]["baseline, one statement"]


def test_the_week_selector_and_its_baseline_place_the_same_appointments(booked):
    network, seeded = booked
    first = week_view.monday_of(network.anchor, scale.ZONE)

    measured = week_view.measure_selector(database_url(), seeded.clinic_id, first, repeat=2)

    assert measured["cells"] in (10 * 128, 10 * 104)  # a week of the seeded calendar (or one closed day)
    assert measured["appointments"] > 0
    assert measured["figures"]["selector"]["n"] == 2
