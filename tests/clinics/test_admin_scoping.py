"""The admin shows, searches, autocompletes and offers only rows of the user's clinics; 404 outside."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit import events
from apps.audit.models import Event
from apps.clinics.models import Clinic
from apps.patients.models import Patient
from tests import factories

# The patients of each cast member's clinics: patient_a in A, patient_b in B (both acme), patient_c in C.
SEES = {
    "clinician_a": {"patient_a"},
    "physician_a": {"patient_a"},
    "clinic_admin_a": {"patient_a"},
    "clinician_b": {"patient_b"},
    "org_admin": {"patient_a", "patient_b"},
    "outsider": {"patient_c"},
    "superuser": {"patient_a", "patient_b", "patient_c"},
}
CLINICS_OF = {member: {name.replace("patient", "clinic") for name in patients} for member, patients in SEES.items()}
PATIENTS = ("patient_a", "patient_b", "patient_c")
PER_OBJECT_VIEWS = ("change", "history", "delete")


@pytest.fixture
def cast(request, patient_a, patient_b, patient_c):
    """Look a cast member or a patient up by name."""
    return request.getfixturevalue


def autocomplete(client, term):
    return client.get(
        reverse("admin:autocomplete"),
        {"app_label": "patients", "model_name": "redflagscreen", "field_name": "patient", "term": term},
    )


def patient_form(clinic, **overrides):
    data = {
        "clinic": clinic.pk,
        "mrn": "N-0001",
        "given_name": "Nia",
        "family_name": "Novak",
        "birth_date": "1970-05-17",
        "sex": "female",
        "height_cm": "168",
        "body_mass_kg": "64.5",
        "email": "nia@example.test",
        "phone": "",
        "preferred_language": "en",
        "email_reminder_consent": "on",
        "deceased_on": "",
        "_save": "Save",
    }
    return {**data, **overrides}


# --- Patients: per-object pages ------------------------------------------------------------------


@pytest.mark.parametrize("view", PER_OBJECT_VIEWS)
def test_a_clinician_of_clinic_b_gets_404_for_a_clinic_a_patient(signed_in, clinician_b, patient_a, view):
    response = signed_in(clinician_b).get(reverse(f"admin:patients_patient_{view}", args=[patient_a.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("view", PER_OBJECT_VIEWS)
def test_a_clinician_of_clinic_b_gets_404_when_posting_to_a_clinic_a_patient(signed_in, clinician_b, patient_a, view):
    response = signed_in(clinician_b).post(
        reverse(f"admin:patients_patient_{view}", args=[patient_a.pk]),
        patient_form(patient_a.clinic, mrn="STOLEN", post="yes"),
    )

    assert response.status_code == 404
    patient_a.refresh_from_db()
    assert (patient_a.mrn, patient_a.deleted_at) == ("A-0001", None)


@pytest.mark.parametrize("member", SEES)
@pytest.mark.parametrize("patient", PATIENTS)
def test_the_patient_change_view_is_404_outside_the_members_clinics(signed_in, cast, member, patient):
    target = cast(patient)

    response = signed_in(cast(member)).get(reverse("admin:patients_patient_change", args=[target.pk]))

    assert response.status_code == (200 if patient in SEES[member] else 404)


@pytest.mark.parametrize("member", ["clinician_b", "outsider"])
def test_the_history_page_is_404_but_works_in_the_patients_own_clinic(signed_in, cast, member):
    url = reverse("admin:patients_patient_history", args=[cast("patient_a").pk])

    assert signed_in(cast(member)).get(url).status_code == 404
    assert signed_in(cast("clinician_a")).get(url).status_code == 200


def test_a_malformed_patient_id_is_404(signed_in, clinician_a):
    response = signed_in(clinician_a).get("/admin/patients/patient/not-a-uuid/change/")

    assert response.status_code == 404


def test_a_deleted_patient_is_404_in_the_admin(signed_in, clinician_a, patient_a):
    Patient.objects.filter(pk=patient_a.pk).update(deleted_at=patient_a.created_at, deleted_by=clinician_a)

    response = signed_in(clinician_a).get(reverse("admin:patients_patient_change", args=[patient_a.pk]))

    assert response.status_code == 404


# --- Patients: lists, search and autocomplete -----------------------------------------------------


@pytest.mark.parametrize("member", SEES)
def test_the_patient_changelist_shows_only_the_members_clinics(signed_in, cast, member):
    response = signed_in(cast(member)).get(reverse("admin:patients_patient_changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {cast(name) for name in SEES[member]}


@pytest.mark.parametrize("term", ["Alvarez", "alv", "Ana", "A-0001", "a-0001"])
def test_a_clinic_a_patient_is_not_found_by_a_clinic_b_search(signed_in, clinician_b, clinician_a, patient_a, term):
    url = reverse("admin:patients_patient_changelist")

    found_by_b = signed_in(clinician_b).get(url, {"q": term}).context["cl"].result_list
    found_by_a = signed_in(clinician_a).get(url, {"q": term}).context["cl"].result_list

    assert list(found_by_b) == []
    assert list(found_by_a) == [patient_a]


@pytest.mark.parametrize("member", SEES)
@pytest.mark.parametrize("changelist", ["patients_patient", "clinics_machine", "clinics_clinic"])
def test_a_changelist_and_its_filters_do_not_name_other_clinics_or_organizations(signed_in, cast, member, changelist):
    response = signed_in(cast(member)).get(reverse(f"admin:{changelist}_changelist"))

    page = response.content.decode()
    hidden = [cast(clinic) for clinic in {"clinic_a", "clinic_b", "clinic_c"} - CLINICS_OF[member]]
    shown = [cast(clinic) for clinic in CLINICS_OF[member]]
    for clinic in hidden:
        assert clinic.name not in page
    for organization in {clinic.organization for clinic in hidden} - {clinic.organization for clinic in shown}:
        assert organization.name not in page


@pytest.mark.parametrize("member", SEES)
@pytest.mark.parametrize(
    ("term", "matching"),
    [("", set(PATIENTS)), ("Alv", {"patient_a"}), ("A-0001", {"patient_a"}), ("Castillo", {"patient_c"})],
)
def test_the_patient_autocomplete_answers_only_with_the_members_patients(signed_in, cast, member, term, matching):
    response = autocomplete(signed_in(cast(member)), term)

    assert response.status_code == 200
    shown = {result["id"] for result in response.json()["results"]}
    assert shown == {str(cast(name).pk) for name in SEES[member] & matching}


def test_the_autocomplete_needs_a_signed_in_staff_member(client, patient_a):
    response = autocomplete(client, "Alv")

    assert response.status_code == 302
    assert "Alvarez" not in response.content.decode()


# --- Patients: foreign-key choices ----------------------------------------------------------------


@pytest.mark.parametrize("member", SEES)
def test_the_add_form_offers_only_the_members_clinics(signed_in, cast, member):
    response = signed_in(cast(member)).get(reverse("admin:patients_patient_add"))

    offered = response.context["adminform"].form.fields["clinic"].queryset
    assert set(offered) == {cast(name) for name in CLINICS_OF[member]}


@pytest.mark.parametrize(("member", "foreign_clinic"), [("clinician_a", "clinic_b"), ("org_admin", "clinic_c")])
def test_posting_another_clinics_id_is_refused_and_writes_nothing(signed_in, cast, member, foreign_clinic):
    patients, event_count = Patient.objects.count(), Event.objects.count()

    response = signed_in(cast(member)).post(reverse("admin:patients_patient_add"), patient_form(cast(foreign_clinic)))

    assert response.status_code == 200
    assert "clinic" in response.context["adminform"].form.errors
    assert (Patient.objects.count(), Event.objects.count()) == (patients, event_count)


def test_posting_the_members_own_clinic_creates_the_patient(signed_in, clinician_a, clinic_a):
    response = signed_in(clinician_a).post(reverse("admin:patients_patient_add"), patient_form(clinic_a))

    assert response.status_code == 302
    created = Patient.objects.get(mrn="N-0001")
    assert (created.clinic, created.organization) == (clinic_a, clinic_a.organization)


def test_moving_a_patient_to_another_organizations_clinic_is_refused(signed_in, org_admin, patient_a, clinic_c):
    url = reverse("admin:patients_patient_change", args=[patient_a.pk])

    response = signed_in(org_admin).post(url, patient_form(clinic_c, mrn=patient_a.mrn))

    assert response.status_code == 200
    assert "clinic" in response.context["adminform"].form.errors
    patient_a.refresh_from_db()
    assert patient_a.clinic.name == "Clinic A"


def test_an_mrn_taken_in_a_clinic_the_member_cannot_see_is_refused_on_the_form(signed_in, clinician_a, patient_b):
    response = signed_in(clinician_a).post(
        reverse("admin:patients_patient_add"), patient_form(Clinic.objects.get(name="Clinic A"), mrn=patient_b.mrn)
    )

    assert response.status_code == 200
    assert "mrn" in response.context["adminform"].form.errors
    assert Patient.objects.filter(mrn=patient_b.mrn).count() == 1


# --- Clinics and machines -------------------------------------------------------------------------


@pytest.fixture
def machines(clinic_a, clinic_b, clinic_c):
    return {
        name: factories.MachineFactory(clinic=clinic)
        for name, clinic in {"clinic_a": clinic_a, "clinic_b": clinic_b, "clinic_c": clinic_c}.items()
    }


@pytest.mark.parametrize("member", SEES)
@pytest.mark.parametrize("clinic", ["clinic_a", "clinic_b", "clinic_c"])
def test_the_clinic_change_view_is_404_outside_the_members_clinics(signed_in, cast, member, clinic):
    response = signed_in(cast(member)).get(reverse("admin:clinics_clinic_change", args=[cast(clinic).pk]))

    assert response.status_code == (200 if clinic in CLINICS_OF[member] else 404)


@pytest.mark.parametrize("member", SEES)
@pytest.mark.parametrize("clinic", ["clinic_a", "clinic_b", "clinic_c"])
def test_the_machine_change_view_is_404_outside_the_members_clinics(signed_in, cast, machines, member, clinic):
    response = signed_in(cast(member)).get(reverse("admin:clinics_machine_change", args=[machines[clinic].pk]))

    assert response.status_code == (200 if clinic in CLINICS_OF[member] else 404)


@pytest.mark.parametrize("member", SEES)
def test_the_machine_and_clinic_lists_show_only_the_members_clinics(signed_in, cast, machines, member):
    client = signed_in(cast(member))

    listed_machines = client.get(reverse("admin:clinics_machine_changelist")).context["cl"].result_list
    listed_clinics = client.get(reverse("admin:clinics_clinic_changelist")).context["cl"].result_list

    assert set(listed_machines) == {machines[name] for name in CLINICS_OF[member]}
    assert set(listed_clinics) == {cast(name) for name in CLINICS_OF[member]}


def test_a_clinic_b_clinician_gets_404_for_a_clinic_a_machine_delete_and_history(signed_in, clinician_b, machines):
    client = signed_in(clinician_b)

    for view in ("delete", "history"):
        assert client.get(reverse(f"admin:clinics_machine_{view}", args=[machines["clinic_a"].pk])).status_code == 404


# --- The audit trail ------------------------------------------------------------------------------


@pytest.fixture
def trail(patient_a, patient_b, patient_c):
    """One read event for each patient, as the platform itself."""
    return {
        name: events.record(action=events.Action.READ, obj=patient, actor=events.SYSTEM)
        for name, patient in {"patient_a": patient_a, "patient_b": patient_b, "patient_c": patient_c}.items()
    }


@pytest.mark.parametrize(
    ("member", "visible"),
    [
        ("clinic_admin_a", {"patient_a"}),
        ("org_admin", {"patient_a", "patient_b"}),
        ("outsider", {"patient_c"}),
        ("superuser", {"patient_a", "patient_b", "patient_c"}),
    ],
)
def test_the_audit_trail_shows_an_administrator_only_their_clinics_events(signed_in, cast, trail, member, visible):
    response = signed_in(cast(member)).get(reverse("admin:audit_event_changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {trail[name] for name in visible}


@pytest.mark.parametrize("member", ["clinician_a", "physician_a", "clinician_b"])
def test_the_audit_trail_is_forbidden_to_a_plain_clinician(signed_in, cast, trail, member):
    client = signed_in(cast(member))

    assert client.get(reverse("admin:audit_event_changelist")).status_code == 403
    # No event is in a plain clinician's scope, so a single one is "not found" rather than forbidden.
    assert client.get(reverse("admin:audit_event_change", args=[trail["patient_a"].pk])).status_code == 404


def test_an_audit_event_of_another_clinic_is_404_to_a_clinic_admin(signed_in, clinic_admin_a, trail):
    response = signed_in(clinic_admin_a).get(reverse("admin:audit_event_change", args=[trail["patient_b"].pk]))

    assert response.status_code == 404
