"""End to end with real processes (issue 16): a Celery worker consuming a private Redis and sending to
the SMTP server on loopback, the patient's browser as the test client.

A session recorded → the due email offers free times → the patient books one from its link (an HTTP
POST) → a confirmation with a valid .ics → the 24 h reminder → check-in → the session recorded from
the appointment → the next times offered.

The worker sends at the real clock, so the story is laid around it: the session six days ago, the
due email two and a half days ago, the booking two days ago (this process's clock set back for the
POST), the appointment at one of the free times the email offered (within the next day), so its
24 h reminder is due now. The sweep runs in this process with `now`, as in test_worker.py.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone

from apps.programs import services as program_services
from apps.programs import sessions
from apps.reminders import tokens
from apps.reminders.models import Reminder, ReminderKind, ReminderState
from apps.reminders.tasks import sweep_and_enqueue as reminders_sweep
from apps.scheduling import selectors, visits
from apps.scheduling.ical import UID_DOMAIN
from apps.scheduling.models import Appointment, AppointmentState
from tests import factories
from tests.reminders.appointment_support import calendar_part, ics
from tests.reminders.support import SITE_URL, poll
from tests.reminders.test_worker import broker_idle, zone_in_daytime

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VALUES = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2, "pain_after": 2}
BOOK_LINK = re.compile(rf"Choose a time: {re.escape(SITE_URL)}(/r/book/[^/\s]+/)")


def sent(kind: str) -> bool:
    return Reminder.objects.filter(kind=kind, state=ReminderState.SENT).exists()


def wait_for_email(sink, count: int) -> list:
    poll(lambda: sink.count() >= count, timeout=20, message=f"{count} emails")
    return sink.messages()


@pytest.fixture
def clinic(organization):
    tz = zone_in_daytime(timezone.now())
    clinic = factories.ClinicFactory(
        organization=organization,
        name="Clinic Day",
        timezone=tz.key,
        address_line="1 Harbour St",
        postal_code="10001",
        reply_to_email="desk@day.example.test",
    )
    calendar = factories.ClinicCalendarFactory(clinic=clinic)
    for weekday in range(7):  # open every day, so a free time always lies within the next day
        factories.OpeningHoursFactory(calendar=calendar, weekday=weekday, opens_at=time(8), closes_at=time(18))
    return clinic


def test_due_email_to_booking_to_reminder_to_check_in_to_session_to_the_next_slots(
    broker, make_worker, sink, clinic, monkeypatch, client
):
    real = timezone.now()
    clinician = factories.StaffFactory(clinic=clinic, role="physical_therapist")
    patient = factories.PatientFactory(clinic=clinic, given_name="Ana", email="ana@example.test")
    machine = factories.MachineFactory(clinic=clinic, name="Lumbar 1")
    session_at = real - timedelta(days=6)
    test = factories.StrengthTestFactory(patient=patient, machine=machine, performed_at=session_at - timedelta(days=4))
    program = program_services.program_create(
        actor=clinician, patient=patient, region="lumbar", baseline_test=test, start_load=100
    )
    program_services.program_start(actor=clinician, program=program, now=session_at - timedelta(days=3))
    sessions.session_record(
        actor=clinician, program=program, machine=machine, performed_at=session_at, now=session_at, **VALUES
    )
    program.refresh_from_db()
    make_worker(broker.url).start()

    # 1. The due email (its due time falls in the night: it goes when quiet hours end).
    reminders_sweep(now=program.next_due_at)
    due = Reminder.objects.get(kind=ReminderKind.SESSION_DUE)
    reminders_sweep(now=due.scheduled_for)
    (due_email,) = wait_for_email(sink, 1)
    offered = selectors.offer_slots(program, now=timezone.now())
    text = due_email.text()
    for slot in offered:
        assert f"- {slot.start.astimezone(clinic.tzinfo):%A %-d %B, %H:%M}" in text
    starts = offered[2].start  # the third: at least an hour from now, within the next day
    link = BOOK_LINK.search(text).group(1)

    # 2. The patient books from the link, two days ago by this process's clock.
    booked_at = real - timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: booked_at)
    page = client.get(link)
    response = client.post(link, {"start": starts.isoformat(), "machine": str(machine.pk)})
    reused = client.post(link, {"start": (starts + timedelta(hours=1)).isoformat(), "machine": str(machine.pk)})
    tampered = client.post(link[:-2] + "x/", {"start": starts.isoformat(), "machine": str(machine.pk)})
    monkeypatch.undo()
    appointment = Appointment.objects.get()

    assert page.status_code == 200
    assert "Hello Ana, choose a time at Clinic Day" in page.content.decode()
    assert response.status_code == 200
    assert "You are booked, Ana." in response.content.decode()
    assert (reused.status_code, tampered.status_code) == (410, 400)
    assert Appointment.objects.count() == 1  # the reused and the tampered link booked nothing
    assert appointment.starts_at == starts

    # 3. The confirmation, with a valid invite.
    _due, confirmation = wait_for_email(sink, 2)
    poll(lambda: sent(ReminderKind.APPOINTMENT_BOOKED), timeout=10, message="the confirmation marked sent")
    invite = ics(confirmation.message)
    (event,) = invite.walk("VEVENT")
    assert calendar_part(confirmation.message).get_param("method") == "REQUEST"
    assert str(invite["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{appointment.pk}@{UID_DOMAIN}"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].params["TZID"] == clinic.timezone
    assert event.decoded("DTSTART") == starts
    assert [str(zone["TZID"]) for zone in invite.walk("VTIMEZONE")] == [clinic.timezone]
    assert str(event["LOCATION"]) == "Clinic Day, 1 Harbour St, 10001 San Diego, US"
    assert confirmation.message["Subject"] == "Booked: your training session at Clinic Day"
    cancel_link = re.search(rf"{re.escape(SITE_URL)}(/r/cancel/[^/\s]+/)", confirmation.text()).group(1)

    # 4. The 24 h reminder, when the sweep reaches its time (the booking came before it).
    upcoming = Reminder.objects.get(kind=ReminderKind.APPOINTMENT_UPCOMING)
    assert upcoming.scheduled_for == starts - timedelta(hours=24)
    assert reminders_sweep(now=upcoming.scheduled_for - timedelta(minutes=1)).enqueued == []
    assert reminders_sweep(now=upcoming.scheduled_for).enqueued == [upcoming.pk]
    _due, _confirmation, reminder_email = wait_for_email(sink, 3)
    poll(lambda: sent(ReminderKind.APPOINTMENT_UPCOMING), timeout=10, message="the upcoming reminder marked sent")
    assert reminder_email.message["Subject"] == "Reminder: your training session at Clinic Day"
    assert int(ics(reminder_email.message).walk("VEVENT")[0]["SEQUENCE"]) == 0
    assert "counts as a late cancellation" in reminder_email.text()

    # Three hours before the start the cancel link states the rule and that this one would be late.
    monkeypatch.setattr(timezone, "now", lambda: starts - timedelta(hours=3))
    late = client.get(cancel_link).content.decode()
    monkeypatch.undo()
    assert "Cancelling less than 24 h before the start counts as a late cancellation." in late
    assert "cancelling now is a late cancellation" in late

    # 5. Check-in, the session recorded from the appointment, and the next times offered.
    visits.appointment_check_in(actor=clinician, appointment=appointment, now=starts)
    recorded = visits.session_record_from(
        actor=clinician, appointment=appointment, machine=machine, performed_at=starts, now=starts, **VALUES
    )
    appointment.refresh_from_db()
    program.refresh_from_db()
    following = selectors.offer_slots(program, now=starts + timedelta(hours=1))

    assert (appointment.state, appointment.session_id) == (AppointmentState.COMPLETED, recorded.pk)
    assert program.last_completed_at == starts
    assert len(following) == 3
    assert all(slot.start >= starts + timedelta(hours=48) for slot in following)

    poll(lambda: broker_idle(broker), timeout=10)
    assert sink.count() == 3  # no email twice, and none for the check-in or the session
    assert sink.recipients() == {"ana@example.test": 3}
    assert len({received.message_id for received in sink.messages()}) == 3
    assert set(Reminder.objects.values_list("kind", "state")) == {
        (ReminderKind.SESSION_DUE, ReminderState.SENT),
        (ReminderKind.APPOINTMENT_BOOKED, ReminderState.SENT),
        (ReminderKind.APPOINTMENT_UPCOMING, ReminderState.SENT),
    }
    assert Reminder.objects.get(kind=ReminderKind.SESSION_DUE).booked_appointment_id == appointment.pk
    assert tokens.reminder_id_from(link.split("/")[3], max_age=timedelta(days=1), salt=tokens.BOOKING_SALT) == due.pk
