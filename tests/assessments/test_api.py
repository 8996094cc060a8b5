from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.assessments import scoring
from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.audit.models import Event
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db


def strength_tests_of(patient):
    return f"/api/v1/patients/{patient.pk}/strength-tests/"


def questionnaires_of(patient):
    return f"/api/v1/patients/{patient.pk}/questionnaires/"


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def a_test(patient_a):
    return factories.StrengthTestFactory(patient=patient_a)


@pytest.fixture
def response_a(patient_a):
    return factories.QuestionnaireResponseFactory(patient=patient_a)


# --- strength tests -------------------------------------------------------------------------------


def test_the_list_shows_the_patients_tests_with_points_as_captured_and_in_nm(api, reader_a, a_test):  # noqa: F811
    response = api("GET", strength_tests_of(a_test.patient), token=reader_a)
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == str(a_test.pk)
    assert row["points"][0] == {
        "angle_deg": a_test.points.first().angle_deg,
        "torque": str(a_test.points.first().torque),
        "unit": scoring.N_M,
        "torque_nm": str(a_test.points.first().torque_nm),
    }
    assert [p["angle_deg"] for p in row["points"]] == sorted((p["angle_deg"] for p in row["points"]), reverse=True)


def test_the_list_filters_by_performed_range_and_updated_since(api, reader_a, patient_a):  # noqa: F811
    now = timezone.now()
    old = factories.StrengthTestFactory(patient=patient_a, performed_at=now - timedelta(days=30))
    new = factories.StrengthTestFactory(patient=patient_a, performed_at=now)

    def ids(query):
        return [
            r["id"] for r in api("GET", f"{strength_tests_of(patient_a)}?{query}", token=reader_a).json()["results"]
        ]

    assert ids(f"performed_after={iso(now - timedelta(days=1))}") == [str(new.pk)]
    assert ids(f"performed_before={iso(now - timedelta(days=1))}") == [str(old.pk)]
    assert ids(f"updated_since={iso(new.updated_at)}") == [str(new.pk)]
    assert ids("region=cervical") == []


def test_a_malformed_filter_is_400(api, reader_a, patient_a):  # noqa: F811
    response = api("GET", f"{strength_tests_of(patient_a)}?performed_after=never", token=reader_a)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "performed_after"


def test_the_list_pages_with_a_cursor_in_a_stable_order(api, reader_a, patient_a):  # noqa: F811
    made = [factories.StrengthTestFactory(patient=patient_a) for _ in range(4)]
    first = api("GET", f"{strength_tests_of(patient_a)}?page_size=3", token=reader_a).json()
    second = api("GET", first["next"], token=reader_a).json()
    assert [r["id"] for r in first["results"] + second["results"]] == [
        str(t.pk) for t in sorted(made, key=lambda t: (t.updated_at, t.pk))
    ]


@pytest.mark.parametrize("rows", [5, 50])
def test_the_test_list_query_count_does_not_grow_with_the_page(
    api,  # noqa: F811
    reader_a,  # noqa: F811
    patient_a,
    rows,
    django_assert_num_queries,
):
    machine = factories.MachineFactory(clinic=patient_a.clinic)
    for _ in range(rows):
        factories.StrengthTestFactory(patient=patient_a, machine=machine)
    api("GET", strength_tests_of(patient_a), token=reader_a)  # first use stamps last_used_at
    # token + partner + granted clinics, patient, page of tests, their points, audit INSERT.
    with django_assert_num_queries(5):
        response = api("GET", strength_tests_of(patient_a), token=reader_a)
    assert len(response.json()["results"]) == rows


def test_each_test_listed_and_shown_is_audited_as_a_read_by_the_partner(api, reader_a, a_test):  # noqa: F811
    api("GET", strength_tests_of(a_test.patient), token=reader_a)
    api("GET", f"/api/v1/strength-tests/{a_test.pk}/", token=reader_a)
    reads = Event.objects.filter(action="read", object_type="assessments.strengthtest")
    assert [(e.object_id, e.actor_id, e.actor_label) for e in reads] == [(str(a_test.pk), None, "partner:EHR A")] * 2


