"""The demo organization, one small function per entity.

Every function creates what is missing and leaves what exists alone (no updates, no password
resets), so `seed_demo` can run on every start. Run it inside `scopes_disabled()` and one
transaction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from faker import Faker

from apps.audit.events import SYSTEM
from apps.clinics.access import ORGANIZATION_ADMIN
from apps.clinics.models import (
    MACHINE_DEFAULTS,
    Clinic,
    Machine,
    MachineKind,
    Membership,
    Organization,
    OrganizationAdmin,
    Role,
)
from apps.partners.models import Partner
from apps.patients.models import Patient, RedFlagScreen, Region, Sex
from apps.patients.screening import ITEMS_BY_REGION
from apps.patients.services import patient_create, red_flag_screen_record

ORGANIZATION_NAME = "SpineZone Demo"
ORGANIZATION_SLUG = "demo"
DEFAULT_PASSWORD = "spinezone-demo-2026"  # noqa: S105 -- the published demo password (README)
FAKER_SEED = 2026
PATIENTS_PER_CLINIC = 24
# One patient with a positive item: `refer`, awaiting physician review.
REFER_PATIENT = ("LJ-000005", "history_of_cancer")


@dataclass(frozen=True)
class ClinicSpec:
    code: str  # prefix of usernames, machine serials and MRNs
    name: str
    timezone: str
    address_line: str
    city: str
    postal_code: str
    area_code: str


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: str  # a clinic Role, or ORGANIZATION_ADMIN
    clinic_code: str | None = None


@dataclass(frozen=True)
class PatientSpec:
    clinic_code: str
    mrn: str
    region: str  # of the red-flag screen, and later of the program
    fields: dict[str, Any]


CLINICS = [
    ClinicSpec(
        code="lj",
        name="SpineZone La Jolla",
        timezone="America/Los_Angeles",
        address_line="9850 Genesee Avenue, Suite 400",
        city="La Jolla",
        postal_code="92037",
        area_code="858",
    ),
    ClinicSpec(
        code="chi",
        name="SpineZone Chicago Loop",
        timezone="America/Chicago",
        address_line="55 East Monroe Street, Suite 1200",
        city="Chicago",
        postal_code="60603",
        area_code="312",
    ),
]

STAFF = [
    StaffSpec("lj.physician", "Maya", "Okafor", Role.PHYSICIAN, "lj"),
    StaffSpec("lj.pa", "Daniel", "Reyes", Role.PHYSICIAN_ASSISTANT, "lj"),
    StaffSpec("lj.therapist", "Priya", "Raman", Role.PHYSICAL_THERAPIST, "lj"),
    StaffSpec("lj.physiologist", "Tom", "Becker", Role.EXERCISE_PHYSIOLOGIST, "lj"),
    StaffSpec("lj.frontdesk", "Lena", "Park", Role.FRONT_DESK, "lj"),
    StaffSpec("lj.admin", "Grace", "Holloway", Role.CLINIC_ADMIN, "lj"),
    StaffSpec("chi.physician", "Samuel", "Adeyemi", Role.PHYSICIAN, "chi"),
    StaffSpec("chi.therapist", "Hannah", "Kowalski", Role.PHYSICAL_THERAPIST, "chi"),
    StaffSpec("org.admin", "Alex", "Morgan", ORGANIZATION_ADMIN),
]

# Plausible top of the weight stack, a multiple of each kind's increment (1 ft·lbf, 3 in·lbf).
MACHINE_MAX_LOAD = {MachineKind.LUMBAR_EXTENSION: Decimal("600"), MachineKind.CERVICAL_EXTENSION: Decimal("900")}
MACHINE_SERIAL_PART = {MachineKind.LUMBAR_EXTENSION: "LUM", MachineKind.CERVICAL_EXTENSION: "CER"}


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    clinic: str
    password: str  # empty when the user already existed: its password was left alone


def _get_or_create(model: type[models.Model], lookup: dict[str, Any], **defaults: Any) -> tuple[Any, bool]:
    """The row matching `lookup`, untouched; else a new, fully validated one."""
    existing = model._default_manager.filter(**lookup).first()
    if existing is not None:
        return existing, False
    row = model(**lookup, **defaults)
    row.full_clean()
    row.save()
    return row, True


def seed_organization() -> Organization:
    organization, _ = _get_or_create(Organization, {"slug": ORGANIZATION_SLUG}, name=ORGANIZATION_NAME)
    return organization


def seed_clinics(organization: Organization) -> dict[str, Clinic]:
    """{clinic code: clinic}, in CLINICS order."""
    return {spec.code: _seed_clinic(organization, spec) for spec in CLINICS}


def _seed_clinic(organization: Organization, spec: ClinicSpec) -> Clinic:
    clinic, _ = _get_or_create(
        Clinic,
        {"organization": organization, "name": spec.name},
        email_display_name=spec.name,
        reply_to_email=f"{spec.city.lower().replace(' ', '')}@example.org",
        address_line=spec.address_line,
        city=spec.city,
        postal_code=spec.postal_code,
        country="US",
        phone=f"+1 {spec.area_code} 555 0100",
        timezone=spec.timezone,
        quiet_hours_start=time(21, 0),
        quiet_hours_end=time(8, 0),
    )
    return clinic


DEMO_PARTNER = "Demo EHR"


def seed_partner(organization: Organization, clinics: dict[str, Clinic]) -> Partner:
    """A referring EHR granted La Jolla only, to try the API (and its 404s) with a token."""
    partner, created = _get_or_create(
        Partner, {"organization": organization, "name": DEMO_PARTNER}, contact_email="it@ehr.example.org"
    )
    if created:
        partner.clinics.set([clinics["lj"]])
    return partner


def seed_machines(clinics: dict[str, Clinic]) -> list[Machine]:
    return [_seed_machine(clinic, code, kind) for code, clinic in clinics.items() for kind in MachineKind]


def _seed_machine(clinic: Clinic, code: str, kind: MachineKind) -> Machine:
    defaults = MACHINE_DEFAULTS[kind]
    machine, _ = _get_or_create(
        Machine,
        {"clinic": clinic, "serial_number": f"{code.upper()}-{MACHINE_SERIAL_PART[kind]}-001"},
        kind=kind,
        name=kind.label,
        rom_min_deg=defaults["rom_min_deg"],
        rom_max_deg=defaults["rom_max_deg"],
        load_unit=defaults["load_unit"],
        load_increment=defaults["load_increment"],
        max_load=MACHINE_MAX_LOAD[kind],
        test_angles=list(defaults["test_angles"]),
    )
    return machine


def seed_staff(organization: Organization, clinics: dict[str, Clinic], password: str) -> list[Login]:
    return [_seed_staff_member(organization, clinics, spec, password) for spec in STAFF]


def _seed_staff_member(organization: Organization, clinics: dict[str, Clinic], spec: StaffSpec, password: str) -> Login:
    user, created = _seed_user(spec, password)
    if spec.clinic_code is None:
        _get_or_create(OrganizationAdmin, {"user": user, "organization": organization})
        where, role = f"all clinics of {organization.name}", "Organization admin"
    else:
        clinic = clinics[spec.clinic_code]
        _get_or_create(Membership, {"user": user, "clinic": clinic}, role=spec.role)
        where, role = clinic.name, Role(spec.role).label
    return Login(spec.username, role, where, password if created else "")


def _seed_user(spec: StaffSpec, password: str) -> tuple[Any, bool]:
    user_model = get_user_model()
    user = user_model._default_manager.filter(username=spec.username).first()
    if user is not None:
        return user, False
    user = user_model(
        username=spec.username,
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=f"{spec.username}@example.org",
        is_staff=True,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    return user, True


def screeners() -> dict[str, Any]:
    """{clinic code: the clinician who screens its patients}: the clinic's physical therapist."""
    usernames = {spec.clinic_code: spec.username for spec in STAFF if spec.role == Role.PHYSICAL_THERAPIST}
    users = get_user_model()._default_manager.in_bulk(usernames.values(), field_name="username")
    return {code: users[username] for code, username in usernames.items()}


