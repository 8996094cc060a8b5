from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.patients.models import Patient
from tests import factories


def test_the_database_refuses_an_mrn_twice_in_one_organization(patient_a, clinic_b):
    with pytest.raises(IntegrityError, match="patient_mrn_unique_in_organization"):
        factories.PatientFactory(clinic=clinic_b, mrn=patient_a.mrn)


def test_the_database_allows_the_same_mrn_in_another_organization(patient_a, clinic_c):
    factories.PatientFactory(clinic=clinic_c, mrn=patient_a.mrn)

    assert Patient.objects.filter(mrn=patient_a.mrn).count() == 2


def test_the_database_refuses_an_empty_mrn(clinic_a):
    with pytest.raises(IntegrityError, match="patient_mrn_required"):
        factories.PatientFactory(clinic=clinic_a, mrn="")


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"height_cm": 99}, "patient_height_plausible"),
        ({"height_cm": 231}, "patient_height_plausible"),
        ({"body_mass_kg": Decimal("19.9")}, "patient_mass_plausible"),
        ({"body_mass_kg": Decimal("300.1")}, "patient_mass_plausible"),
    ],
)
def test_the_database_refuses_an_implausible_body(clinic_a, changes, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        factories.PatientFactory(clinic=clinic_a, **changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"height_cm": 99}, "height_cm"),
        ({"height_cm": 231}, "height_cm"),
        ({"body_mass_kg": Decimal("19.9")}, "body_mass_kg"),
        ({"body_mass_kg": Decimal("300.1")}, "body_mass_kg"),
    ],
)
def test_full_clean_refuses_an_implausible_body(clinic_a, changes, field):
    patient = factories.PatientFactory.build(clinic=clinic_a, **changes)

    with pytest.raises(ValidationError) as refused:
        patient.full_clean()
    assert set(refused.value.message_dict) == {field}


@pytest.mark.parametrize(
    "changes",
    [
        {"height_cm": 100, "body_mass_kg": Decimal("20")},
        {"height_cm": 230, "body_mass_kg": Decimal("300")},
        {"height_cm": None, "body_mass_kg": None},
    ],
)
def test_the_limits_of_a_plausible_body_are_allowed(clinic_a, changes):
    patient = factories.PatientFactory(clinic=clinic_a, **changes)

    patient.full_clean()


def test_a_deletion_must_name_who_deleted(patient_a):
    with pytest.raises(IntegrityError, match="patient_deletion_has_actor"):
        Patient.objects.filter(pk=patient_a.pk).update(deleted_at=patient_a.created_at)


@pytest.mark.parametrize(
    ("day", "age"),
    [(date(2020, 3, 14), 50), (date(2020, 3, 15), 50), (date(2020, 3, 13), 49), (date(1971, 3, 14), 1)],
)
def test_age_on_counts_whole_years_to_the_birthday(day, age):
    assert Patient(birth_date=date(1970, 3, 14)).age_on(day) == age


@pytest.mark.parametrize(
    ("changes", "may"),
    [
        ({}, True),
        ({"email": ""}, False),
        ({"email_reminder_consent": False}, False),
        ({"unsubscribed_at": "set"}, False),
        ({"deceased_on": date(2024, 1, 1)}, False),
        ({"deleted_at": "set"}, False),
    ],
)
def test_only_a_consenting_reachable_living_patient_may_receive_reminders(changes, may):
    values = {name: (date(2024, 1, 1) if value == "set" else value) for name, value in changes.items()}
    patient = Patient(**{"email": "p@example.test", "email_reminder_consent": True, **values})

    assert patient.may_receive_email_reminders is may


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("Alvarez", True),
        ("alvar", True),
        ("ana", True),
        ("A-0001", True),
        ("a-0001", True),
        ("A-000", False),
        ("1970-05-17", True),
        ("1970-05-18", False),
        ("  ", True),
        ("Brennan", False),
    ],
)
def test_search_finds_a_patient_by_name_exact_mrn_or_birth_date(clinic_a, term, found):
    patient = factories.PatientFactory(
        clinic=clinic_a, family_name="Alvarez", given_name="Ana", mrn="A-0001", birth_date=date(1970, 5, 17)
    )

    assert (patient in Patient.objects.search(term)) is found
