from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.audit.models import Action, Event
from apps.patients import services
from apps.patients.models import Patient, RedFlagScreen, ReviewOutcome, ScreenResult
from apps.patients.screening import CERVICAL_ITEMS, LUMBAR_ITEMS
from apps.patients.selectors import access_patient, patient_get, patient_list, training_blocked
from tests import factories

NEW_PATIENT = {
    "mrn": "N-0001",
    "given_name": "Nia",
    "family_name": "Novak",
    "birth_date": date(1970, 5, 17),
    "sex": "female",
}
ALL_CLEAR = dict.fromkeys(LUMBAR_ITEMS, False)


def rows() -> tuple[int, int, int]:
    return Patient.objects.count(), RedFlagScreen.objects.count(), Event.objects.count()


@pytest.fixture
def nothing_written(db):
    """Assert the test changes no patient, screen or event count (request it after the rows it needs)."""
    before = rows()
    yield
    assert rows() == before


@pytest.fixture
def member_of_a_and_c(clinic_a, clinic_c):
    user = factories.StaffFactory(username="two_orgs", clinic=clinic_a)
    factories.MembershipFactory(user=user, clinic=clinic_c)
    return user


@pytest.fixture
def physician_b(clinic_b):
    return factories.StaffFactory(username="physician_b", clinic=clinic_b, role="physician")


def the_only_event() -> Event:
    (event,) = Event.objects.all()
    return event


# --- patient_create -------------------------------------------------------------------------------


def test_patient_create_writes_the_patient_and_one_create_event(clinician_a, clinic_a):
    patient = services.patient_create(actor=clinician_a, clinic=clinic_a, **NEW_PATIENT)

    assert (patient.clinic, patient.organization) == (clinic_a, clinic_a.organization)
    event = the_only_event()
    assert (event.action, event.actor, event.actor_label) == (Action.CREATE, clinician_a, "clinician_a")
    assert (event.clinic_id, event.organization_id, event.patient_id) == (
        clinic_a.pk,
        clinic_a.organization_id,
        patient.pk,
    )
    assert (event.object_type, event.object_id) == ("patients.patient", str(patient.pk))


def test_patient_create_stamps_the_time_of_consent(clinician_a, clinic_a):
    patient = services.patient_create(actor=clinician_a, clinic=clinic_a, email_reminder_consent=True, **NEW_PATIENT)

    assert patient.email_consent_changed_at is not None


def test_patient_create_refuses_an_mrn_used_in_the_organization(clinician_a, clinic_a, patient_a, nothing_written):
    with pytest.raises(ValidationError) as refused:
        services.patient_create(actor=clinician_a, clinic=clinic_a, **{**NEW_PATIENT, "mrn": patient_a.mrn})

    assert set(refused.value.message_dict) == {"mrn"}


@pytest.mark.parametrize("mrn", ["B-0001", "b-0001", " B-0001 "])
def test_patient_create_refuses_an_mrn_used_in_a_clinic_the_actor_cannot_see(
    clinician_a, clinic_a, patient_b, mrn, nothing_written
):
    with pytest.raises(ValidationError) as refused:
        services.patient_create(actor=clinician_a, clinic=clinic_a, **{**NEW_PATIENT, "mrn": mrn})

    assert set(refused.value.message_dict) == {"mrn"}


