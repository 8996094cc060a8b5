"""The links in reminder emails that book and cancel: "choose a time" (/r/book/<token>/) and cancel
(/r/cancel/<token>/). GET shows and changes nothing; POST (CSRF-protected) books or cancels through
the scheduling services; a tampered, expired or reused link shows a clear page and books nothing."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from apps.audit.models import Event
from apps.reminders import tokens
from apps.reminders.models import Reminder, ReminderKind
from apps.scheduling.models import Appointment, AppointmentState, BookedVia
from tests import factories
from tests.reminders.appointment_support import (
    NOW,
    THU_0900,
    book,
    due_reminder,
    make_program,
    reminder_of,
)


@pytest.fixture
def reminder(clock, program, machine):
    return due_reminder(program, state="sent", sent_at=NOW, message_id="<reminder.sent@localhost>")


def book_url(token: str) -> str:
    return f"/r/book/{token}/"


def cancel_url(token: str) -> str:
    return f"/r/cancel/{token}/"


def choice(start=THU_0900, machine_id=None) -> dict[str, str]:
    return {"start": start.isoformat(), "machine": str(machine_id)}


def appointments() -> int:
    return Appointment.objects.count()


# --- Choose a time --------------------------------------------------------------------------------


def test_the_page_shows_free_times_with_the_first_name_and_clinic_only(client, reminder, patient):
    response = client.get(book_url(tokens.booking_token(reminder.pk)))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Hello Ana, choose a time at Clinic A" in page
    assert "Thursday, 17 December 2026, 09:00" in page  # the clinic's wall clock, closest to due first
    assert page.count('<form method="post">') == 9
    assert "csrfmiddlewaretoken" in page
    for secret in (patient.family_name, patient.mrn, patient.email, str(patient.pk)):
        assert secret not in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert appointments() == 0
    assert Event.objects.filter(
        object_id=str(reminder.pk), action="read", actor_label="patient (booking link)"
    ).exists()


def test_a_post_books_the_time_records_it_on_the_reminder_and_confirms_by_email(client, reminder, machine):
    response = client.post(book_url(tokens.booking_token(reminder.pk)), choice(machine_id=machine.pk))

    appointment = Appointment.objects.get()
    reminder.refresh_from_db()
    assert response.status_code == 200
    assert "You are booked, Ana." in response.content.decode()
    assert "Thursday, 17 December 2026</strong> at <strong>09:00" in response.content.decode()
    assert (appointment.starts_at, appointment.machine_id, appointment.state) == (THU_0900, machine.pk, "booked")
    assert appointment.booked_via == BookedVia.PATIENT_LINK
    assert reminder.booked_appointment_id == appointment.pk
    assert reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED).state == "pending"
    assert Event.objects.filter(object_id=str(reminder.pk), action="update").exists()


def test_a_used_link_shows_a_clear_page_and_books_nothing_more(client, reminder, machine):
    url = book_url(tokens.booking_token(reminder.pk))
    client.post(url, choice(machine_id=machine.pk))

    again = client.post(url, choice(THU_0900 + timedelta(hours=1), machine.pk))
    shown = client.get(url)

    assert (again.status_code, shown.status_code) == (410, 410)
    assert "This link has already been used to book." in again.content.decode()
    assert "Nothing was booked." in again.content.decode()
    assert appointments() == 1


def test_a_time_taken_meanwhile_shows_the_page_again_with_other_times(client, reminder, machine, clinician_a, clinic_a):
    other = make_program(clinician_a, factories.PatientFactory(clinic=clinic_a))
    book(other, machine, actor=clinician_a)

    response = client.post(book_url(tokens.booking_token(reminder.pk)), choice(machine_id=machine.pk))

    page = response.content.decode()
    assert response.status_code == 409
    assert "That time was just taken. Please choose another." in page
    assert "Thursday, 17 December 2026, 09:00" not in page
    assert page.count('<form method="post">') == 9
    assert Appointment.objects.filter(program=reminder.program).count() == 0
    reminder.refresh_from_db()
    assert reminder.booked_appointment_id is None


@pytest.mark.parametrize(
    "posted",
    [
        lambda m: choice(THU_0900 + timedelta(minutes=10), m.pk),  # not a slot
        lambda m: choice(NOW - timedelta(days=1), m.pk),  # in the past
        lambda m: {"start": "tomorrow", "machine": str(m.pk)},
        lambda m: {"start": "2026-12-17T09:00", "machine": str(m.pk)},  # no zone
        lambda m: choice(THU_0900, "not-a-number"),
        lambda m: choice(THU_0900, ""),
    ],
)
def test_a_time_or_machine_not_offered_is_refused_and_books_nothing(client, reminder, machine, posted):
    response = client.post(book_url(tokens.booking_token(reminder.pk)), posted(machine))

    assert response.status_code == 400
    assert "That time can no longer be booked." in response.content.decode()
    assert appointments() == 0


def test_a_machine_of_another_clinic_is_refused(client, reminder, clinic_b):
    elsewhere = factories.MachineFactory(clinic=clinic_b)

    response = client.post(book_url(tokens.booking_token(reminder.pk)), choice(machine_id=elsewhere.pk))

    assert response.status_code == 400
    assert appointments() == 0


def test_a_post_without_the_csrf_token_is_refused(reminder, machine):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(book_url(tokens.booking_token(reminder.pk)), choice(machine_id=machine.pk))

    assert response.status_code == 403
    assert appointments() == 0


def _tampered(reminder: Reminder) -> str:
    token = tokens.booking_token(reminder.pk)
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _other_id(reminder: Reminder) -> str:
    _value, _, signed = tokens.booking_token(reminder.pk).partition(":")
    return f"{uuid.uuid4().hex}:{signed}"


TAMPERED = [
    _tampered,
    _other_id,
    lambda r: tokens.unsubscribe_token(r.pk),  # another link's token
    lambda r: tokens.cancel_token(r.pk),
    lambda r: tokens.booking_token(uuid.uuid4()),
    lambda r: "not-a-token",
    lambda r: str(r.pk),
]


@pytest.mark.parametrize("make_token", TAMPERED)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_shows_a_clear_page_and_books_nothing(client, reminder, machine, make_token, method):
    response = getattr(client, method)(book_url(make_token(reminder)), choice(machine_id=machine.pk))

    assert response.status_code == 400
    assert "This booking link is not valid." in response.content.decode()
    assert "Nothing was booked." in response.content.decode()
    assert appointments() == 0


def token_made_days_ago(days: int, make, reminder_id, monkeypatch) -> str:
    then = time.time() - timedelta(days=days).total_seconds()
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: then)
        return make(reminder_id)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_shows_a_clear_page_and_books_nothing(client, reminder, machine, monkeypatch, method):
    token = token_made_days_ago(15, tokens.booking_token, reminder.pk, monkeypatch)

    response = getattr(client, method)(book_url(token), choice(machine_id=machine.pk))

    assert response.status_code == 400
    assert "This booking link has expired." in response.content.decode()
    assert appointments() == 0


def test_a_link_of_an_appointment_email_does_not_book(client, clock, program, machine):
    confirmation = reminder_of(book(program, machine), ReminderKind.APPOINTMENT_BOOKED)

    response = client.get(book_url(tokens.booking_token(confirmation.pk)))

    assert response.status_code == 400


def test_a_program_that_takes_no_bookings_shows_no_times(client, reminder):
    type(reminder.program).objects.filter(pk=reminder.program_id).update(status="on_hold")

    response = client.get(book_url(tokens.booking_token(reminder.pk)))

    assert response.status_code == 200
    assert "There is no free time to book online right now." in response.content.decode()


def test_the_page_speaks_the_patients_language(client, reminder, patient):
    type(patient).objects.filter(pk=patient.pk).update(preferred_language="fr")

    response = client.get(book_url(tokens.booking_token(reminder.pk)))

    assert "Bonjour Ana, choisissez un horaire à Clinic A" in response.content.decode()
    assert "jeudi 17 décembre 2026, 09:00" in response.content.decode()


def test_the_booking_token_carries_no_patient_identifier(reminder, patient):
    token = tokens.booking_token(reminder.pk)

    for identifier in (str(patient.pk), patient.pk.hex, patient.mrn, patient.email, patient.family_name):
        assert identifier.lower() not in token.lower()


# --- Cancel ---------------------------------------------------------------------------------------


@pytest.fixture
def confirmation(clock, program, machine):
    return reminder_of(book(program, machine), ReminderKind.APPOINTMENT_BOOKED)


def test_the_cancel_page_shows_the_appointment_and_the_late_cancellation_rule(client, confirmation):
    response = client.get(cancel_url(tokens.cancel_token(confirmation.pk)))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Hello Ana, cancel your training session?" in page
    assert "At Clinic A, on <strong>Thursday, 17 December 2026</strong> at <strong>09:00</strong>." in page
    assert "Cancelling less than 24 h before the start counts as a late cancellation." in page
    assert "cancelling now is a late cancellation" not in page
    assert Appointment.objects.get().state == AppointmentState.BOOKED


def test_cancelling_in_time_is_not_late(client, confirmation):
    response = client.post(cancel_url(tokens.cancel_token(confirmation.pk)))

    appointment = Appointment.objects.get()
    assert response.status_code == 200
    assert "Your appointment is cancelled." in response.content.decode()
    assert "counts as a late cancellation." not in response.content.decode().split("</h1>")[1]
    assert (appointment.state, appointment.cancelled_late) == (AppointmentState.CANCELLED, False)
    assert appointment.cancel_reason == "Cancelled by the patient (email link)."
    assert reminder_of(appointment, ReminderKind.APPOINTMENT_CANCELLED).state == "pending"


def test_a_late_cancellation_is_announced_before_and_recorded_as_late(client, clock, confirmation):
    clock.now = THU_0900 - timedelta(hours=3)
    url = cancel_url(tokens.cancel_token(confirmation.pk))

    shown = client.get(url).content.decode()
    response = client.post(url)

    assert "This appointment starts in less than 24 h: cancelling now is a late cancellation." in shown
    assert "It was cancelled less than 24 h before the start, so it counts as a late cancellation." in (
        response.content.decode()
    )
    assert Appointment.objects.get().cancelled_late is True


def test_cancelling_twice_changes_nothing_more(client, confirmation):
    url = cancel_url(tokens.cancel_token(confirmation.pk))
    client.post(url)
    events = Event.objects.exclude(action="read").count()

    response = client.post(url)

    assert response.status_code == 409
    assert "This appointment is already cancelled." in response.content.decode()
    assert Event.objects.exclude(action="read").count() == events
    assert Reminder.objects.filter(kind=ReminderKind.APPOINTMENT_CANCELLED).count() == 1


def test_an_appointment_that_has_begun_cannot_be_cancelled_online(client, clock, confirmation):
    clock.now = THU_0900 + timedelta(minutes=5)

    response = client.post(cancel_url(tokens.cancel_token(confirmation.pk)))

    assert response.status_code == 409
    assert "This appointment can no longer be cancelled online." in response.content.decode()
    assert Appointment.objects.get().state == AppointmentState.BOOKED


@pytest.mark.parametrize(
    "make_token",
    [lambda r: tokens.booking_token(r.pk), lambda r: tokens.unsubscribe_token(r.pk), lambda r: "nope"],
)
def test_a_tampered_cancel_link_changes_nothing(client, confirmation, make_token):
    response = client.post(cancel_url(make_token(confirmation)))

    assert response.status_code == 400
    assert "This cancel link is not valid." in response.content.decode()
    assert Appointment.objects.get().state == AppointmentState.BOOKED


def test_a_cancel_link_of_a_due_reminder_is_refused(client, reminder):
    response = client.get(cancel_url(tokens.cancel_token(reminder.pk)))

    assert response.status_code == 400


def test_the_cancel_post_needs_the_csrf_token(confirmation):
    response = Client(enforce_csrf_checks=True).post(cancel_url(tokens.cancel_token(confirmation.pk)))

    assert response.status_code == 403
    assert Appointment.objects.get().state == AppointmentState.BOOKED


def test_other_methods_are_not_allowed(client, reminder, confirmation):
    assert client.put(book_url(tokens.booking_token(reminder.pk))).status_code == 405
    assert client.delete(cancel_url(tokens.cancel_token(confirmation.pk))).status_code == 405
