"""The fixed cast every test can use.

Organization `acme` has clinic A (America/Los_Angeles) and clinic B (America/New_York);
organization `other` has clinic C. `clinician_a` works at A only, `clinician_b` at B only and must
see nothing of A; `org_admin` administers every clinic of acme; `outsider` of the other
organization must see nothing of acme at all.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_scopes import scopes_disabled

from tests import auth, factories


@pytest.fixture(autouse=True)
def _unscoped_test_code():
    # Test code builds rows for every clinic; requests made through the client still run inside
    # the scope the middleware activates for the signed-in user.
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth's sign-in rate limits and DRF's throttles count in the (test-private) cache: one
    # test's sign-ins must not use up the next one's allowance.
    cache.clear()


@pytest.fixture
def signed_in(client):
    """`signed_in(user)`: the test client, logged in as that user; admins have passed the second
    factor (see tests/auth.py)."""

    def sign_in(user):
        return auth.sign_in(client, user)

    return sign_in


@pytest.fixture
def organization(db):
    return factories.OrganizationFactory(name="Acme Spine", slug="acme")


@pytest.fixture
def other_organization(db):
    return factories.OrganizationFactory(name="Other Spine", slug="other")


@pytest.fixture
def clinic_a(organization):
    return factories.ClinicFactory(organization=organization, name="Clinic A", timezone="America/Los_Angeles")


@pytest.fixture
def clinic_b(organization):
    return factories.ClinicFactory(organization=organization, name="Clinic B", timezone="America/New_York")


@pytest.fixture
def clinic_c(other_organization):
    return factories.ClinicFactory(organization=other_organization, name="Clinic C", timezone="Europe/London")


@pytest.fixture
def clinician_a(clinic_a):
    return factories.StaffFactory(username="clinician_a", clinic=clinic_a, role="physical_therapist")


@pytest.fixture
def clinician_b(clinic_b):
    return factories.StaffFactory(username="clinician_b", clinic=clinic_b, role="physical_therapist")


@pytest.fixture
def physician_a(clinic_a):
    return factories.StaffFactory(username="physician_a", clinic=clinic_a, role="physician")


@pytest.fixture
def clinic_admin_a(clinic_a):
    return factories.StaffFactory(username="clinic_admin_a", clinic=clinic_a, role="clinic_admin")


@pytest.fixture
def org_admin(organization):
    return factories.OrganizationAdminFactory(organization=organization, user__username="org_admin").user


@pytest.fixture
def outsider(clinic_c):
    return factories.StaffFactory(username="outsider", clinic=clinic_c, role="clinic_admin")


@pytest.fixture
def patient_a(clinic_a):
    return factories.PatientFactory(clinic=clinic_a, family_name="Alvarez", given_name="Ana", mrn="A-0001")


@pytest.fixture
def patient_b(clinic_b):
    return factories.PatientFactory(clinic=clinic_b, family_name="Brennan", given_name="Bo", mrn="B-0001")


@pytest.fixture
def patient_c(clinic_c):
    return factories.PatientFactory(clinic=clinic_c, family_name="Castillo", given_name="Cy", mrn="C-0001")


@pytest.fixture
def superuser(db):
    return factories.UserFactory(username="root", is_superuser=True)


def pytest_terminal_summary(terminalreporter):
    from tests.audit_coverage import AuditCoverageMiddleware as coverage
    from tests.schema_conformance import SchemaConformanceMiddleware as conformance

    terminalreporter.write_line(
        f"schema conformance: {conformance.checked} API answers matched the published schema "
        "(status and body; a mismatch fails the test that made the request)"
    )
    terminalreporter.write_line(
        f"audit coverage: {coverage.checked} answers showed {coverage.patients_seen} patients, "
        "each with its audit event (a missing one fails the test that made the request)"
    )
