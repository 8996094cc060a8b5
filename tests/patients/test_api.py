from __future__ import annotations

import uuid

import pytest

from apps.api.models import IdempotencyRecord
from apps.audit.models import Event
from apps.patients.models import Patient
from tests import factories

pytestmark = pytest.mark.django_db
PATIENTS = "/api/v1/patients/"


def detail(patient):
    return f"{PATIENTS}{patient.pk}/"


@pytest.fixture
def new_patient(clinic_a):
    return {
        "clinic": clinic_a.pk,
        "mrn": "A-0100",
        "given_name": "Dana",
        "family_name": "Diaz",
        "birth_date": "1970-05-04",
        "sex": "female",
        "height_cm": 168,
        "body_mass_kg": "64.5",
    }


def _fields(response):
    return {error["attr"]: error["code"] for error in response.json()["errors"]}


# --- list -----------------------------------------------------------------------------------------


def test_the_list_shows_only_the_tokens_clinics(api, writer_a, patient_a, patient_b, patient_c):
    response = api("GET", PATIENTS, token=writer_a)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(patient_a.pk)]


def test_the_list_is_ordered_by_change_and_pages_with_a_cursor(api, writer_a, clinic_a):
    made = [factories.PatientFactory(clinic=clinic_a) for _ in range(5)]
    first = api("GET", f"{PATIENTS}?page_size=3", token=writer_a).json()
    second = api("GET", first["next"], token=writer_a).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == [str(p.pk) for p in sorted(made, key=lambda p: (p.updated_at, p.pk))]
    assert second["next"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"height_cm": None, "body_mass_kg": None, "deceased_on": None, "email": ""},
        {"height_cm": 181, "body_mass_kg": "80.0", "deceased_on": "2026-01-02", "email": "p@example.test"},
    ],
)
def test_a_listed_patient_reads_exactly_as_its_detail(api, writer_a, clinic_a, fields):
    # The list writes rows by hand for speed; the detail goes through PatientOutput.
    patient = factories.PatientFactory(clinic=clinic_a, **fields)
    listed = api("GET", PATIENTS, token=writer_a).json()["results"]
    assert listed == [api("GET", detail(patient), token=writer_a).json()]


def test_the_page_size_is_capped_at_100(api, writer_a, clinic_a):
    Patient.objects.bulk_create(factories.PatientFactory.build_batch(105, clinic=clinic_a))
    assert len(api("GET", f"{PATIENTS}?page_size=500", token=writer_a).json()["results"]) == 100


def test_the_list_filters_by_updated_since_mrn_clinic_and_search(api, writer_a, clinic_a, patient_a):
    later = factories.PatientFactory(clinic=clinic_a, mrn="A-0002", family_name="Zeller")
    since = patient_a.updated_at.isoformat().replace("+00:00", "Z")

    def ids(query):
        return [row["mrn"] for row in api("GET", f"{PATIENTS}?{query}", token=writer_a).json()["results"]]

    assert ids(f"updated_since={later.updated_at.isoformat().replace('+00:00', 'Z')}") == ["A-0002"]
    assert ids(f"updated_since={since}") == ["A-0001", "A-0002"]
    assert ids("mrn=a-0001") == ["A-0001"]
    assert ids("search=zell") == ["A-0002"]
    assert ids(f"clinic={clinic_a.pk}") == ["A-0001", "A-0002"]


def test_filtering_by_a_clinic_outside_the_token_shows_nothing(api, writer_a, clinic_b, patient_b):
    assert api("GET", f"{PATIENTS}?clinic={clinic_b.pk}", token=writer_a).json()["results"] == []


def test_a_malformed_filter_is_400_naming_it(api, writer_a):
    response = api("GET", f"{PATIENTS}?updated_since=yesterday", token=writer_a)
    assert response.status_code == 400
    assert "updated_since" in _fields(response)