def patient_specs(clinic_spec: ClinicSpec) -> list[PatientSpec]:
    faker = Faker("en_US")
    return [_patient_spec(faker, clinic_spec, number) for number in range(1, PATIENTS_PER_CLINIC + 1)]


def _patient_spec(faker: Faker, clinic_spec: ClinicSpec, number: int) -> PatientSpec:
    mrn = f"{clinic_spec.code.upper()}-{number:06d}"
    # Seeded per patient: each one's data depends on its MRN only, not on who else exists.
    faker.seed_instance(f"{FAKER_SEED}:{mrn}")
    rng = faker.random
    region = Region.CERVICAL if number % 3 == 0 else Region.LUMBAR
    sex = rng.choice([Sex.FEMALE, Sex.MALE])
    given_name = faker.first_name_female() if sex == Sex.FEMALE else faker.first_name_male()
    family_name = faker.last_name()
    low_height, high_height, low_mass, high_mass = (150, 180, 50, 95) if sex == Sex.FEMALE else (162, 195, 60, 110)
    fields = {
        "mrn": mrn,
        "given_name": given_name,
        "family_name": family_name,
        "birth_date": faker.date_between_dates(*_birth_date_range(region)),
        "sex": sex,
        "height_cm": rng.randint(low_height, high_height),
        "body_mass_kg": Decimal(rng.randint(low_mass * 10, high_mass * 10)) / 10,
        "email": f"{_ascii(given_name)}.{_ascii(family_name)}@example.org",
        "phone": f"+1 {clinic_spec.area_code} 555 01{number:02d}",  # 555-0100..0199: fictional numbers
        "preferred_language": "es" if number % 6 == 0 else "en",
        "email_reminder_consent": number % 8 != 0,
    }
    return PatientSpec(clinic_spec.code, mrn, region, fields)


