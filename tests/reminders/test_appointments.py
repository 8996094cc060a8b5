"""Appointment reminders: the rows written with a booking or cancellation, the upcoming time (quiet
hours: the evening before), what closes them, the block reasons and their SQL twin, the emails and
their iCalendar invites, and no session_due for a patient already booked."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils.html import strip_tags
from kombu.exceptions import OperationalError

from apps.audit.models import Event
from apps.programs.models import Program, ProgramStatus
from apps.reminders import appointments, emails, rules, tasks
from apps.reminders.delivery import Outcome, reminders_deliver
from apps.reminders.models import CancelReason, Reminder, ReminderKind, ReminderState
from apps.reminders.tasks import sweep_and_enqueue as reminders_sweep
from apps.scheduling import visits
from apps.scheduling.booking import BOOKING_LINK
from apps.scheduling.ical import UID_DOMAIN
from apps.scheduling.models import Appointment, AppointmentState
from tests.reminders.appointment_support import (
    NOW,
    THU_0900,
    as_received,
    book,
    calendar_part,
    due_reminder,
    ics,
    reminder_of,
)

LA = ZoneInfo("America/Los_Angeles")
NIGHT = (time(21), time(8))
DAY = timedelta(days=1)


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)


def kinds_and_states(appointment) -> set[tuple[str, str, str]]:
    return set(Reminder.objects.filter(appointment=appointment).values_list("kind", "state", "cancel_reason"))


# --- The upcoming time (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "quiet", "sent"),
    [
        (la(2026, 12, 17, 9), NIGHT, la(2026, 12, 16, 9)),  # 24 h before, in the day
        (la(2026, 12, 17, 7, 30), NIGHT, la(2026, 12, 15, 20, 59)),  # Wed 07:30 is quiet: the evening before
        (la(2026, 12, 17, 22), NIGHT, la(2026, 12, 16, 20, 59)),  # 22:00 is quiet: just before it began
        (la(2026, 12, 17, 9), (time(21), time(10)), la(2026, 12, 15, 20, 59)),  # the night before that
        (la(2026, 12, 17, 12, 30), (time(12), time(13)), la(2026, 12, 16, 11, 59)),  # a quiet lunch hour
        (la(2026, 12, 17, 9), (time(0), time(0)), la(2026, 12, 16, 9)),  # no quiet hours
        # Across the spring-forward night: 24 h of elapsed time, and the evening before in PST.
        (la(2026, 3, 9, 7), NIGHT, la(2026, 3, 7, 20, 59)),
    ],
)
def test_the_upcoming_reminder_goes_24_h_before_or_the_evening_before_quiet_hours(starts, quiet, sent):
    assert rules.upcoming_send_at(starts, DAY, LA, *quiet) == sent.astimezone(UTC)


def test_the_upcoming_time_is_never_in_quiet_hours_nor_after_the_lead():
    for minute in range(0, 24 * 60, 7):
        starts = la(2026, 12, 17) + timedelta(minutes=minute)
        sent = rules.upcoming_send_at(starts, DAY, LA, *NIGHT)
        assert sent <= starts - DAY
        assert not rules.in_quiet_hours(sent.astimezone(LA).time(), *NIGHT)


# --- Rows written with the booking ----------------------------------------------------------------


def test_a_booking_writes_a_confirmation_now_and_an_upcoming_reminder_in_its_transaction(
    clock, program, machine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as enqueued:
        appointment = book(program, machine)

    confirmation = reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED)
    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)
    assert (confirmation.state, confirmation.scheduled_for, confirmation.due_at) == ("pending", NOW, THU_0900)
    assert confirmation.enqueued_at == NOW  # sent when the booking commits, not a sweep later
    assert (upcoming.state, upcoming.scheduled_for, upcoming.enqueued_at) == ("pending", THU_0900 - DAY, None)
    assert (confirmation.clinic_id, confirmation.patient_id) == (program.clinic_id, program.patient_id)
    assert len(enqueued) == 1
    created = Event.objects.filter(object_type="reminders.reminder", action="create")
    assert set(created.values_list("object_id", "actor_label")) == {
        (str(confirmation.pk), "patient (booking link)"),
        (str(upcoming.pk), "patient (booking link)"),
    }


def test_a_booking_in_the_evening_confirms_when_quiet_hours_end(clock, program, machine):
    clock.now = la(2026, 12, 14, 22).astimezone(UTC)

    appointment = book(program, machine, now=clock.now)

    assert reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED).scheduled_for == la(2026, 12, 15, 8)


def test_a_booking_made_after_the_upcoming_instant_gets_no_upcoming_row(clock, program, machine):
    clock.now = THU_0900 - timedelta(hours=20)
    Program.objects.filter(pk=program.pk).update(earliest_next_at=clock.now - DAY)

    appointment = book(program, machine, now=clock.now)

    assert kinds_and_states(appointment) == {(ReminderKind.APPOINTMENT_BOOKED, "pending", "")}


def test_a_patient_who_may_not_be_emailed_gets_rows_cancelled_saying_why(clock, program, machine, patient):
    type(patient).objects.filter(pk=patient.pk).update(email_reminder_consent=False)
    program.refresh_from_db()

    appointment = book(program, machine)

    assert {state for _kind, state, _reason in kinds_and_states(appointment)} == {ReminderState.CANCELLED}
    assert {reason for _kind, _state, reason in kinds_and_states(appointment)} == {CancelReason.NO_CONSENT}


def test_the_rows_are_made_once_whatever_announces_the_change_twice(clock, program, machine):
    appointment = book(program, machine)

    with transaction.atomic():
        again = appointments.reminders_for_appointment(appointment=appointment, change="booked", actor=None, now=NOW)

    assert again == []
    assert Reminder.objects.filter(appointment=appointment).count() == 2


def test_the_database_refuses_a_second_row_of_one_kind_for_an_appointment(clock, program, machine):
    appointment = book(program, machine)
    twin = reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED)
    twin.pk = None
    twin.id = None

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(**{f.attname: getattr(twin, f.attname) for f in Reminder._meta.concrete_fields[1:]})


def test_an_appointment_kind_without_an_appointment_is_refused(program):
    with pytest.raises(IntegrityError), transaction.atomic():
        due_reminder(program, ReminderKind.APPOINTMENT_UPCOMING)


# --- What closes them -----------------------------------------------------------------------------


def test_cancelling_closes_the_pending_rows_and_sends_a_cancellation(clock, program, machine):
    appointment = book(program, machine)
    clock.now = NOW + timedelta(hours=1)

    visits.appointment_cancel(actor=BOOKING_LINK, appointment=appointment, reason="Away", now=clock.now)

    assert kinds_and_states(appointment) == {
        (ReminderKind.APPOINTMENT_BOOKED, "cancelled", CancelReason.APPOINTMENT_NOT_LIVE),  # not sent yet
        (ReminderKind.APPOINTMENT_UPCOMING, "cancelled", CancelReason.APPOINTMENT_NOT_LIVE),
        (ReminderKind.APPOINTMENT_CANCELLED, "pending", ""),
    }
    assert reminder_of(appointment, ReminderKind.APPOINTMENT_CANCELLED).scheduled_for == clock.now


@pytest.mark.parametrize("change", ["check_in", "no_show"])
def test_a_check_in_or_a_no_show_cancels_the_reminders_still_ahead(clock, program, machine, clinician_a, change):
    appointment = book(program, machine)
    clock.now = THU_0900 + timedelta(minutes=1)

    if change == "check_in":
        visits.appointment_check_in(actor=clinician_a, appointment=appointment, now=clock.now)
    else:
        visits.appointment_no_show(actor=clinician_a, appointment=appointment, now=clock.now)

    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)
    assert (upcoming.state, upcoming.cancel_reason) == ("cancelled", CancelReason.APPOINTMENT_NOT_LIVE)
    assert not Reminder.objects.filter(appointment=appointment, kind=ReminderKind.APPOINTMENT_CANCELLED).exists()


def test_the_sweep_sends_the_upcoming_reminder_at_its_time_and_not_before(
    clock, program, machine, django_capture_on_commit_callbacks
):
    appointment = book(program, machine)
    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)

    early = reminders_sweep(now=upcoming.scheduled_for - timedelta(minutes=1)).enqueued
    on_time = reminders_sweep(now=upcoming.scheduled_for).enqueued

    assert upcoming.pk not in early
    assert upcoming.pk in on_time


def test_a_row_the_closing_transaction_skipped_is_cancelled_by_the_sweep(clock, program, machine):
    appointment = book(program, machine)
    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)
    Appointment.objects.filter(pk=appointment.pk).update(state=AppointmentState.CANCELLED)  # as if it were locked

    result = reminders_sweep(now=upcoming.scheduled_for)

    upcoming.refresh_from_db()
    assert (upcoming.state, upcoming.cancel_reason) == ("cancelled", CancelReason.APPOINTMENT_NOT_LIVE)
    assert upcoming.pk not in result.enqueued


def test_an_upcoming_reminder_held_past_the_start_is_not_sent(clock, program, machine, sink):
    appointment = book(program, machine)
    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)

    report = reminders_deliver(reminder_ids=[str(upcoming.pk)], now=THU_0900 + timedelta(minutes=5))

    upcoming.refresh_from_db()
    assert report.outcomes == {Outcome.CANCELLED: 1}
    assert (upcoming.state, upcoming.cancel_reason) == ("cancelled", CancelReason.APPOINTMENT_NOT_LIVE)
    assert sink.count() == 0


# --- Block reasons: the rule and its SQL twin agree ----------------------------------------------


def _agree(reminder: Reminder, now: datetime | None = None) -> tuple[str | None, set[str]]:
    reminder = Reminder.objects.select_related("patient", "program", "appointment").get(pk=reminder.pk)
    in_sql = {r for r in rules.BLOCK_REASONS if Reminder.objects.blocked(r, now=now).filter(pk=reminder.pk).exists()}
    return reminder.block_reason(now=now), in_sql


def test_a_session_due_of_a_patient_booked_for_it_is_blocked_in_python_and_sql(clock, program, machine):
    reminder = due_reminder(program)
    before = _agree(reminder)
    book(program, machine)  # cancels the pending row; here the rule is asked about a row still pending
    Reminder.objects.filter(pk=reminder.pk).update(state=ReminderState.PENDING, cancel_reason="")

    assert before == (None, set())
    assert _agree(reminder) == (CancelReason.APPOINTMENT_BOOKED, {CancelReason.APPOINTMENT_BOOKED})


def test_an_appointment_ending_before_the_due_time_does_not_block_it(clock, program, machine):
    Program.objects.filter(pk=program.pk).update(next_due_at=THU_0900 + DAY)
    program.refresh_from_db()
    book(program, machine)
    reminder = due_reminder(program)

    assert _agree(reminder) == (None, set())


def test_appointment_reminders_ignore_the_programs_status_and_due_time(clock, program, machine):
    appointment = book(program, machine)
    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)
    # A lapsed program (a patient booked to come back) whose due time has moved on.
    Program.objects.filter(pk=program.pk).update(status=ProgramStatus.LAPSED, next_due_at=THU_0900 + DAY)

    assert _agree(upcoming) == (None, set())


def test_an_appointment_begun_or_cancelled_blocks_its_upcoming_reminder_in_python_and_sql(clock, program, machine):
    appointment = book(program, machine)
    upcoming = reminder_of(appointment, ReminderKind.APPOINTMENT_UPCOMING)
    reason = {CancelReason.APPOINTMENT_NOT_LIVE}

    begun = _agree(upcoming, now=THU_0900)
    Appointment.objects.filter(pk=appointment.pk).update(state=AppointmentState.CANCELLED)

    assert _agree(upcoming, now=THU_0900 - timedelta(seconds=1)) == (CancelReason.APPOINTMENT_NOT_LIVE, reason)
    assert begun == (CancelReason.APPOINTMENT_NOT_LIVE, reason)
    assert _agree(upcoming) == (CancelReason.APPOINTMENT_NOT_LIVE, reason)


def test_a_cancellation_email_is_not_blocked_by_its_cancelled_appointment(clock, program, machine):
    appointment = book(program, machine)
    visits.appointment_cancel(actor=BOOKING_LINK, appointment=appointment, reason="Away", now=NOW)

    assert _agree(reminder_of(appointment, ReminderKind.APPOINTMENT_CANCELLED), now=NOW) == (None, set())


# --- No session_due for a patient already booked ------------------------------------------------


def test_the_sweep_makes_no_session_due_for_a_patient_booked_for_that_due_time(clock, program, machine):
    book(program, machine, THU_0900 + timedelta(hours=2))

    reminders_sweep(now=THU_0900)

    assert not Reminder.objects.filter(kind=ReminderKind.SESSION_DUE).exists()


def test_the_sweep_still_reminds_a_patient_whose_booking_was_cancelled(clock, program, machine):
    appointment = book(program, machine, THU_0900 + timedelta(hours=2))
    visits.appointment_cancel(actor=BOOKING_LINK, appointment=appointment, reason="Away", now=NOW)

    reminders_sweep(now=THU_0900)

    assert Reminder.objects.get(kind=ReminderKind.SESSION_DUE).state == ReminderState.PENDING


def test_booking_cancels_a_pending_session_due_with_its_reason(clock, program, machine):
    reminder = due_reminder(program)

    book(program, machine)

    reminder.refresh_from_db()
    assert (reminder.state, reminder.cancel_reason) == ("cancelled", CancelReason.APPOINTMENT_BOOKED)
    assert Event.objects.filter(object_id=str(reminder.pk), action="update").exists()


# --- The emails -----------------------------------------------------------------------------------


def test_the_confirmation_carries_a_request_invite_in_the_clinics_zone_and_a_cancel_link(clock, program, machine):
    appointment = book(program, machine)
    confirmation = reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED)

    message = as_received(emails.reminder_email(confirmation, now=NOW))
    invite = ics(message)
    (event,) = invite.walk("VEVENT")
    text = message.get_body(("plain",)).get_content()

    assert calendar_part(message).get_content_type() == "text/calendar"
    assert calendar_part(message).get_param("method") == "REQUEST"
    assert calendar_part(message).get_filename() == "appointment.ics"
    assert str(invite["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{appointment.pk}@{UID_DOMAIN}"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert event.decoded("DTSTART") == THU_0900
    assert [str(tz["TZID"]) for tz in invite.walk("VTIMEZONE")] == ["America/Los_Angeles"]
    assert str(event["LOCATION"]) == "Clinic A, 4510 Executive Dr, 92121 San Diego, US"
    assert message["Subject"] == "Booked: your training session at Clinic A"
    assert "is booked for Thursday, 17 December 2026 at 09:00." in text  # the clinic's wall clock
    assert "Cannot come? Cancel online: https://spinezone.example.test/r/cancel/" in text
    assert "Cancelling less than 24 h before the start counts as a late cancellation." in text
    for identifier in ("Zyxwort", "A-7731"):  # the family name, the record number
        assert identifier not in message.as_string()


def test_the_cancellation_carries_a_cancel_invite_with_the_same_uid_and_a_higher_sequence(clock, program, machine):
    appointment = book(program, machine)
    booked = ics(as_received(emails.reminder_email(reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED))))
    visits.appointment_cancel(actor=BOOKING_LINK, appointment=appointment, reason="Away", now=NOW)

    cancellation = reminder_of(appointment, ReminderKind.APPOINTMENT_CANCELLED)
    message = as_received(emails.reminder_email(cancellation, now=NOW))
    (before,), (after,) = booked.walk("VEVENT"), ics(message).walk("VEVENT")

    assert calendar_part(message).get_param("method") == "CANCEL"
    assert str(ics(message)["METHOD"]) == "CANCEL"
    assert str(after["STATUS"]) == "CANCELLED"
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert "/r/cancel/" not in message.as_string()  # nothing left to cancel
    assert message["Subject"] == "Cancelled: your training session at Clinic A"


def test_the_due_email_offers_three_free_times_and_a_choose_a_time_link(clock, program, machine):
    reminder = due_reminder(program)

    message = emails.reminder_email(reminder, now=NOW)

    assert "Free times to book:\n- Thursday 17 December, 09:00\n" in message.body  # the closest to due first
    assert message.body.count("\n- ") == 3
    assert "Choose a time: https://spinezone.example.test/r/book/" in message.body
    assert "/r/book/" in message.alternatives[0][0]
    assert not [p for p in as_received(message).walk() if p.get_content_type() == "text/calendar"]


def test_a_due_email_without_free_times_has_no_booking_link(clock, program):
    message = emails.reminder_email(due_reminder(program), now=NOW)  # no machine of the program's kind

    assert "/r/book/" not in message.body
    assert "Free times" not in message.body


@pytest.mark.parametrize("language", ["en", "fr", "es", "de"])
def test_each_appointment_email_has_its_own_words_in_each_language(clock, program, machine, patient, language):
    type(patient).objects.filter(pk=patient.pk).update(preferred_language=language)
    appointment = book(program, machine)
    visits.appointment_cancel(actor=BOOKING_LINK, appointment=appointment, reason="Away", now=NOW)
    kinds = (ReminderKind.APPOINTMENT_BOOKED, ReminderKind.APPOINTMENT_UPCOMING, ReminderKind.APPOINTMENT_CANCELLED)

    messages = [emails.reminder_email(reminder_of(appointment, kind), now=NOW) for kind in kinds]

    assert len({m.subject for m in messages}) == 3
    assert len({m.body for m in messages}) == 3
    assert all("17" in m.body and "09:00" in m.body for m in messages)
    assert all("09:00" in strip_tags(m.alternatives[0][0]) for m in messages)
    assert all(m.extra_headers["Content-Language"] == language for m in messages)


def test_a_broker_down_at_booking_leaves_the_confirmation_to_the_sweep(
    clock, program, machine, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.send_reminders, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(program, machine)  # the booking stands

    confirmation = reminder_of(appointment, ReminderKind.APPOINTMENT_BOOKED)
    assert confirmation.enqueued_at is None
    monkeypatch.undo()
    assert confirmation.pk in reminders_sweep(now=NOW).enqueued