def test_each_patient_listed_is_audited_as_a_read_by_the_partner(api, writer_a, patient_a, clinic_a):
    other = factories.PatientFactory(clinic=clinic_a)
    api("GET", PATIENTS, token=writer_a)
    reads = Event.objects.filter(action="read")
    assert {str(e.patient_id) for e in reads} == {str(patient_a.pk), str(other.pk)}
    assert {(e.actor_id, e.actor_label) for e in reads} == {(None, "partner:EHR A")}


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_query_count_does_not_grow_with_the_page(api, writer_a, clinic_a, rows, django_assert_num_queries):
    Patient.objects.bulk_create(factories.PatientFactory.build_batch(rows, clinic=clinic_a))
    api("GET", PATIENTS, token=writer_a)  # first use stamps last_used_at
    # token + partner + granted clinics, page of patients, audit INSERT.
    with django_assert_num_queries(3):
        response = api("GET", PATIENTS, token=writer_a)
    assert len(response.json()["results"]) == rows


# --- detail ---------------------------------------------------------------------------------------


def test_the_detail_answers_with_a_weak_etag_and_304_when_unchanged(api, writer_a, patient_a):
    response = api("GET", detail(patient_a), token=writer_a)
    assert response.status_code == 200
    assert response.json()["mrn"] == "A-0001"
    etag = response["ETag"]
    assert etag.startswith('W/"')
    assert api("GET", detail(patient_a), token=writer_a, **{"If-None-Match": etag}).status_code == 304
    api("PATCH", detail(patient_a), token=writer_a, body={"phone": "555-0100"})
    assert api("GET", detail(patient_a), token=writer_a, **{"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_a_patient_outside_the_tokens_clinics_is_404(api, writer_a, writer_c, patient_b, patient_a, who):
    target, token = (patient_b, writer_a) if who == "other_clinic" else (patient_a, writer_c)
    assert api("GET", detail(target), token=token).status_code == 404
    assert api("PATCH", detail(target), token=token, body={"phone": "1"}).status_code == 404
    assert api("GET", detail(target), token=token).json()["errors"][0]["code"] == "not_found"


def test_an_unknown_patient_is_404(api, writer_a):
    assert api("GET", f"{PATIENTS}{uuid.uuid4()}/", token=writer_a).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_the_detail_needs_authentication(api, patient_a, method):
    assert api(method, detail(patient_a), body={"phone": "1"} if method == "PATCH" else None).status_code == 401


# --- create ---------------------------------------------------------------------------------------


def test_a_read_write_token_creates_a_patient_audited_to_the_partner(api, writer_a, new_patient, clinic_a):
    response = api("POST", PATIENTS, token=writer_a, body=new_patient)
    assert response.status_code == 201, response.json()
    patient = Patient.objects.get(mrn="A-0100")
    assert response.json()["id"] == str(patient.pk)
    assert (patient.clinic, patient.organization_id) == (clinic_a, clinic_a.organization_id)
    event = Event.objects.get(action="create", patient_id=patient.pk)
    assert (event.actor_id, event.actor_label) == (None, "partner:EHR A")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mrn": ""}, "mrn"),
        ({"birth_date": "05/04/1970"}, "birth_date"),
        ({"sex": "f"}, "sex"),
        ({"height_cm": 50}, "height_cm"),
        ({"body_mass_kg": "1000"}, "body_mass_kg"),
        ({"email": "not-an-email"}, "email"),
        ({"given_name": None}, "given_name"),
    ],
)
def test_invalid_input_is_400_with_the_field_and_writes_nothing(api, writer_a, new_patient, change, field):
    response = api("POST", PATIENTS, token=writer_a, body={**new_patient, **change})
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert field in _fields(response)
    assert not Patient.objects.exists()


def test_a_duplicate_mrn_is_400_on_the_mrn(api, writer_a, new_patient, patient_a):
    response = api("POST", PATIENTS, token=writer_a, body={**new_patient, "mrn": "a-0001"})
    assert response.status_code == 400
    assert "mrn" in _fields(response)
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("clinic", ["clinic_b", "clinic_c"])
def test_a_clinic_the_token_cannot_see_is_400_on_the_clinic(api, writer_a, new_patient, clinic, request):
    body = {**new_patient, "clinic": request.getfixturevalue(clinic).pk}
    response = api("POST", PATIENTS, token=writer_a, body=body)
    assert response.status_code == 400
    assert _fields(response) == {"clinic": "does_not_exist"}
    assert not Patient.objects.exists()


