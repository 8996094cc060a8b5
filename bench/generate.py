"""A generated clinic for benchmarks: one organization, one clinic, N patients, fixed seed.

Idempotent: an organization `bench-<N>` that already holds N patients is left as it is; one that
holds fewer gets the missing ones (the same MRNs and names a fresh run would make).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django_scopes import scopes_disabled

SEED = 20_000
BATCH = 2_000
GIVEN = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karla", "Lukas"]
FAMILY = ["Meyer", "Schmidt", "Novak", "Rossi", "Dubois", "Jansen", "Larsen", "Silva", "Kowalski", "Horvat"]
SEXES = ["female", "male", "other", "unknown"]


@dataclass(frozen=True)
class Clinic:
    organization_id: int
    clinic_id: int
    patients: int
    created: int
    seconds: float


def _patient_fields(index: int, rng: random.Random) -> dict:
    return {
        "mrn": f"B{index:08d}",
        "given_name": rng.choice(GIVEN),
        "family_name": f"{rng.choice(FAMILY)}-{index % 997}",
        "birth_date": date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30_000)),
        "sex": rng.choice(SEXES),
        "height_cm": rng.randrange(150, 200),
        "body_mass_kg": Decimal(rng.randrange(450, 1200)) / 10,
        "email": f"patient{index}@bench.test",
        "phone": f"+41 79 {index:07d}",
        "email_reminder_consent": index % 3 == 0,
    }


def generate(patients: int = 20_000, *, log=print) -> Clinic:
    """Create (or complete) the benchmark clinic; returns its ids and what was created."""
    from apps.clinics.models import Clinic as ClinicModel
    from apps.clinics.models import Organization
    from apps.patients.models import Patient

    started = time.perf_counter()
    with scopes_disabled():
        organization, _ = Organization.objects.get_or_create(
            slug=f"bench-{patients}", defaults={"name": f"Benchmark clinic group ({patients} patients)"}
        )
        clinic, _ = ClinicModel.objects.get_or_create(
            organization=organization, name="Benchmark clinic", defaults={"timezone": "Europe/Zurich"}
        )
        existing = Patient.objects.filter(organization=organization).count()
        rng = random.Random(SEED)  # noqa: S311 - fixed-seed test data, not a secret
        # Draw the fields of the rows that exist too, so row i is the same whatever run made it.
        fields = [_patient_fields(i, rng) for i in range(patients)]
        for start in range(existing, patients, BATCH):
            rows = [
                Patient(organization=organization, clinic=clinic, **fields[i])
                for i in range(start, min(start + BATCH, patients))
            ]
            with transaction.atomic():
                Patient.objects.bulk_create(rows)
            log(f"  patients {start + len(rows):>7}/{patients}")
    # Fresh statistics, as autovacuum would have them on a live database: without them the planner
    # takes the bulk-loaded table for empty and picks plans no production clinic would get.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Patient._meta.db_table}")
    seconds = time.perf_counter() - started
    return Clinic(organization.pk, clinic.pk, patients, max(patients - existing, 0), seconds)
