from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from apps.audit.models import Event
from apps.clinics.access import visible_clinic_ids
from apps.clinics.models import Clinic, Machine, Membership, Organization, OrganizationAdmin, Role
from apps.demo.seeding import CLINICS, patient_specs
from apps.patients.models import Patient, RedFlagScreen

User = get_user_model()
DEMO = "demo"
DEMO_USERNAMES = {
    "lj.physician",
    "lj.pa",
    "lj.therapist",
    "lj.physiologist",
    "lj.frontdesk",
    "lj.admin",
    "chi.physician",
    "chi.therapist",
    "org.admin",
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_staff_usernames() -> set[str]:
    members = Membership.objects.filter(clinic__organization__slug=DEMO).values_list("user__username", flat=True)
    admins = OrganizationAdmin.objects.filter(organization__slug=DEMO).values_list("user__username", flat=True)
    return {*members, *admins}


def snapshot() -> dict[str, list[tuple]]:
    """Key fields of every demo row, ids and update times included: a rewrite would show."""
    in_demo = {"organization__slug": DEMO}
    return {
        "organizations": sorted(Organization.objects.filter(slug=DEMO).values_list("id", "slug", "name")),
        "clinics": sorted(
            Clinic.objects.filter(**in_demo).values_list(
                "id", "name", "timezone", "address_line", "phone", "reply_to_email", "quiet_hours_start", "updated_at"
            )
        ),
        "machines": sorted(
            Machine.objects.filter(clinic__organization__slug=DEMO).values_list(
                "id", "clinic__name", "kind", "serial_number", "max_load", "test_angles"
            )
        ),
        "users": sorted(
            User.objects.filter(username__in=DEMO_USERNAMES).values_list(
                "id", "username", "password", "email", "is_staff", "is_superuser"
            )
        ),
        "memberships": sorted(
            Membership.objects.filter(clinic__organization__slug=DEMO).values_list(
                "id", "user__username", "clinic__name", "role"
            )
        ),
        "organization_admins": sorted(
            OrganizationAdmin.objects.filter(**in_demo).values_list("id", "user__username", "organization__slug")
        ),
        "patients": sorted(
            Patient.objects.filter(**in_demo).values_list(
                "id", "mrn", "clinic__name", "given_name", "family_name", "birth_date", "email", "updated_at"
            )
        ),
        "screens": sorted(
            RedFlagScreen.objects.filter(patient__organization__slug=DEMO).values_list(
                "id", "patient__mrn", "region", "result", "screened_by__username", "screened_at"
            )
        ),
        "events": sorted(
            Event.objects.filter(organization__slug=DEMO).values_list("id", "action", "object_type", "object_id")
        ),
    }


def test_running_it_twice_gives_the_same_data(db):
    seed()
    first = snapshot()

    output = seed()

    assert snapshot() == first
    assert len(first["patients"]) == len(first["screens"]) == 48
    assert "Created this run: 0 clinics, 0 machines, 0 staff users, 0 patients, 0 red-flag screens." in output
    assert "spinezone-demo-2026" not in output


@pytest.mark.parametrize("clinic", CLINICS, ids=lambda clinic: clinic.code)
def test_its_patients_depend_on_the_fixed_seed_only(clinic):
    first, again = patient_specs(clinic), patient_specs(clinic)

    assert again == first
    assert len({(spec.fields["given_name"], spec.fields["family_name"]) for spec in first}) > len(first) // 2


def test_it_sets_the_given_password_on_new_users_only(db):
    seed("--password", "another-demo-password")
    users = User.objects.filter(username__in=DEMO_USERNAMES)
    assert all(user.check_password("another-demo-password") for user in users)
    user = users.get(username="lj.therapist")
    user.set_password("my-own-password-123")
    user.save()

    seed("--password", "yet-another-demo-password")

    user.refresh_from_db()
    assert user.check_password("my-own-password-123")


@pytest.mark.parametrize("password", ["short-pass", "123456789012345"])
def test_a_refused_password_exits_with_an_error_and_creates_nothing(db, password):
    with pytest.raises(CommandError, match="--password"):
        seed("--password", password)

    assert not Organization.objects.filter(slug=DEMO).exists()
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()


@pytest.fixture(scope="class")
def seeded_output(django_db_setup, django_db_blocker):
    """One run shared by the tests that only read its data (a run takes ~0.5 s), rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


@pytest.mark.usefixtures("seeded_output", "db")
class TestOneRun:
    def test_it_creates_the_organization_clinics_machines_staff_and_patients(self):
        organization = Organization.objects.get(slug=DEMO)
        clinics = list(organization.clinics.all())

        assert organization.name == "SpineZone Demo"
        assert len({clinic.timezone for clinic in clinics}) == len(clinics) == 2
        assert Machine.objects.filter(clinic__organization=organization).count() == 4
        assert demo_staff_usernames() == DEMO_USERNAMES
        assert Patient.objects.filter(organization=organization).count() >= 40

    def test_it_gives_the_first_clinic_one_user_per_role(self):
        roles = Membership.objects.filter(clinic__name="SpineZone La Jolla").values_list("role", flat=True)

        assert sorted(roles) == sorted(Role.values)

    def test_its_staff_are_staff_users_but_not_superusers(self):
        users = User.objects.filter(username__in=DEMO_USERNAMES)

        assert {(user.is_staff, user.is_superuser) for user in users} == {(True, False)}

    def test_it_prints_the_logins(self, seeded_output):
        lines = seeded_output.splitlines()

        assert "lj.frontdesk     Front desk             SpineZone La Jolla             spinezone-demo-2026" in lines
        assert {line.split()[0] for line in lines if "spinezone-demo-2026" in line} == DEMO_USERNAMES

    def test_its_machines_follow_the_machine_defaults(self):
        for machine in Machine.objects.filter(clinic__organization__slug=DEMO):
            machine.full_clean()
            assert machine.max_load % machine.load_increment == 0

    def test_every_patient_has_a_screen_and_one_awaits_physician_review(self):
        screens = RedFlagScreen.objects.filter(patient__organization__slug=DEMO)

        assert screens.count() == Patient.objects.filter(organization__slug=DEMO).count()
        assert list(screens.awaiting_review().values_list("patient__mrn", flat=True)) == ["LJ-000005"]
        assert set(screens.values_list("result", flat=True)) == {"clear", "refer"}

    def test_the_demo_staff_of_clinic_1_are_members_of_clinic_1_only(self):
        la_jolla = Clinic.objects.get(organization__slug=DEMO, name="SpineZone La Jolla")

        for user in User.objects.filter(username__startswith="lj."):
            assert set(user.memberships.values_list("clinic", flat=True)) == {la_jolla.pk}
            assert visible_clinic_ids(user) == {la_jolla.pk}

    def test_the_organization_admin_sees_both_clinics(self):
        admin = User.objects.get(username="org.admin")

        assert visible_clinic_ids(admin) == set(
            Clinic.objects.filter(organization__slug=DEMO).values_list("pk", flat=True)
        )
        assert not admin.memberships.exists()

    def test_every_created_patient_has_a_create_audit_event(self):
        patient_ids = sorted(
            str(pk) for pk in Patient.objects.filter(organization__slug=DEMO).values_list("pk", flat=True)
        )
        events = Event.objects.filter(object_type="patients.patient", action="create", object_id__in=patient_ids)

        assert sorted(events.values_list("object_id", flat=True)) == patient_ids
        assert set(events.values_list("actor_label", "channel")) == {("system", "command")}
