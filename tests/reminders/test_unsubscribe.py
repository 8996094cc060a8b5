"""The one-click unsubscribe page: GET confirms and changes nothing, POST unsubscribes (also the
RFC 8058 one-click POST of a mail provider), a tampered or expired link changes nothing."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from apps.audit.models import Event
from apps.patients.models import Patient
from apps.reminders import tokens
from apps.reminders.models import Reminder, ReminderState
from tests.reminders.conftest import due_reminders


@pytest.fixture
def reminder(open_clinic):
    first, second = due_reminders(open_clinic, 2)
    # Two pending reminders of the same patient (say a questionnaire due too), one of another patient.
    extra = Reminder.objects.get(pk=second)
    extra.patient_id = Reminder.objects.get(pk=first).patient_id
    extra.save()
    due_reminders(open_clinic, 1, prefix="other")
    return Reminder.objects.select_related("patient").get(pk=first)


def url(token: str) -> str:
    return f"/r/unsubscribe/{token}/"


def state(reminder: Reminder) -> tuple:
    patient = Patient.objects.get(pk=reminder.patient_id)
    states = sorted(Reminder.objects.values_list("state", flat=True))
    return patient.unsubscribed_at, states, Event.objects.count()


def test_get_asks_for_confirmation_and_changes_nothing(client, reminder):
    before = state(reminder)

    response = client.get(url(tokens.unsubscribe_token(reminder.pk)))

    assert response.status_code == 200
    assert b"Stop reminder emails from Clinic Open?" in response.content
    assert b'<form method="post">' in response.content
    assert state(reminder) == before
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_post_unsubscribes_the_patient_and_cancels_their_pending_reminders(client, reminder):
    response = client.post(url(tokens.unsubscribe_token(reminder.pk)))

    patient = Patient.objects.get(pk=reminder.patient_id)
    assert response.status_code == 200
    assert b"You are unsubscribed." in response.content
    assert patient.unsubscribed_at is not None
    assert not patient.may_receive_email_reminders
    mine = Reminder.objects.filter(patient=patient)
    assert set(mine.values_list("state", "cancel_reason")) == {(ReminderState.CANCELLED, "unsubscribed")}
    assert Reminder.objects.exclude(patient=patient).get().state == ReminderState.PENDING
    events = Event.objects.filter(patient_id=patient.pk)
    assert set(events.values_list("object_type", "action", "actor_label", "channel")) == {
        ("patients.patient", "update", "patient (unsubscribe link)", "ui"),
        ("reminders.reminder", "update", "patient (unsubscribe link)", "ui"),
    }
    assert events.count() == 3  # the patient and its two reminders


def test_the_one_click_post_of_a_mail_provider_works_without_a_csrf_token(reminder):
    provider = Client(enforce_csrf_checks=True)

    response = provider.post(
        url(tokens.unsubscribe_token(reminder.pk)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert Patient.objects.get(pk=reminder.patient_id).unsubscribed_at is not None


def test_unsubscribing_twice_changes_and_records_nothing_more(client, reminder):
    client.post(url(tokens.unsubscribe_token(reminder.pk)))
    after_first = state(reminder)

    response = client.post(url(tokens.unsubscribe_token(reminder.pk)))

    assert response.status_code == 200
    assert state(reminder) == after_first


def _tampered_signature(reminder: Reminder) -> str:
    token = tokens.unsubscribe_token(reminder.pk)
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _other_id(reminder: Reminder) -> str:
    _value, _, signed = tokens.unsubscribe_token(reminder.pk).partition(":")
    return f"{uuid.uuid4().hex}:{signed}"


def _other_salt(reminder: Reminder) -> str:
    return signing.TimestampSigner(salt="some.other.purpose").sign(reminder.pk.hex)


def _unknown_reminder(reminder: Reminder) -> str:
    return tokens.unsubscribe_token(uuid.uuid4())


@pytest.mark.parametrize(
    "make_token",
    [_tampered_signature, _other_id, _other_salt, _unknown_reminder, lambda r: "not-a-token", lambda r: str(r.pk)],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_refused_with_a_clear_page_and_changes_nothing(client, reminder, make_token, method):
    before = state(reminder)

    response = getattr(client, method)(url(make_token(reminder)))

    assert response.status_code == 400
    assert b"This unsubscribe link is not valid." in response.content
    assert b"Nothing was changed." in response.content
    assert state(reminder) == before


def token_made_days_ago(days: int, reminder: Reminder, monkeypatch) -> str:
    then = time.time() - timedelta(days=days).total_seconds()
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: then)
        return tokens.unsubscribe_token(reminder.pk)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_is_refused_with_a_clear_page_and_changes_nothing(client, reminder, monkeypatch, method):
    token = token_made_days_ago(181, reminder, monkeypatch)
    before = state(reminder)

    response = getattr(client, method)(url(token))

    assert response.status_code == 400
    assert b"This unsubscribe link has expired." in response.content
    assert state(reminder) == before


def test_a_link_within_its_lifetime_still_works(client, reminder, monkeypatch):
    token = token_made_days_ago(179, reminder, monkeypatch)

    assert client.post(url(token)).status_code == 200


def test_the_page_speaks_the_patients_language(client, reminder):
    Patient.objects.filter(pk=reminder.patient_id).update(preferred_language="es")

    confirm = client.get(url(tokens.unsubscribe_token(reminder.pk)))
    done = client.post(url(tokens.unsubscribe_token(reminder.pk)))

    assert "¿Dejar de recibir recordatorios de Clinic Open?" in confirm.content.decode()
    assert "Se ha dado de baja." in done.content.decode()


def test_an_invalid_link_answers_in_the_browsers_language(client, reminder):
    response = client.get(url("not-a-token"), headers={"Accept-Language": "de-DE,de;q=0.9"})

    assert response.status_code == 400
    assert "Dieser Abmeldelink ist ungültig." in response.content.decode()


def test_the_token_carries_no_patient_identifier(reminder):
    token = tokens.unsubscribe_token(reminder.pk)
    patient = reminder.patient

    for identifier in (str(patient.pk), patient.pk.hex, patient.mrn, patient.email, patient.family_name):
        assert identifier.lower() not in token.lower()


def test_other_methods_are_not_allowed(client, reminder):
    assert client.put(url(tokens.unsubscribe_token(reminder.pk))).status_code == 405