def test_patient_create_allows_an_mrn_used_in_another_organization(clinician_a, clinic_a, patient_c):
    patient = services.patient_create(actor=clinician_a, clinic=clinic_a, **{**NEW_PATIENT, "mrn": patient_c.mrn})

    assert Patient.objects.filter(mrn=patient_c.mrn).exclude(pk=patient.pk).get() == patient_c


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"height_cm": 99}, "height_cm"),
        ({"height_cm": 231}, "height_cm"),
        ({"body_mass_kg": 19}, "body_mass_kg"),
        ({"body_mass_kg": 301}, "body_mass_kg"),
        ({"mrn": "  "}, "mrn"),
        ({"sex": "robot"}, "sex"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_patient_create_refuses_invalid_values_and_writes_nothing(
    clinician_a, clinic_a, changes, field, nothing_written
):
    with pytest.raises(ValidationError) as refused:
        services.patient_create(actor=clinician_a, clinic=clinic_a, **{**NEW_PATIENT, **changes})

    assert field in refused.value.message_dict


@pytest.mark.parametrize("field", ["organization_id", "deleted_at", "unsubscribed_at", "id"])
def test_patient_create_refuses_fields_that_are_not_its_to_set(clinician_a, clinic_a, field, nothing_written):
    with pytest.raises(ValidationError) as refused:
        services.patient_create(actor=clinician_a, clinic=clinic_a, **NEW_PATIENT, **{field: None})

    assert set(refused.value.message_dict) == {field}


@pytest.mark.parametrize(("actor", "clinic"), [("clinician_a", "clinic_b"), ("org_admin", "clinic_c")])
def test_patient_create_is_404_in_a_clinic_the_actor_cannot_see(request, actor, clinic, nothing_written):
    with pytest.raises(Http404):
        services.patient_create(
            actor=request.getfixturevalue(actor), clinic=request.getfixturevalue(clinic), **NEW_PATIENT
        )


# --- patient_update -------------------------------------------------------------------------------


def test_patient_update_saves_the_changes_and_one_update_event(clinician_a, patient_a):
    services.patient_update(actor=clinician_a, patient=patient_a, family_name="Alvarado", height_cm=180)

    patient_a.refresh_from_db()
    assert (patient_a.family_name, patient_a.height_cm) == ("Alvarado", 180)
    event = the_only_event()
    assert (event.action, event.actor, event.clinic_id, event.patient_id, event.object_type) == (
        Action.UPDATE,
        clinician_a,
        patient_a.clinic_id,
        patient_a.pk,
        "patients.patient",
    )


def test_patient_update_stamps_a_change_of_consent_only(clinician_a, patient_a):
    services.patient_update(actor=clinician_a, patient=patient_a, email_reminder_consent=True)
    assert patient_a.email_consent_changed_at is None  # it was already given

    services.patient_update(actor=clinician_a, patient=patient_a, email_reminder_consent=False)
    assert patient_a.email_consent_changed_at is not None


def test_an_organization_admin_can_move_a_patient_between_its_clinics(org_admin, patient_a, clinic_b):
    services.patient_update(actor=org_admin, patient=patient_a, clinic=clinic_b)

    patient_a.refresh_from_db()
    assert patient_a.clinic == clinic_b
    assert the_only_event().clinic_id == clinic_b.pk


def test_patient_update_is_404_for_a_move_to_a_clinic_the_actor_cannot_see(clinician_a, patient_a, clinic_b):
    before = rows()

    with pytest.raises(Http404):
        services.patient_update(actor=clinician_a, patient=patient_a, clinic=clinic_b)

    assert rows() == before
    assert Patient.objects.get(pk=patient_a.pk).clinic_id != clinic_b.pk


def test_patient_update_refuses_a_move_to_another_organization(member_of_a_and_c, patient_a, clinic_c):
    before = rows()

    with pytest.raises(ValidationError) as refused:
        services.patient_update(actor=member_of_a_and_c, patient=patient_a, clinic=clinic_c)

    assert set(refused.value.message_dict) == {"clinic"}
    assert rows() == before
    assert Patient.objects.get(pk=patient_a.pk).clinic_id != clinic_c.pk


def test_patient_update_refuses_an_mrn_used_elsewhere_in_the_organization(clinician_a, patient_a, patient_b):
    before = rows()

    with pytest.raises(ValidationError) as refused:
        services.patient_update(actor=clinician_a, patient=patient_a, mrn=patient_b.mrn)

    assert set(refused.value.message_dict) == {"mrn"}
    assert rows() == before
    assert Patient.objects.get(pk=patient_a.pk).mrn == "A-0001"


def test_patient_update_keeps_the_patients_own_mrn(clinician_a, patient_a):
    services.patient_update(actor=clinician_a, patient=patient_a, mrn=patient_a.mrn, given_name="Anna")

    assert Patient.objects.get(pk=patient_a.pk).given_name == "Anna"


def test_patient_update_refuses_an_implausible_height_and_writes_nothing(clinician_a, patient_a, nothing_written):
    with pytest.raises(ValidationError):
        services.patient_update(actor=clinician_a, patient=patient_a, height_cm=400)

    assert Patient.objects.get(pk=patient_a.pk).height_cm == 172


# --- patient_delete -------------------------------------------------------------------------------


def test_patient_delete_keeps_the_row_and_hides_it(clinic_admin_a, patient_a):
    services.patient_delete(actor=clinic_admin_a, patient=patient_a)

    kept = Patient.objects.get(pk=patient_a.pk)
    assert (kept.is_deleted, kept.deleted_by) == (True, clinic_admin_a)
    assert patient_a not in patient_list(user=clinic_admin_a)
    with pytest.raises(Http404):
        access_patient(user=clinic_admin_a, patient_id=patient_a.pk)
    event = the_only_event()
    assert (event.action, event.actor, event.patient_id, event.clinic_id) == (
        Action.DELETE,
        clinic_admin_a,
        patient_a.pk,
        patient_a.clinic_id,
    )


def test_a_deleted_patient_is_404_to_a_second_delete_which_writes_nothing_more(clinic_admin_a, patient_a):
    services.patient_delete(actor=clinic_admin_a, patient=patient_a)
    first = Patient.objects.get(pk=patient_a.pk).deleted_at

    with pytest.raises(Http404):
        services.patient_delete(actor=clinic_admin_a, patient=Patient.objects.get(pk=patient_a.pk))

    assert Patient.objects.get(pk=patient_a.pk).deleted_at == first
    assert Event.objects.filter(action=Action.DELETE).count() == 1


# --- selectors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("patient_id", ["nonsense", "", None, "00000000-0000-0000-0000-000000000000"])
def test_access_patient_is_404_for_a_malformed_or_unknown_id(clinician_a, patient_a, patient_id):
    with pytest.raises(Http404):
        access_patient(user=clinician_a, patient_id=patient_id)


def test_access_patient_is_404_outside_the_users_clinics(clinician_b, patient_a):
    with pytest.raises(Http404):
        access_patient(user=clinician_b, patient_id=patient_a.pk)


def test_patient_get_records_one_read(clinician_a, patient_a):
    assert patient_get(user=clinician_a, patient_id=str(patient_a.pk)) == patient_a

    event = the_only_event()
    assert (event.action, event.actor, event.patient_id) == (Action.READ, clinician_a, patient_a.pk)


# --- red-flag screens -----------------------------------------------------------------------------


def test_an_all_clear_screen_is_clear_and_does_not_block_training(clinician_a, patient_a):
    screen = services.red_flag_screen_record(actor=clinician_a, patient=patient_a, region="lumbar", answers=ALL_CLEAR)

    assert screen.result == ScreenResult.CLEAR
    assert not training_blocked(patient=patient_a)
    event = the_only_event()
    assert (event.action, event.actor, event.object_type, event.object_id, event.patient_id, event.clinic_id) == (
        Action.CREATE,
        clinician_a,
        "patients.redflagscreen",
        str(screen.pk),
        patient_a.pk,
        patient_a.clinic_id,
    )


@pytest.mark.parametrize("item", ["major_trauma", "saddle_anaesthesia", "sphincter_or_motor_signs"])
def test_any_positive_item_refers_and_blocks_training(clinician_a, patient_a, item):
    screen = services.red_flag_screen_record(
        actor=clinician_a, patient=patient_a, region="lumbar", answers={**ALL_CLEAR, item: True}
    )

    assert screen.result == ScreenResult.REFER
    assert training_blocked(patient=patient_a)


def test_a_later_clear_screen_does_not_lift_the_block_only_a_physician_review_does(clinician_a, physician_a, patient_a):
    referred = services.red_flag_screen_record(
        actor=clinician_a,
        patient=patient_a,
        region="lumbar",
        answers={**ALL_CLEAR, "major_trauma": True},
        screened_at=datetime(2024, 1, 1, 9, tzinfo=UTC),
    )
    services.red_flag_screen_record(actor=clinician_a, patient=patient_a, region="lumbar", answers=ALL_CLEAR)
    assert training_blocked(patient=patient_a)

    services.red_flag_screen_review(actor=physician_a, screen=referred, outcome=ReviewOutcome.CLEARED)
    assert not training_blocked(patient=patient_a)


@pytest.mark.parametrize(
    ("region", "answers"),
    [
        ("lumbar", {code: False for code in list(LUMBAR_ITEMS)[1:]}),
        ("lumbar", {**ALL_CLEAR, "drop_attacks": False}),
        ("lumbar", {**ALL_CLEAR, "major_trauma": "no"}),
        ("lumbar", {}),
        ("cervical", ALL_CLEAR),
        ("thoracic", ALL_CLEAR),
    ],
)
def test_an_incomplete_or_unknown_screen_is_refused_and_writes_nothing(
    clinician_a, patient_a, region, answers, nothing_written
):
    with pytest.raises(ValidationError) as refused:
        services.red_flag_screen_record(actor=clinician_a, patient=patient_a, region=region, answers=answers)

    assert set(refused.value.message_dict) == {"answers"}


def test_a_cervical_screen_uses_the_cervical_items(clinician_a, patient_a):
    screen = services.red_flag_screen_record(
        actor=clinician_a, patient=patient_a, region="cervical", answers=dict.fromkeys(CERVICAL_ITEMS, False)
    )

    assert screen.result == ScreenResult.CLEAR


def test_a_screen_may_be_recorded_at_another_clinic_the_actor_works_at(clinician_a, patient_a, clinic_b):
    factories.MembershipFactory(user=clinician_a, clinic=clinic_b, role="physical_therapist")
    screen = services.red_flag_screen_record(
        actor=clinician_a, patient=patient_a, region="lumbar", answers=ALL_CLEAR, clinic=clinic_b
    )

    assert screen.clinic == clinic_b


@pytest.mark.parametrize("clinic", ["clinic_b", "clinic_c"])
def test_a_screen_is_404_at_a_clinic_the_actor_cannot_see(request, clinician_a, patient_a, clinic, nothing_written):
    with pytest.raises(Http404):
        services.red_flag_screen_record(
            actor=clinician_a,
            patient=patient_a,
            region="lumbar",
            answers=ALL_CLEAR,
            clinic=request.getfixturevalue(clinic),
        )


@pytest.fixture
def referred_screen(clinician_a, patient_a):
    screen = services.red_flag_screen_record(
        actor=clinician_a, patient=patient_a, region="lumbar", answers={**ALL_CLEAR, "history_of_cancer": True}
    )
    return screen


def test_a_physicians_review_clears_a_referred_patient(physician_a, patient_a, referred_screen):
    services.red_flag_screen_review(
        actor=physician_a, screen=referred_screen, outcome=ReviewOutcome.CLEARED, note="Old, treated; no symptoms."
    )

    referred_screen.refresh_from_db()
    assert (referred_screen.reviewed_by, referred_screen.review_outcome) == (physician_a, ReviewOutcome.CLEARED)
    assert not training_blocked(patient=patient_a)
    (event,) = Event.objects.filter(actor=physician_a)
    assert (event.action, event.object_type, event.object_id) == (
        Action.UPDATE,
        "patients.redflagscreen",
        str(referred_screen.pk),
    )


def test_a_physicians_referral_out_keeps_training_blocked(physician_a, patient_a, referred_screen):
    services.red_flag_screen_review(actor=physician_a, screen=referred_screen, outcome=ReviewOutcome.REFERRED_OUT)

    assert training_blocked(patient=patient_a)


@pytest.mark.parametrize(
    ("reviewer", "refusal"),
    [
        ("clinician_a", PermissionDenied),
        ("clinic_admin_a", PermissionDenied),
        ("org_admin", PermissionDenied),
        # Outside the patient's clinics the gate answers first: the patient does not exist for them.
        ("physician_b", Http404),
    ],
)
def test_only_a_physician_of_the_patients_clinic_may_review(
    request, referred_screen, reviewer, refusal, nothing_written
):
    with pytest.raises(refusal):
        services.red_flag_screen_review(
            actor=request.getfixturevalue(reviewer), screen=referred_screen, outcome=ReviewOutcome.CLEARED
        )

    referred_screen.refresh_from_db()
    assert referred_screen.reviewed_at is None


def test_a_review_needs_a_known_outcome(physician_a, referred_screen, nothing_written):
    with pytest.raises(ValidationError):
        services.red_flag_screen_review(actor=physician_a, screen=referred_screen, outcome="maybe")


def test_a_screen_is_reviewed_once(physician_a, referred_screen):
    services.red_flag_screen_review(actor=physician_a, screen=referred_screen, outcome=ReviewOutcome.REFERRED_OUT)

    with pytest.raises(ValidationError):
        services.red_flag_screen_review(actor=physician_a, screen=referred_screen, outcome=ReviewOutcome.CLEARED)
    referred_screen.refresh_from_db()
    assert referred_screen.review_outcome == ReviewOutcome.REFERRED_OUT


def test_front_desk_cannot_record_a_red_flag_screen(clinic_a, patient_a, nothing_written):
    front_desk = factories.StaffFactory(username="front_desk_a", clinic=clinic_a, role="front_desk")

    with pytest.raises(PermissionDenied):
        services.red_flag_screen_record(actor=front_desk, patient=patient_a, region="lumbar", answers=ALL_CLEAR)


def test_a_clear_screen_needs_no_physician_review(clinician_a, physician_a, patient_a):
    screen = services.red_flag_screen_record(actor=clinician_a, patient=patient_a, region="lumbar", answers=ALL_CLEAR)

    with pytest.raises(ValidationError) as refused:
        services.red_flag_screen_review(actor=physician_a, screen=screen, outcome=ReviewOutcome.CLEARED)

    assert "review_outcome" in refused.value.message_dict
    screen.refresh_from_db()
    assert screen.reviewed_at is None


def test_a_screen_at_a_clinic_of_another_organization_is_refused(member_of_a_and_c, patient_a, clinic_c):
    with pytest.raises(ValidationError) as refused:
        services.red_flag_screen_record(
            actor=member_of_a_and_c, patient=patient_a, region="lumbar", answers=ALL_CLEAR, clinic=clinic_c
        )

    assert "clinic" in refused.value.message_dict


def test_patient_update_of_another_clinics_patient_is_404(clinician_b, patient_a, nothing_written):
    with pytest.raises(Http404):
        services.patient_update(actor=clinician_b, patient=patient_a, given_name="Changed")


def test_a_clinician_may_not_delete_a_patient(clinician_a, patient_a, nothing_written):
    with pytest.raises(PermissionDenied):
        services.patient_delete(actor=clinician_a, patient=patient_a)


def test_a_screen_of_another_clinics_patient_is_404(clinician_b, patient_a, nothing_written):
    with pytest.raises(Http404):
        services.red_flag_screen_record(actor=clinician_b, patient=patient_a, region="lumbar", answers=ALL_CLEAR)


def test_patient_create_is_refused_to_a_principal_without_the_add_permission(clinic_a, nothing_written):
    class ReadOnly:
        """A principal that may see clinic A but not register patients (as a read-only token)."""

        pk = None
        is_authenticated = is_active = True
        is_superuser = False
        _spinezone_roles = {clinic_a.pk: "partner"}

        def get_username(self):
            return "partner:read-only"

        def has_perm(self, perm, obj=None):
            return perm.startswith("patients.view_")

    with pytest.raises(PermissionDenied):
        services.patient_create(actor=ReadOnly(), clinic=clinic_a, **NEW_PATIENT)
