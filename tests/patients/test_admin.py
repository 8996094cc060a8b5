"""Patient admin: failures are form errors or refusals, never a 500, and never a leak."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.urls import reverse

from apps.audit.models import Action, Event
from apps.patients import services
from apps.patients.models import Patient, RedFlagScreen, ReviewOutcome
from apps.patients.screening import LUMBAR_ITEMS
from tests import factories

ALL_CLEAR = dict.fromkeys(LUMBAR_ITEMS, False)


def change_form(patient: Patient, **changes) -> dict:
    form = {
        "clinic": patient.clinic_id,
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "height_cm": patient.height_cm or "",
        "body_mass_kg": patient.body_mass_kg or "",
        "email": patient.email,
        "phone": patient.phone,
        "preferred_language": patient.preferred_language,
        "email_reminder_consent": "on" if patient.email_reminder_consent else "",
        "deceased_on": "",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v != "" or k in {"height_cm", "body_mass_kg", "deceased_on"}}


@pytest.fixture
def admin_of_a_front_desk_of_b(clinic_a, clinic_b):
    user = factories.StaffFactory(username="mixed_roles", clinic=clinic_a, role="clinic_admin")
    factories.MembershipFactory(user=user, clinic=clinic_b, role="front_desk")
    return user


def test_bulk_delete_is_refused_when_one_patient_is_at_a_clinic_where_the_user_may_not_delete(
    signed_in, admin_of_a_front_desk_of_b, patient_a, patient_b
):
    client = signed_in(admin_of_a_front_desk_of_b)

    response = client.post(
        reverse("admin:patients_patient_changelist"),
        {"action": "delete_selected", "_selected_action": [patient_a.pk, patient_b.pk], "post": "yes"},
    )

    assert response.status_code == 403
    assert Patient.objects.filter(deleted_at__isnull=False).count() == 0
    assert not Event.objects.filter(action=Action.DELETE).exists()


def test_bulk_delete_of_patients_the_user_may_delete_soft_deletes_them(
    signed_in, admin_of_a_front_desk_of_b, patient_a
):
    client = signed_in(admin_of_a_front_desk_of_b)

    response = client.post(
        reverse("admin:patients_patient_changelist"),
        {"action": "delete_selected", "_selected_action": [patient_a.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert Patient.objects.get(pk=patient_a.pk).is_deleted


def test_moving_a_patient_to_another_organizations_clinic_is_a_form_error_not_a_500(
    signed_in, clinic_a, clinic_c, patient_a
):
    both = factories.StaffFactory(username="two_orgs", clinic=clinic_a)
    factories.MembershipFactory(user=both, clinic=clinic_c)
    client = signed_in(both)

    response = client.post(
        reverse("admin:patients_patient_change", args=[patient_a.pk]), change_form(patient_a, clinic=clinic_c.pk)
    )

    assert response.status_code == 200
    assert "same organization" in str(response.context["adminform"].form.errors["clinic"])
    assert Patient.objects.get(pk=patient_a.pk).clinic_id == patient_a.clinic_id


def test_an_mrn_differing_only_in_case_is_refused_in_the_admin(signed_in, clinician_a, patient_a, clinic_a):
    client = signed_in(clinician_a)
    response = client.post(
        reverse("admin:patients_patient_add"),
        change_form(patient_a, mrn=patient_a.mrn.lower(), family_name="Other"),
    )

    assert response.status_code == 200
    assert "mrn" in response.context["adminform"].form.errors
    assert Patient.objects.filter(organization=patient_a.organization).count() == 1


def test_the_database_refuses_an_mrn_differing_only_in_case(patient_a):
    with pytest.raises(IntegrityError):
        factories.PatientFactory(clinic=patient_a.clinic, mrn=patient_a.mrn.lower())


@pytest.fixture
def clear_screen(clinician_a, patient_a):
    return services.red_flag_screen_record(actor=clinician_a, patient=patient_a, region="lumbar", answers=ALL_CLEAR)


def test_a_clear_screen_is_read_only_in_the_admin_and_a_review_post_is_refused(signed_in, physician_a, clear_screen):
    client = signed_in(physician_a)
    url = reverse("admin:patients_redflagscreen_change", args=[clear_screen.pk])

    page = client.get(url)
    posted = client.post(url, {"review_outcome": ReviewOutcome.CLEARED, "review_note": "x"})

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert posted.status_code == 403
    assert RedFlagScreen.objects.get(pk=clear_screen.pk).reviewed_at is None


def test_a_review_without_an_outcome_is_a_form_error(signed_in, clinician_a, physician_a, patient_a):
    referred = services.red_flag_screen_record(
        actor=clinician_a, patient=patient_a, region="lumbar", answers={**ALL_CLEAR, "major_trauma": True}
    )
    client = signed_in(physician_a)

    response = client.post(
        reverse("admin:patients_redflagscreen_change", args=[referred.pk]), {"review_outcome": "", "review_note": ""}
    )

    assert response.status_code == 200
    assert "review_outcome" in response.context["adminform"].form.errors
    assert RedFlagScreen.objects.get(pk=referred.pk).reviewed_at is None


def test_a_deleted_patients_screens_leave_the_admin(signed_in, clinic_admin_a, clear_screen, patient_a):
    services.patient_delete(actor=clinic_admin_a, patient=patient_a)
    client = signed_in(clinic_admin_a)

    listing = client.get(reverse("admin:patients_redflagscreen_changelist"))
    page = client.get(reverse("admin:patients_redflagscreen_change", args=[clear_screen.pk]))

    assert patient_a.family_name not in listing.content.decode()
    assert page.status_code == 404


def test_a_clinic_admin_is_not_offered_accounts_of_no_clinic(signed_in, clinic_admin_a, clinician_b, org_admin):
    factories.UserFactory(username="unassigned_newcomer")

    as_clinic_admin = signed_in(clinic_admin_a).get(reverse("admin:clinics_membership_add")).content.decode()
    as_org_admin = signed_in(org_admin).get(reverse("admin:clinics_membership_add")).content.decode()

    assert "unassigned_newcomer" not in as_clinic_admin
    assert "clinician_b" not in as_clinic_admin
    assert "unassigned_newcomer" in as_org_admin