def _birth_date_range(region: str) -> tuple[date, date]:
    # "Age over 50 or under 20" is a lumbar red flag; lumbar patients are born so that their
    # all-clear screen stays truthful for years. The cervical screen has no age item.
    return (date(1980, 1, 1), date(2000, 12, 31)) if region == Region.LUMBAR else (date(1956, 1, 1), date(2000, 12, 31))


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())


def seed_patients(organization: Organization, clinics: dict[str, Clinic]) -> list[tuple[PatientSpec, Patient]]:
    """Creates the missing patients through the service (so each has its audit event)."""
    specs = [spec for clinic_spec in CLINICS for spec in patient_specs(clinic_spec)]
    existing = Patient.objects.filter(organization=organization, mrn__in=[spec.mrn for spec in specs])
    by_mrn = {patient.mrn: patient for patient in existing}
    for spec in specs:
        if spec.mrn not in by_mrn:
            by_mrn[spec.mrn] = patient_create(actor=SYSTEM, clinic=clinics[spec.clinic_code], **spec.fields)
    return [(spec, by_mrn[spec.mrn]) for spec in specs]


def seed_screens(patients: Iterable[tuple[PatientSpec, Patient]], screeners: dict[str, Any]) -> None:
    """A red-flag screen for each patient who has none, by the clinic's `screeners[code]`."""
    patients = list(patients)
    screened = set(
        RedFlagScreen.objects.filter(patient__in=[patient for _, patient in patients]).values_list(
            "patient_id", flat=True
        )
    )
    for spec, patient in patients:
        if patient.pk not in screened:
            red_flag_screen_record(
                actor=screeners[spec.clinic_code], patient=patient, region=spec.region, answers=screen_answers(spec)
            )


def screen_answers(spec: PatientSpec) -> dict[str, bool]:
    answers = dict.fromkeys(ITEMS_BY_REGION[spec.region], False)
    refer_mrn, positive_item = REFER_PATIENT
    if spec.mrn == refer_mrn:
        answers[positive_item] = True
    return answers


def demo_counts() -> dict[str, int]:
    """How many demo rows exist now, by kind (all zero before the first run)."""
    in_demo = {"organization__slug": ORGANIZATION_SLUG}
    return {
        "clinics": Clinic.objects.filter(**in_demo).count(),
        "machines": Machine.objects.filter(clinic__organization__slug=ORGANIZATION_SLUG).count(),
        "staff users": get_user_model()._default_manager.filter(username__in=[s.username for s in STAFF]).count(),
        "patients": Patient.objects.filter(**in_demo).count(),
        "red-flag screens": RedFlagScreen.objects.filter(patient__organization__slug=ORGANIZATION_SLUG).count(),
        "partner systems": Partner.objects.filter(**in_demo).count(),
    }


def screens_awaiting_review() -> int:
    return RedFlagScreen.objects.filter(patient__organization__slug=ORGANIZATION_SLUG).awaiting_review().count()
