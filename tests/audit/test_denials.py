"""Refused attempts on patient data and failed sign-ins each leave exactly one event, naming no patient."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseNotFound
from django.test import RequestFactory
from django.urls import reverse

from apps.audit.denials import on_login_failed
from apps.audit.middleware import RequestContextMiddleware
from apps.audit.models import Action, Event
from tests.audit.conftest import make_event

CLIENT_ADDRESS = "203.0.113.9"
REFUSED = (Action.DENIED, Action.LOGIN_FAILED)


def the_refusal() -> Event:
    (event,) = Event.objects.filter(action__in=REFUSED)
    assert (event.patient_id, event.clinic_id, event.organization_id) == (None, None, None)
    assert event.object_type == "url"
    return event


def assert_recorded(response, status: int, actor, label: str, channel: str) -> Event:
    assert response.status_code == status
    event = the_refusal()
    assert (event.action, event.actor, event.actor_label, event.channel) == (Action.DENIED, actor, label, channel)
    assert (event.ip_address, event.request_id) == (CLIENT_ADDRESS, response["X-Request-ID"])
    assert event.object_id == response.request["PATH_INFO"]
    return event


# --- 404 by scope, on every channel ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "channel"),
    [
        ("/api/v1/patients/{id}/", "api"),
        ("/api/v1/patients/{id}/strength-tests/", "api"),
        ("/fhir/R4/Patient/{id}", "fhir"),
        ("/admin/patients/patient/{id}/change/", "admin"),
        ("/admin/patients/patient/{id}/history/", "admin"),
        ("/patients/{id}/", "ui"),
        ("/patients/{id}/edit/", "ui"),
    ],
)
def test_another_clinics_patient_is_404_and_one_refusal_naming_no_patient(
    signed_in, clinician_b, patient_a, url, channel
):
    client = signed_in(clinician_b)

    response = client.get(url.format(id=patient_a.pk), REMOTE_ADDR=CLIENT_ADDRESS)

    assert_recorded(response, 404, clinician_b, "clinician_b", channel)
    assert not Event.objects.filter(patient_id=patient_a.pk).exists()


def test_a_patient_that_does_not_exist_is_recorded_alike(signed_in, clinician_b, patient_a):
    missing = "00000000-0000-4000-8000-000000000000"

    response = signed_in(clinician_b).get(f"/api/v1/patients/{missing}/", REMOTE_ADDR=CLIENT_ADDRESS)

    assert assert_recorded(response, 404, clinician_b, "clinician_b", "api").object_id == f"/api/v1/patients/{missing}/"


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def test_a_partner_token_refused_is_recorded_under_the_partners_name(client, reader_a, patient_b):
    response = client.get(f"/api/v1/patients/{patient_b.pk}/", headers=bearer(reader_a), REMOTE_ADDR=CLIENT_ADDRESS)

    assert_recorded(response, 404, None, "partner:EHR A", "api")


def test_the_query_string_is_not_recorded(signed_in, clinician_b, patient_a):
    response = signed_in(clinician_b).get(f"/api/v1/patients/{patient_a.pk}/?secret=x", REMOTE_ADDR=CLIENT_ADDRESS)

    assert "secret" not in assert_recorded(response, 404, clinician_b, "clinician_b", "api").object_id


# --- 403 and 401 ----------------------------------------------------------------------------------


def test_a_403_is_recorded(client, reader_a, clinic_a):
    body = {"clinic": clinic_a.pk, "mrn": "X-1", "given_name": "A", "family_name": "B", "birth_date": "1970-01-01"}

    response = client.post(
        "/api/v1/patients/", body, content_type="application/json", headers=bearer(reader_a), REMOTE_ADDR=CLIENT_ADDRESS
    )

    assert_recorded(response, 403, None, "partner:EHR A", "api")


@pytest.mark.parametrize("token", [None, "sz_not-a-real-token"])
def test_a_401_is_recorded_as_anonymous(client, patient_a, token):
    response = client.get(f"/api/v1/patients/{patient_a.pk}/", headers=bearer(token), REMOTE_ADDR=CLIENT_ADDRESS)

    assert_recorded(response, 401, None, "anonymous", "api")


# --- What is not a refusal on patient data ---------------------------------------------------------


def test_a_successful_request_records_no_refusal(signed_in, clinician_a, patient_a):
    client = signed_in(clinician_a)

    assert client.get(f"/api/v1/patients/{patient_a.pk}/").status_code == 200
    assert client.get(f"/patients/{patient_a.pk}/").status_code == 200
    assert not Event.objects.filter(action__in=REFUSED).exists()
    assert Event.objects.filter(action=Action.READ, patient_id=patient_a.pk).exists()


def test_a_404_outside_patient_data_is_not_recorded(signed_in, clinician_b):
    client = signed_in(clinician_b)

    assert client.get("/admin/clinics/machine/999999/change/").status_code == 404
    assert client.get("/no-such-page/").status_code == 404
    assert not Event.objects.exists()


# --- Failed sign-ins -------------------------------------------------------------------------------


def test_a_failed_sign_in_is_recorded_with_the_name_tried(client, clinician_a):
    response = client.post(
        reverse("account_login"), {"login": "clinician_a", "password": "wrong password"}, REMOTE_ADDR=CLIENT_ADDRESS
    )

    assert response.status_code in {200, 400}
    event = the_refusal()
    assert (event.action, event.actor, event.actor_label) == (Action.LOGIN_FAILED, None, "clinician_a")
    assert (event.ip_address, event.channel, event.object_id) == (CLIENT_ADDRESS, "ui", reverse("account_login"))


def test_an_unknown_name_is_recorded_as_tried(client, db):
    client.post(reverse("account_login"), {"login": "nobody", "password": "wrong password"}, REMOTE_ADDR=CLIENT_ADDRESS)

    assert the_refusal().actor_label == "nobody"


def test_a_failure_signalled_outside_a_request_is_recorded_at_once_and_truncated(db):
    on_login_failed(sender=None, credentials={"username": "x" * 400, "password": "********"})

    assert the_refusal().actor_label == "x" * 150


def test_a_successful_sign_in_records_no_failure(client, clinician_a):
    from tests.factories import PASSWORD

    client.post(reverse("account_login"), {"login": "clinician_a", "password": PASSWORD})

    assert not Event.objects.filter(action__in=REFUSED).exists()


# --- Written after the view, whatever its transaction did ------------------------------------------


def test_a_refusal_survives_the_rollback_of_the_views_transaction(db):
    """The view writes an event, signals a failed sign-in, then rolls back and answers 404."""

    def view(request):
        try:
            with transaction.atomic():
                make_event(object_id="rolled back")
                on_login_failed(sender=None, credentials={"username": "mallory"}, request=request)
                raise Http404
        except Http404:
            return HttpResponseNotFound()

    response = RequestContextMiddleware(view)(RequestFactory().get("/api/v1/patients/", REMOTE_ADDR=CLIENT_ADDRESS))

    assert response.status_code == 404
    assert not Event.objects.filter(object_id="rolled back").exists()
    assert sorted(Event.objects.values_list("action", "actor_label")) == [
        (Action.DENIED, "anonymous"),
        (Action.LOGIN_FAILED, "mallory"),
    ]


def test_a_request_with_nothing_to_record_writes_nothing(db, django_assert_num_queries):
    middleware = RequestContextMiddleware(lambda request: HttpResponse())

    with django_assert_num_queries(0):
        middleware(RequestFactory().get("/api/v1/patients/"))


def test_a_refusal_costs_one_insert(db, django_assert_num_queries):
    middleware = RequestContextMiddleware(lambda request: HttpResponseNotFound())

    with django_assert_num_queries(1) as queries:
        middleware(RequestFactory().get("/fhir/R4/Patient/x"))

    assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "audit_event"')
