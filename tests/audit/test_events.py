from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.audit import events
from apps.audit.context import client_ip, new_request_id
from apps.audit.models import Action, Event
from apps.patients import services
from apps.patients.models import Patient
from apps.patients.screening import LUMBAR_ITEMS
from tests import factories

CLIENT_ADDRESS = "203.0.113.7"
PROXY_ADDRESS = "10.0.0.2"


@pytest.fixture
def more_a_patients(clinic_a):
    return factories.PatientFactory.create_batch(2, clinic=clinic_a)


def reads_of(actor) -> list[Event]:
    return list(Event.objects.filter(action=Action.READ, actor=actor))


def change_form(patient, **overrides):
    data = {
        "clinic": patient.clinic_id,
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "height_cm": patient.height_cm,
        "body_mass_kg": patient.body_mass_kg,
        "email": patient.email,
        "phone": patient.phone,
        "preferred_language": patient.preferred_language,
        "email_reminder_consent": "on" if patient.email_reminder_consent else "",
        "deceased_on": "",
        "_save": "Save",
        # The patient page's reminders inline (apps.reminders), empty.
        "reminders-TOTAL_FORMS": "0",
        "reminders-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


# --- Reads through the admin ----------------------------------------------------------------------


def test_the_patient_change_view_records_a_read_with_the_request_id_and_client_address(
    signed_in, clinician_a, patient_a
):
    response = signed_in(clinician_a).get(
        reverse("admin:patients_patient_change", args=[patient_a.pk]), REMOTE_ADDR=CLIENT_ADDRESS
    )

    assert response.status_code == 200
    (event,) = Event.objects.all()
    assert (event.action, event.actor, event.actor_label, event.channel) == (
        Action.READ,
        clinician_a,
        "clinician_a",
        "admin",
    )
    assert (event.patient_id, event.clinic_id, event.organization_id) == (
        patient_a.pk,
        patient_a.clinic_id,
        patient_a.organization_id,
    )
    assert (event.object_type, event.object_id) == ("patients.patient", str(patient_a.pk))
    assert event.request_id == response["X-Request-ID"] != ""
    assert event.ip_address == CLIENT_ADDRESS


def test_a_well_formed_request_id_from_the_caller_is_kept(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).get(
        reverse("admin:patients_patient_change", args=[patient_a.pk]), headers={"X-Request-ID": "partner-req.0042"}
    )

    assert response["X-Request-ID"] == "partner-req.0042"
    assert Event.objects.get().request_id == "partner-req.0042"


def test_a_refused_change_view_records_no_read_only_the_refusal(signed_in, clinician_b, patient_a):
    response = signed_in(clinician_b).get(reverse("admin:patients_patient_change", args=[patient_a.pk]))

    assert response.status_code == 404
    (event,) = Event.objects.all()
    assert (event.action, event.actor, event.patient_id) == (Action.DENIED, clinician_b, None)


def test_the_changelist_records_one_read_per_patient_shown(
    signed_in, clinician_a, patient_a, patient_b, more_a_patients
):
    response = signed_in(clinician_a).get(reverse("admin:patients_patient_changelist"))

    shown = list(response.context["cl"].result_list)
    assert len(shown) == 3
    reads = reads_of(clinician_a)
    assert sorted(str(event.patient_id) for event in reads) == sorted(str(patient.pk) for patient in shown)
    assert {event.request_id for event in reads} == {response["X-Request-ID"]}


def test_the_changelist_records_reads_only_for_the_page_shown(
    signed_in, clinician_a, patient_a, more_a_patients, monkeypatch
):
    monkeypatch.setattr(admin.site.get_model_admin(Patient), "list_per_page", 2)

    response = signed_in(clinician_a).get(reverse("admin:patients_patient_changelist"))

    assert len(response.context["cl"].result_list) == 2
    assert len(reads_of(clinician_a)) == 2


def test_a_changelist_search_records_reads_only_for_the_patients_found(
    signed_in, clinician_a, patient_a, more_a_patients
):
    signed_in(clinician_a).get(reverse("admin:patients_patient_changelist"), {"q": "Alvarez"})

    assert [event.patient_id for event in reads_of(clinician_a)] == [patient_a.pk]


def test_an_autocomplete_answer_records_one_read_per_patient_shown(
    signed_in, clinician_a, patient_a, patient_b, more_a_patients
):
    response = signed_in(clinician_a).get(
        reverse("admin:autocomplete"),
        {"app_label": "patients", "model_name": "redflagscreen", "field_name": "patient", "term": ""},
    )

    shown = {result["id"] for result in response.json()["results"]}
    assert len(shown) == 3
    assert sorted(str(event.patient_id) for event in reads_of(clinician_a)) == sorted(shown)


def test_an_autocomplete_answer_with_no_match_records_nothing(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).get(
        reverse("admin:autocomplete"),
        {"app_label": "patients", "model_name": "redflagscreen", "field_name": "patient", "term": "Nobody"},
    )

    assert response.json()["results"] == []
    assert not Event.objects.exists()


# --- Writes through the admin ---------------------------------------------------------------------


def test_posting_the_change_form_records_a_read_and_an_update(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).post(
        reverse("admin:patients_patient_change", args=[patient_a.pk]), change_form(patient_a, given_name="Anna")
    )

    assert response.status_code == 302
    assert Patient.objects.get(pk=patient_a.pk).given_name == "Anna"
    assert sorted(Event.objects.values_list("action", "actor", "patient_id")) == [
        (Action.READ, clinician_a.pk, patient_a.pk),
        (Action.UPDATE, clinician_a.pk, patient_a.pk),
    ]
    assert set(Event.objects.values_list("request_id", flat=True)) == {response["X-Request-ID"]}


def test_an_invalid_change_form_records_the_read_but_no_update(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).post(
        reverse("admin:patients_patient_change", args=[patient_a.pk]), change_form(patient_a, height_cm="20")
    )

    assert response.status_code == 200
    assert list(Event.objects.values_list("action", flat=True)) == [Action.READ]
    assert Patient.objects.get(pk=patient_a.pk).height_cm == 172


def test_admin_delete_records_a_delete_and_keeps_the_row(signed_in, clinic_admin_a, patient_a):
    response = signed_in(clinic_admin_a).post(
        reverse("admin:patients_patient_delete", args=[patient_a.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    kept = Patient.objects.get(pk=patient_a.pk)
    assert (kept.is_deleted, kept.deleted_by) == (True, clinic_admin_a)
    delete = Event.objects.get(action=Action.DELETE)
    assert (delete.actor, delete.patient_id, delete.clinic_id) == (clinic_admin_a, patient_a.pk, patient_a.clinic_id)


def test_admin_delete_soft_deletes_a_patient_who_has_a_red_flag_screen(
    signed_in, clinic_admin_a, physician_a, patient_a
):
    # The screen protects the row from a real delete; a soft delete removes nothing, so it must pass.
    services.red_flag_screen_record(
        actor=physician_a, patient=patient_a, region="lumbar", answers=dict.fromkeys(LUMBAR_ITEMS, False)
    )

    client = signed_in(clinic_admin_a)
    url = reverse("admin:patients_patient_delete", args=[patient_a.pk])

    confirmation = client.get(url)
    response = client.post(url, {"post": "yes"})

    assert (confirmation.status_code, confirmation.context["protected"]) == (200, [])
    assert response.status_code == 302
    assert Patient.objects.get(pk=patient_a.pk).is_deleted
    assert Event.objects.filter(action=Action.DELETE, patient_id=patient_a.pk).count() == 1


def test_the_bulk_delete_action_soft_deletes_each_patient_with_one_event_each(
    signed_in, clinic_admin_a, patient_a, more_a_patients
):
    chosen = [patient_a, *more_a_patients]

    response = signed_in(clinic_admin_a).post(
        reverse("admin:patients_patient_changelist"),
        {"action": "delete_selected", "_selected_action": [str(p.pk) for p in chosen], "post": "yes"},
    )

    assert response.status_code == 302
    assert Patient.objects.filter(deleted_at__isnull=False).count() == 3
    assert sorted(
        str(pk) for pk in Event.objects.filter(action=Action.DELETE).values_list("patient_id", flat=True)
    ) == (sorted(str(p.pk) for p in chosen))


def test_a_clinician_without_the_delete_permission_cannot_delete(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).post(
        reverse("admin:patients_patient_delete", args=[patient_a.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert not Patient.objects.get(pk=patient_a.pk).is_deleted
    assert not Event.objects.filter(action=Action.DELETE).exists()


# --- The write rule -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", [Action.CREATE, Action.UPDATE, Action.DELETE])
def test_a_write_audited_outside_a_transaction_is_refused(clinician_a, patient_a, action):
    with pytest.raises(events.AuditOutsideTransaction):
        events.record(action=action, obj=patient_a, actor=clinician_a)

    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_read_may_be_audited_outside_a_transaction_and_services_open_their_own(clinician_a, clinic_a):
    patient = services.patient_create(
        actor=clinician_a,
        clinic=clinic_a,
        mrn="T-1",
        given_name="Tom",
        family_name="Tan",
        birth_date="1980-01-01",
        sex="male",
    )
    events.record(action=Action.READ, obj=patient, actor=clinician_a)

    assert sorted(Event.objects.values_list("action", flat=True)) == [Action.CREATE, Action.READ]


def test_a_system_actor_is_recorded_as_system(patient_a):
    event = events.record(action=Action.READ, obj=patient_a, actor=events.SYSTEM)

    assert (event.actor, event.actor_label, event.channel) == (None, "system", "command")


# --- Where a request comes from -------------------------------------------------------------------


def client_address_recorded(client, patient, forwarded_for: str | None) -> str | None:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    client.get(reverse("admin:patients_patient_change", args=[patient.pk]), REMOTE_ADDR=PROXY_ADDRESS, headers=headers)
    return Event.objects.latest("id").ip_address


@pytest.mark.parametrize("forwarded_for", ["198.51.100.9", "1.2.3.4, 198.51.100.9", None])
def test_x_forwarded_for_is_ignored_without_trusted_proxies(signed_in, clinician_a, patient_a, settings, forwarded_for):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_address_recorded(signed_in(clinician_a), patient_a, forwarded_for) == PROXY_ADDRESS


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "recorded"),
    [
        (1, CLIENT_ADDRESS, CLIENT_ADDRESS),
        (1, f"6.6.6.6, {CLIENT_ADDRESS}", CLIENT_ADDRESS),  # the spoofed left entry is never taken
        (2, f"6.6.6.6, {CLIENT_ADDRESS}, 10.0.0.1", CLIENT_ADDRESS),
        (2, CLIENT_ADDRESS, PROXY_ADDRESS),  # fewer hops than proxies: not through them all
        (1, None, PROXY_ADDRESS),
        (1, "2001:db8::7", "2001:db8::7"),
    ],
)
def test_with_trusted_proxies_only_the_trusted_hop_is_taken(
    signed_in, clinician_a, patient_a, settings, trusted, forwarded_for, recorded
):
    settings.TRUSTED_PROXY_COUNT = trusted

    assert client_address_recorded(signed_in(clinician_a), patient_a, forwarded_for) == recorded


@pytest.mark.parametrize("garbage", ["unknown", "not-an-address", "1.2.3.4:5678", "<script>"])
def test_a_malformed_trusted_hop_falls_back_to_the_peer_address(signed_in, clinician_a, patient_a, settings, garbage):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_address_recorded(signed_in(clinician_a), patient_a, garbage) == PROXY_ADDRESS


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "trusted", "address"),
    [
        ("10.0.0.2", None, 0, "10.0.0.2"),
        ("10.0.0.2", "1.1.1.1", 0, "10.0.0.2"),
        ("10.0.0.2", "1.1.1.1", 1, "1.1.1.1"),
        ("10.0.0.2", " 9.9.9.9 ,1.1.1.1 ", 1, "1.1.1.1"),
        ("10.0.0.2", "9.9.9.9, 1.1.1.1, 10.0.0.1", 2, "1.1.1.1"),
        ("10.0.0.2", ",,", 1, "10.0.0.2"),
        ("", None, 0, None),
        (None, None, 0, None),
    ],
)
def test_client_ip(remote_addr, forwarded_for, trusted, address):
    assert client_ip(remote_addr, forwarded_for, trusted) == address


@pytest.mark.parametrize(
    "supplied",
    ["short", "has spaces in it", "x" * 65, "abcdefgh\n", "abcdefgh/..", "<script>alert(1)</script>", "ünïcode-id"],
)
def test_a_malformed_request_id_is_replaced(signed_in, clinician_a, patient_a, supplied):
    response = signed_in(clinician_a).get(
        reverse("admin:patients_patient_change", args=[patient_a.pk]), headers={"X-Request-ID": supplied}
    )

    assert response["X-Request-ID"] != supplied
    assert len(response["X-Request-ID"]) == 32
    assert Event.objects.get().request_id == response["X-Request-ID"]


def test_every_request_gets_its_own_id(signed_in, clinician_a, patient_a):
    client = signed_in(clinician_a)
    url = reverse("admin:patients_patient_change", args=[patient_a.pk])

    assert client.get(url)["X-Request-ID"] != client.get(url)["X-Request-ID"]


@pytest.mark.parametrize("supplied", [None, "", "abc", "abcdefgh\n"])
def test_new_request_id_makes_a_fresh_one_when_none_fits(supplied):
    made = new_request_id(supplied)

    assert made != supplied
    assert len(made) == 32


def _shape(event):
    names = ("action", "actor_id", "actor_label", "organization_id", "clinic_id", "patient_id", "object_type")
    return tuple(getattr(event, name) for name in (*names, "object_id", "channel", "request_id", "ip_address"))


def test_list_reads_write_the_events_one_read_at_a_time_would(clinician_a, patient_a, patient_b):
    singly = [events.record(action=Action.READ, obj=p, actor=clinician_a) for p in (patient_a, patient_b)]

    assert events.record_reads(objs=[patient_a, patient_b], actor=clinician_a) == 2

    listed = Event.objects.exclude(pk__in=[e.pk for e in singly])
    assert sorted(map(_shape, listed), key=str) == sorted(map(_shape, singly), key=str)
    assert all(e.occurred_at is not None for e in listed)


def test_row_reads_write_the_events_list_reads_would(clinician_a, patient_a, patient_b):
    events.record_reads(objs=[patient_a, patient_b], actor=clinician_a)
    by_objects = list(Event.objects.all())
    rows = [(p.pk, p.audit_subject()) for p in (patient_a, patient_b)]

    assert events.record_row_reads(object_type="patients.patient", rows=rows, actor=clinician_a) == 2

    by_rows = Event.objects.exclude(pk__in=[e.pk for e in by_objects])
    assert sorted(map(_shape, by_rows), key=str) == sorted(map(_shape, by_objects), key=str)


def test_list_reads_of_mixed_rows_name_each_row_by_its_kind(clinician_a, patient_a, django_assert_num_queries):
    program = factories.ProgramFactory(patient=patient_a)

    with django_assert_num_queries(1):  # one INSERT, whatever kinds of rows the page shows
        assert events.record_reads(objs=[patient_a, program, patient_a], actor=clinician_a) == 3

    kinds = sorted(Event.objects.values_list("object_type", "object_id"))
    assert kinds == sorted([("patients.patient", str(patient_a.pk))] * 2 + [("programs.program", str(program.pk))])
    assert set(Event.objects.values_list("patient_id", flat=True)) == {patient_a.pk}


def test_row_reads_of_nothing_write_nothing(clinician_a, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert events.record_row_reads(object_type="patients.patient", rows=[], actor=clinician_a) == 0
