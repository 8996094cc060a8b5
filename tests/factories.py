"""factory_boy factories for every model; also used by `seed_demo`'s tests and the scale generator."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from apps.clinics.models import (
    MACHINE_DEFAULTS,
    Clinic,
    Machine,
    MachineKind,
    Membership,
    Organization,
    OrganizationAdmin,
)
from apps.patients.models import Patient, Sex

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class ClinicFactory(DjangoModelFactory):
    class Meta:
        model = Clinic

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "America/Los_Angeles"
    city = "San Diego"
    country = "US"


class MachineFactory(DjangoModelFactory):
    class Meta:
        model = Machine

    clinic = factory.SubFactory(ClinicFactory)
    kind = MachineKind.LUMBAR_EXTENSION
    name = factory.LazyAttribute(lambda m: f"{m.kind.replace('_', ' ').title()}")
    serial_number = factory.Sequence(lambda n: f"SN-{n:05d}")
    rom_min_deg = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["rom_min_deg"])
    rom_max_deg = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["rom_max_deg"])
    load_unit = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["load_unit"])
    load_increment = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["load_increment"])
    max_load = factory.LazyAttribute(lambda m: 600 if m.kind == MachineKind.LUMBAR_EXTENSION else 900)
    test_angles = factory.LazyAttribute(lambda m: list(MACHINE_DEFAULTS[m.kind]["test_angles"]))


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_staff = True
    password = factory.django.Password(PASSWORD)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = "physical_therapist"


class StaffFactory(UserFactory):
    """A user with one membership: `StaffFactory(clinic=..., role=...)`."""

    class Params:
        clinic = factory.SubFactory(ClinicFactory)
        role = "physical_therapist"

    membership = factory.RelatedFactory(
        MembershipFactory,
        factory_related_name="user",
        clinic=factory.SelfAttribute("..clinic"),
        role=factory.SelfAttribute("..role"),
    )


class OrganizationAdminFactory(DjangoModelFactory):
    class Meta:
        model = OrganizationAdmin

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    organization = factory.SelfAttribute("clinic.organization")
    mrn = factory.Sequence(lambda n: f"MRN-{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = factory.Faker("date_between", start_date=dt.date(1945, 1, 1), end_date=dt.date(2000, 12, 31))
    sex = factory.Iterator([Sex.FEMALE, Sex.MALE])
    height_cm = 172
    body_mass_kg = 78
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}.{p.family_name.lower()}@example.test")
    email_reminder_consent = True