def test_the_detail_shows_the_test(api, reader_a, a_test):  # noqa: F811
    response = api("GET", f"/api/v1/strength-tests/{a_test.pk}/", token=reader_a)
    assert response.status_code == 200
    body = response.json()
    a_test.refresh_from_db()
    assert (body["id"], body["peak_torque_nm"]) == (str(a_test.pk), str(a_test.peak_torque_nm))
    assert len(body["points"]) == a_test.points.count()


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_tests_outside_the_tokens_clinics_are_404(api, writer_a, writer_c, patient_a, patient_b, who):  # noqa: F811
    patient, token = (patient_b, writer_a) if who == "other_clinic" else (patient_a, writer_c)
    test = factories.StrengthTestFactory(patient=patient)
    assert api("GET", strength_tests_of(patient), token=token).status_code == 404
    assert api("GET", f"/api/v1/strength-tests/{test.pk}/", token=token).status_code == 404
    assert not Event.objects.filter(action="read").exists()


def test_an_unknown_test_is_404(api, reader_a):  # noqa: F811
    assert api("GET", f"/api/v1/strength-tests/{uuid.uuid4()}/", token=reader_a).status_code == 404


def test_strength_tests_need_authentication(api, a_test):  # noqa: F811
    assert api("GET", strength_tests_of(a_test.patient)).status_code == 401
    assert api("GET", f"/api/v1/strength-tests/{a_test.pk}/").status_code == 401


# --- questionnaires -------------------------------------------------------------------------------


def test_the_questionnaire_list_shows_answers_and_score(api, reader_a, response_a):  # noqa: F811
    response = api("GET", questionnaires_of(response_a.patient), token=reader_a)
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["id"], row["instrument"], row["answers"]) == (str(response_a.pk), scoring.ODI, [2] * 10)
    assert row["score"] == str(response_a.score)


def test_the_questionnaire_list_filters_by_instrument_and_dates(api, reader_a, patient_a):  # noqa: F811
    now = timezone.now()
    odi = factories.QuestionnaireResponseFactory(patient=patient_a, completed_at=now - timedelta(days=10))
    nrs = factories.QuestionnaireResponseFactory(patient=patient_a, instrument=scoring.PAIN_NRS, completed_at=now)

    def ids(query):
        return [
            r["id"] for r in api("GET", f"{questionnaires_of(patient_a)}?{query}", token=reader_a).json()["results"]
        ]

    assert ids(f"instrument={scoring.PAIN_NRS}") == [str(nrs.pk)]
    assert ids(f"completed_before={iso(now - timedelta(days=1))}") == [str(odi.pk)]
    assert ids(f"completed_after={iso(now - timedelta(days=1))}") == [str(nrs.pk)]
    assert ids(f"updated_since={iso(nrs.updated_at)}") == [str(nrs.pk)]
    assert api("GET", f"{questionnaires_of(patient_a)}?instrument=sf36", token=reader_a).status_code == 400


@pytest.mark.parametrize("rows", [5, 50])
def test_the_questionnaire_list_query_count_does_not_grow_with_the_page(
    api,  # noqa: F811
    reader_a,  # noqa: F811
    patient_a,
    rows,
    django_assert_num_queries,
):
    for _ in range(rows):
        factories.QuestionnaireResponseFactory(patient=patient_a)
    api("GET", questionnaires_of(patient_a), token=reader_a)
    # token + partner + granted clinics, patient, page of responses, audit INSERT.
    with django_assert_num_queries(4):
        response = api("GET", questionnaires_of(patient_a), token=reader_a)
    assert len(response.json()["results"]) == rows
    assert Event.objects.filter(action="read", actor_label="partner:EHR A").count() == 2 * rows


def test_the_questionnaire_detail_is_shown_and_audited(api, reader_a, response_a):  # noqa: F811
    response = api("GET", f"/api/v1/questionnaires/{response_a.pk}/", token=reader_a)
    assert response.status_code == 200
    assert response.json()["id"] == str(response_a.pk)
    event = Event.objects.get(action="read")
    assert (event.object_id, event.actor_id, event.actor_label) == (str(response_a.pk), None, "partner:EHR A")


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_questionnaires_outside_the_tokens_clinics_are_404(api, writer_a, writer_c, patient_a, patient_b, who):  # noqa: F811
    patient, token = (patient_b, writer_a) if who == "other_clinic" else (patient_a, writer_c)
    answered = factories.QuestionnaireResponseFactory(patient=patient)
    assert api("GET", questionnaires_of(patient), token=token).status_code == 404
    assert api("GET", f"/api/v1/questionnaires/{answered.pk}/", token=token).status_code == 404


def test_questionnaires_need_authentication(api, response_a):  # noqa: F811
    assert api("GET", questionnaires_of(response_a.patient)).status_code == 401
    assert api("GET", f"/api/v1/questionnaires/{response_a.pk}/").status_code == 401