def test_a_read_only_token_cannot_write_to_its_own_clinic(api, reader_a, new_patient, patient_a):
    assert api("POST", PATIENTS, token=reader_a, body=new_patient).status_code == 403
    response = api("PATCH", detail(patient_a), token=reader_a, body={"phone": "555-0199"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert Patient.objects.count() == 1
    patient_a.refresh_from_db()
    assert patient_a.phone == ""


def test_create_needs_authentication(api, new_patient):
    assert api("POST", PATIENTS, body=new_patient).status_code == 401
    assert not Patient.objects.exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_first_result(api, writer_a, new_patient):
    first = api("POST", PATIENTS, token=writer_a, body=new_patient, **{"Idempotency-Key": "k-1"})
    again = api("POST", PATIENTS, token=writer_a, body=new_patient, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "True"
    assert Patient.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_writes_nothing(api, writer_a, new_patient):
    api("POST", PATIENTS, token=writer_a, body=new_patient, **{"Idempotency-Key": "k-1"})
    response = api(
        "POST", PATIENTS, token=writer_a, body={**new_patient, "mrn": "A-0200"}, **{"Idempotency-Key": "k-1"}
    )
    assert response.status_code == 422
    assert "different request body" in response.json()["errors"][0]["detail"]
    assert Patient.objects.count() == 1


def test_keys_belong_to_one_partner(api, writer_a, writer_c, new_patient, clinic_c):
    api("POST", PATIENTS, token=writer_a, body=new_patient, **{"Idempotency-Key": "k-1"})
    response = api(
        "POST", PATIENTS, token=writer_c, body={**new_patient, "clinic": clinic_c.pk}, **{"Idempotency-Key": "k-1"}
    )
    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_an_expired_key_is_used_afresh(api, writer_a, new_patient):
    from django.utils import timezone

    api("POST", PATIENTS, token=writer_a, body=new_patient, **{"Idempotency-Key": "k-1"})
    IdempotencyRecord.objects.update(expires_at=timezone.now())
    response = api(
        "POST", PATIENTS, token=writer_a, body={**new_patient, "mrn": "A-0300"}, **{"Idempotency-Key": "k-1"}
    )
    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_a_malformed_key_is_400(api, writer_a, new_patient):
    response = api("POST", PATIENTS, token=writer_a, body=new_patient, **{"Idempotency-Key": "has space"})
    assert response.status_code == 400
    assert "Idempotency-Key" in _fields(response)
    assert not Patient.objects.exists()


# --- update ---------------------------------------------------------------------------------------


def test_a_read_write_token_updates_a_patient(api, writer_a, patient_a):
    response = api("PATCH", detail(patient_a), token=writer_a, body={"phone": "555-0100", "height_cm": 180})
    assert response.status_code == 200
    patient_a.refresh_from_db()
    assert (patient_a.phone, patient_a.height_cm) == ("555-0100", 180)
    assert Event.objects.get(action="update").actor_label == "partner:EHR A"


def test_an_invalid_update_is_400_and_changes_nothing(api, writer_a, patient_a):
    response = api("PATCH", detail(patient_a), token=writer_a, body={"height_cm": 20, "phone": "1"})
    assert response.status_code == 400
    assert "height_cm" in _fields(response)
    patient_a.refresh_from_db()
    assert patient_a.phone == ""


def test_moving_a_patient_to_a_clinic_the_token_cannot_see_is_refused(api, writer_a, patient_a, clinic_b):
    response = api("PATCH", detail(patient_a), token=writer_a, body={"clinic": clinic_b.pk})
    assert response.status_code == 400
    patient_a.refresh_from_db()
    assert patient_a.clinic_id != clinic_b.pk
