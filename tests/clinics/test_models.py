from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.clinics.models import Clinic, MachineKind
from tests import factories


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "PST", "america/los_angeles", "UTC+2", " Europe/London"])
def test_full_clean_refuses_a_clinic_time_zone_that_is_not_iana(organization, zone):
    clinic = Clinic(organization=organization, name="Clinic Z", timezone=zone)

    with pytest.raises(ValidationError) as refused:
        clinic.full_clean()
    assert set(refused.value.message_dict) == {"timezone"}


@pytest.mark.parametrize("zone", ["Europe/London", "America/Chicago", "Asia/Kolkata", "UTC"])
def test_full_clean_accepts_an_iana_time_zone(organization, zone):
    Clinic(organization=organization, name="Clinic Z", timezone=zone).full_clean()


def test_the_database_refuses_a_clinic_without_a_time_zone(organization):
    with pytest.raises(IntegrityError, match="clinic_timezone_required"):
        Clinic.objects.create(organization=organization, name="Clinic Z", timezone="")


def test_the_database_refuses_two_clinics_of_one_name_in_an_organization(clinic_a):
    with pytest.raises(IntegrityError, match="clinic_name_unique_in_organization"):
        factories.ClinicFactory(organization=clinic_a.organization, name=clinic_a.name)


def test_full_clean_refuses_a_duplicate_clinic_name_in_an_organization(clinic_a):
    twin = Clinic(organization=clinic_a.organization, name=clinic_a.name, timezone="Europe/London")

    with pytest.raises(ValidationError):
        twin.full_clean()


def test_the_same_clinic_name_is_allowed_in_another_organization(clinic_a, other_organization):
    factories.ClinicFactory(organization=other_organization, name=clinic_a.name)

    assert Clinic.objects.filter(name=clinic_a.name).count() == 2


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"rom_min_deg": 72, "rom_max_deg": 0}, "machine_rom_ordered"),
        ({"rom_min_deg": 30, "rom_max_deg": 30}, "machine_rom_ordered"),
        ({"load_increment": Decimal("0")}, "machine_increment_positive"),
        ({"load_increment": Decimal("-1")}, "machine_increment_positive"),
        ({"min_load": Decimal("600"), "max_load": Decimal("600")}, "machine_load_range_ordered"),
        ({"min_load": Decimal("-5")}, "machine_load_range_ordered"),
    ],
)
def test_the_database_refuses_an_inconsistent_machine(clinic_a, changes, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        factories.MachineFactory(clinic=clinic_a, **changes)


def test_the_database_refuses_a_serial_number_twice_in_one_clinic(clinic_a, clinic_b):
    factories.MachineFactory(clinic=clinic_a, serial_number="SN-1")
    factories.MachineFactory(clinic=clinic_b, serial_number="SN-1")  # another clinic may reuse it

    with pytest.raises(IntegrityError, match="machine_serial_unique_in_clinic"):
        factories.MachineFactory(clinic=clinic_a, serial_number="SN-1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rom_min_deg": 72, "rom_max_deg": 0}, "__all__"),
        ({"load_increment": Decimal("0")}, "load_increment"),
        ({"test_angles": [72, 60, 84]}, "test_angles"),
        ({"rom_min_deg": 12, "test_angles": [72, 36, 0]}, "test_angles"),
        ({"test_angles": [72, 60, 60, 0]}, "test_angles"),
        ({"test_angles": []}, "test_angles"),
        ({"test_angles": "72,60"}, "test_angles"),
        ({"test_angles": [72, 60.5]}, "test_angles"),
        ({"test_angles": [72, True, 0]}, "test_angles"),
        ({"max_load": Decimal("600.5")}, "max_load"),
    ],
)
def test_full_clean_refuses_an_inconsistent_machine(clinic_a, changes, field):
    machine = factories.MachineFactory.build(clinic=clinic_a, **changes)

    with pytest.raises(ValidationError) as refused:
        machine.full_clean()
    assert field in refused.value.message_dict


def test_full_clean_accepts_the_standard_machines_and_orders_their_angles_from_the_extension_limit(clinic_a):
    lumbar = factories.MachineFactory.build(clinic=clinic_a, test_angles=[0, 36, 72, 12])
    cervical = factories.MachineFactory.build(clinic=clinic_a, kind=MachineKind.CERVICAL_EXTENSION)

    lumbar.full_clean()
    cervical.full_clean()

    assert lumbar.test_angles == [72, 36, 12, 0]
    assert cervical.test_angles == [126, 108, 90, 72, 54, 36, 18, 0]


def test_the_same_user_cannot_be_a_member_of_one_clinic_twice(clinician_a, clinic_a):
    with transaction.atomic(), pytest.raises(IntegrityError, match="membership_unique_user_clinic"):
        factories.MembershipFactory(user=clinician_a, clinic=clinic_a, role="physician")