# --- progress -------------------------------------------------------------------------------------


def progress_of(patient):
    return f"/api/v1/patients/{patient.pk}/progress/"


def test_progress_compares_the_latest_test_and_scores_with_the_baseline(api, reader_a, patient_a):  # noqa: F811
    now = timezone.now()
    machine = factories.MachineFactory(clinic=patient_a.clinic)
    factories.StrengthTestFactory(
        patient=patient_a, machine=machine, performed_at=now - timedelta(days=30), curve=((0, 100), (36, 100))
    )
    factories.StrengthTestFactory(patient=patient_a, machine=machine, performed_at=now, curve=((0, 150), (36, 120)))
    factories.QuestionnaireResponseFactory(patient=patient_a, answers=[4] * 10, completed_at=now - timedelta(days=30))
    factories.QuestionnaireResponseFactory(patient=patient_a, answers=[2] * 10, completed_at=now)
    response = api("GET", progress_of(patient_a), token=reader_a)
    assert response.status_code == 200
    body = response.json()
    [strength] = body["strength"]
    assert strength["region"] == "lumbar"
    assert [(a["angle_deg"], a["change_pct"]) for a in strength["angles"]] == [("0.0", "50.0"), ("36.0", "20.0")]
    assert (strength["index_before"], strength["index_after"], strength["index_change_pct"]) == (
        "3600.0",
        "4860.0",
        "35.0",
    )
    assert body["scores"] == [
        {
            "instrument": "odi",
            "change": "40.0",
            "relative_pct": "50.0",
            "important": True,
            "criteria": ["points", "percent"],
        }
    ]
    event = Event.objects.get(action="read")
    assert (event.patient_id, event.actor_label) == (patient_a.pk, "partner:EHR A")


def test_progress_is_empty_until_there_is_a_retest_or_second_response(api, reader_a, patient_a, a_test, response_a):  # noqa: F811
    body = api("GET", progress_of(patient_a), token=reader_a).json()
    assert body == {"patient": str(patient_a.pk), "strength": [], "scores": []}


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_progress_outside_the_tokens_clinics_is_404(api, writer_a, writer_c, patient_a, patient_b, who):  # noqa: F811
    patient, token = (patient_b, writer_a) if who == "other_clinic" else (patient_a, writer_c)
    assert api("GET", progress_of(patient), token=token).status_code == 404
    assert not Event.objects.filter(action="read").exists()


def test_progress_needs_authentication_and_is_read_only(api, writer_a, patient_a):  # noqa: F811
    assert api("GET", progress_of(patient_a)).status_code == 401
    assert api("POST", progress_of(patient_a), token=writer_a, body={}).status_code == 405


# --- recording a questionnaire ----------------------------------------------------------------------


@pytest.fixture
def nrs():
    return {"instrument": scoring.PAIN_NRS, "completed_at": iso(timezone.now() - timedelta(hours=1)), "answers": [3]}


def post_as(client, user, url, body, **headers):
    client.force_login(user)
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def test_staff_record_a_questionnaire_audited_to_them(client, clinician_a, patient_a, nrs):
    response = post_as(client, clinician_a, questionnaires_of(patient_a), nrs)
    assert response.status_code == 201, response.json()
    answered = QuestionnaireResponse.objects.get()
    assert (response.json()["id"], answered.score, answered.recorded_by) == (str(answered.pk), 3, clinician_a)
    event = Event.objects.get(action="create", object_id=str(answered.pk))
    assert event.actor_id == clinician_a.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instrument": "sf36"}, "instrument"),
        ({"completed_at": "yesterday"}, "completed_at"),
        ({"answers": [11]}, "answers"),
        ({"instrument": scoring.ODI, "answers": [1, 2]}, "answers"),
        ({"completed_at": iso(timezone.now() + timedelta(days=2))}, "completed_at"),
    ],
)
def test_an_invalid_questionnaire_is_400_on_the_field_and_writes_nothing(
    client, clinician_a, patient_a, nrs, change, field
):
    response = post_as(client, clinician_a, questionnaires_of(patient_a), {**nrs, **change})
    assert response.status_code == 400
    assert field in {error["attr"] for error in response.json()["errors"]}
    assert not QuestionnaireResponse.objects.exists()


def test_staff_of_another_clinic_get_404_and_write_nothing(client, clinician_b, patient_a, nrs):
    assert post_as(client, clinician_b, questionnaires_of(patient_a), nrs).status_code == 404
    assert not QuestionnaireResponse.objects.exists()


def test_a_read_only_token_cannot_record_a_questionnaire(api, reader_a, patient_a, nrs, clinician_a):  # noqa: F811
    body = {**nrs, "recorded_by": clinician_a.username}
    response = api("POST", questionnaires_of(patient_a), token=reader_a, body=body)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert not QuestionnaireResponse.objects.exists()


def test_a_partner_records_a_questionnaire_for_the_clinician_it_names(api, writer_a, patient_a, nrs, clinician_a):  # noqa: F811
    response = api("POST", questionnaires_of(patient_a), token=writer_a, body={**nrs, "recorded_by": "clinician_a"})
    assert response.status_code == 201, response.json()
    answered = QuestionnaireResponse.objects.get()
    assert (answered.recorded_by, answered.score) == (clinician_a, 3)
    event = Event.objects.get(action="create", object_id=str(answered.pk))
    assert (event.actor_id, event.actor_label) == (None, "partner:EHR A")


@pytest.mark.parametrize(
    ("recorded_by", "message"),
    [
        (None, "Name the clinician"),
        ("nobody", "does not exist"),
        ("clinician_b", "does not exist"),  # staff of a clinic the token cannot see: unknown
        ("retired_a", "does not exist"),  # an inactive account
    ],
)
def test_a_partner_must_name_a_clinician_who_may_record_it(
    api,  # noqa: F811
    writer_a,  # noqa: F811
    patient_a,
    nrs,
    clinician_b,
    clinic_a,
    recorded_by,
    message,
):
    factories.StaffFactory(username="retired_a", clinic=clinic_a, is_active=False)
    body = nrs if recorded_by is None else {**nrs, "recorded_by": recorded_by}
    response = api("POST", questionnaires_of(patient_a), token=writer_a, body=body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["attr"] == "recorded_by"
    assert message in error["detail"], error
    assert not QuestionnaireResponse.objects.exists()


def test_staff_cannot_record_in_another_clinicians_name(client, clinician_a, physician_a, patient_a, nrs):
    response = post_as(client, clinician_a, questionnaires_of(patient_a), {**nrs, "recorded_by": "physician_a"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "recorded_by"
    assert not QuestionnaireResponse.objects.exists()


def test_a_partner_retry_with_the_same_key_records_one_questionnaire(api, writer_a, patient_a, nrs, clinician_a):  # noqa: F811
    body, key = {**nrs, "recorded_by": "clinician_a"}, {"Idempotency-Key": "ehr-q-1"}
    first = api("POST", questionnaires_of(patient_a), token=writer_a, body=body, **key)
    again = api("POST", questionnaires_of(patient_a), token=writer_a, body=body, **key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert QuestionnaireResponse.objects.count() == 1


def test_a_partner_cannot_record_for_a_patient_outside_its_clinics(api, writer_a, patient_b, nrs, clinician_a):  # noqa: F811
    response = api("POST", questionnaires_of(patient_b), token=writer_a, body={**nrs, "recorded_by": "clinician_a"})
    assert response.status_code == 404
    assert not QuestionnaireResponse.objects.exists()


def test_recording_a_questionnaire_needs_authentication(api, patient_a, nrs):  # noqa: F811
    assert api("POST", questionnaires_of(patient_a), body=nrs).status_code == 401
    assert not QuestionnaireResponse.objects.exists()


def test_a_retried_questionnaire_with_the_same_key_is_recorded_once(client, clinician_a, patient_a, nrs):
    first = post_as(client, clinician_a, questionnaires_of(patient_a), nrs, **{"Idempotency-Key": "q-1"})
    again = post_as(client, clinician_a, questionnaires_of(patient_a), nrs, **{"Idempotency-Key": "q-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "True"
    assert QuestionnaireResponse.objects.count() == 1


# --- recording a strength test ---------------------------------------------------------------------


@pytest.fixture
def lumbar_machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a)


@pytest.fixture
def new_test(lumbar_machine):
    return {
        "machine": lumbar_machine.pk,
        "performed_at": iso(timezone.now() - timedelta(hours=1)),
        "rom_min_deg": 0,
        "rom_max_deg": 72,
        "points": [{"angle_deg": angle, "torque": "100"} for angle in lumbar_machine.test_angles],
        "unit": scoring.FT_LBF,
        "pain_before": 2,
        "pain_after": 3,
    }


def test_staff_record_a_test_kept_as_captured_and_in_nm(client, clinician_a, patient_a, new_test):
    response = post_as(client, clinician_a, strength_tests_of(patient_a), new_test)
    assert response.status_code == 201, response.json()
    test = StrengthTest.objects.get()
    body = response.json()
    assert (body["id"], test.recorded_by, test.is_familiarization) == (str(test.pk), clinician_a, True)
    assert body["points"][0] == {"angle_deg": 72, "torque": "100.00", "unit": scoring.FT_LBF, "torque_nm": "135.58"}
    assert Event.objects.get(action="create", object_id=str(test.pk)).actor_id == clinician_a.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"machine": 999999}, "machine"),
        ({"performed_at": "soon"}, "performed_at"),
        ({"rom_min_deg": -1}, "rom_min_deg"),
        ({"rom_min_deg": 80}, "rom_min_deg"),
        ({"points": [{"angle_deg": 72, "torque": "-5"}]}, "points.0.torque"),
        ({"points": [{"angle_deg": 71, "torque": "100"}]}, "points"),
        ({"unit": "kg"}, "unit"),
        ({"pain_after": 11}, "pain_after"),
    ],
)
def test_an_invalid_test_is_400_on_the_field_and_writes_nothing(
    client, clinician_a, patient_a, new_test, change, field
):
    response = post_as(client, clinician_a, strength_tests_of(patient_a), {**new_test, **change})
    assert response.status_code == 400
    assert any(error["attr"].startswith(field) for error in response.json()["errors"]), response.json()
    assert not StrengthTest.objects.exists()


def test_a_machine_of_another_clinic_is_400_on_the_machine(client, clinician_a, patient_a, new_test, clinic_b):
    body = {**new_test, "machine": factories.MachineFactory(clinic=clinic_b).pk}
    response = post_as(client, clinician_a, strength_tests_of(patient_a), body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "machine"
    assert not StrengthTest.objects.exists()


def test_staff_of_another_clinic_cannot_record_a_test(client, clinician_b, patient_a, new_test):
    assert post_as(client, clinician_b, strength_tests_of(patient_a), new_test).status_code == 404
    assert not StrengthTest.objects.exists()


def test_a_read_only_token_cannot_record_a_test(api, reader_a, patient_a, new_test, clinician_a):  # noqa: F811
    body = {**new_test, "recorded_by": clinician_a.username}
    assert api("POST", strength_tests_of(patient_a), token=reader_a, body=body).status_code == 403
    assert not StrengthTest.objects.exists()


def test_a_partner_records_a_test_for_the_clinician_it_names(api, writer_a, patient_a, new_test, clinician_a):  # noqa: F811
    key = {"Idempotency-Key": "ehr-t-1"}
    body = {**new_test, "recorded_by": "clinician_a"}
    first = api("POST", strength_tests_of(patient_a), token=writer_a, body=body, **key)
    again = api("POST", strength_tests_of(patient_a), token=writer_a, body=body, **key)
    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.json() == first.json()
    test = StrengthTest.objects.get()
    assert test.recorded_by == clinician_a
    assert Event.objects.get(action="create", object_id=str(test.pk)).actor_label == "partner:EHR A"


@pytest.mark.parametrize("recorded_by", [None, "front_desk_a"])  # no clinician; staff without the role
def test_a_partner_test_needs_a_clinician_who_may_test(api, writer_a, patient_a, new_test, clinic_a, recorded_by):  # noqa: F811
    factories.StaffFactory(username="front_desk_a", clinic=clinic_a, role="front_desk")
    body = new_test if recorded_by is None else {**new_test, "recorded_by": recorded_by}
    response = api("POST", strength_tests_of(patient_a), token=writer_a, body=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "recorded_by"
    assert not StrengthTest.objects.exists()


def test_recording_a_test_needs_authentication(api, patient_a, new_test):  # noqa: F811
    assert api("POST", strength_tests_of(patient_a), body=new_test).status_code == 401
    assert not StrengthTest.objects.exists()


def test_a_retried_test_with_the_same_key_is_recorded_once(client, clinician_a, patient_a, new_test):
    first = post_as(client, clinician_a, strength_tests_of(patient_a), new_test, **{"Idempotency-Key": "t-1"})
    again = post_as(client, clinician_a, strength_tests_of(patient_a), new_test, **{"Idempotency-Key": "t-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert StrengthTest.objects.count() == 1
