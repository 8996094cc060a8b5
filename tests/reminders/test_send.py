"""Delivering reminders in this process over real SMTP (aiosmtpd on loopback): what the email holds,
the claim, the checks at send time, and what 4xx, 5xx and a dead server do."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.audit.models import Event
from apps.patients.models import Patient
from apps.programs.models import Program, ProgramStatus
from apps.reminders import delivery, tokens
from apps.reminders.delivery import Outcome, reminders_deliver
from apps.reminders.models import CancelReason, Reminder, ReminderState
from tests import factories
from tests.reminders.conftest import due_reminders
from tests.reminders.support import SITE_URL, free_port

LA = ZoneInfo("America/Los_Angeles")
THURSDAY_22 = datetime(2026, 3, 5, 22, tzinfo=LA)


def deliver(reminder_id, now=None) -> delivery.BatchReport:
    return reminders_deliver(reminder_ids=[str(reminder_id)], now=now)


def row(reminder_id) -> Reminder:
    return Reminder.objects.select_related("patient").get(pk=reminder_id)


@pytest.fixture
def reminder_id(open_clinic):
    open_clinic.email_display_name = "Open Spine Clinic"
    open_clinic.save()
    (pk,) = due_reminders(open_clinic, 1, due=THURSDAY_22)
    Patient.objects.filter(reminders__pk=pk).update(given_name="Ana", email="ana@example.test")
    return pk


def test_it_sends_one_email_to_the_patient_from_the_clinic_with_one_click_unsubscribe(sink, reminder_id):
    report = deliver(reminder_id)

    (received,) = sink.messages()
    message = received.message
    sent = row(reminder_id)
    link = message["List-Unsubscribe"].strip()[1:-1]  # a long header is folded: it parses with a leading space
    token = re.fullmatch(rf"{re.escape(SITE_URL)}/r/unsubscribe/([^/]+)/", link).group(1)
    assert report.outcomes == {Outcome.SENT: 1}
    assert received.rcpt_tos == ("ana@example.test",)
    assert message["To"] == "ana@example.test"
    assert (message["From"].addresses[0].display_name, message["From"].addresses[0].addr_spec) == (
        "Open Spine Clinic",
        "no-reply@localhost",
    )
    assert message["Reply-To"] == "front-desk@clinic-open.example.test"
    assert message["Message-ID"] == f"<reminder.{sent.pk}@localhost>"
    assert tokens.reminder_id_from(token, max_age=timedelta(minutes=1)) == sent.pk
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == "Your next training session at Open Spine Clinic is due"
    assert "Hello Ana," in received.text()
    assert "due from Thursday, 5 March 2026." in received.text()  # the clinic's local date
    assert link in received.text()
    assert f'href="{link}"' in received.html()
    assert "call us on +1 619 555 0100 or reply to this email" in received.text()
    assert (sent.state, sent.attempts, sent.message_id) == (ReminderState.SENT, 1, message["Message-ID"])
    assert sent.sent_at is not None
    assert sent.lease_until is None


def test_a_send_is_audited_as_the_system(sink, reminder_id):
    deliver(reminder_id)

    event = Event.objects.get(object_type="reminders.reminder")
    sent = row(reminder_id)
    assert (event.action, event.actor_label, event.object_id) == ("update", "system", str(reminder_id))
    assert (event.patient_id, event.clinic_id) == (sent.patient_id, sent.patient.clinic_id)


def test_delivering_the_same_id_twice_sends_one_email(sink, reminder_id):
    first = deliver(reminder_id)
    second = deliver(reminder_id)

    assert (first.outcomes, second.outcomes) == ({Outcome.SENT: 1}, {Outcome.SKIPPED: 1})
    assert sink.count() == 1


def test_a_451_is_retried_after_its_backoff_and_then_delivered(sink, reminder_id, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    sink.script("ana@example.test", [451])
    now = timezone.now()

    first = deliver(reminder_id, now=now)
    waiting = row(reminder_id)
    too_early = deliver(reminder_id, now=now + timedelta(seconds=59))
    retried = deliver(reminder_id, now=now + timedelta(seconds=60))

    assert first.outcomes == {Outcome.RETRY: 1}
    assert first.retry == [str(reminder_id)]
    assert first.retry_at == now + timedelta(seconds=60)
    assert (waiting.state, waiting.scheduled_for, waiting.attempts) == ("pending", now + timedelta(seconds=60), 1)
    assert waiting.last_error.startswith("SMTP 451")
    assert too_early.outcomes == {Outcome.SKIPPED: 1}
    assert retried.outcomes == {Outcome.SENT: 1}
    assert sink.rcpt_attempts["ana@example.test"] == 2
    assert sink.count() == 1
    assert row(reminder_id).attempts == 2


def test_a_550_fails_the_reminder_for_good_without_a_retry(sink, reminder_id):
    sink.script("ana@example.test", [550])

    report = deliver(reminder_id)
    again = deliver(reminder_id, now=timezone.now() + timedelta(days=1))

    failed = row(reminder_id)
    assert (report.outcomes, report.retry, again.outcomes) == ({Outcome.FAILED: 1}, [], {Outcome.SKIPPED: 1})
    assert (failed.state, failed.last_error[:8]) == (ReminderState.FAILED, "SMTP 550")
    assert sink.rcpt_attempts["ana@example.test"] == 1
    assert sink.count() == 0
    assert Event.objects.filter(object_type="reminders.reminder", object_id=str(reminder_id)).count() == 1


def test_the_last_attempt_fails_even_on_a_temporary_error(sink, reminder_id, settings):
    settings.REMINDER_MAX_ATTEMPTS = 1
    sink.script("ana@example.test", [451])

    report = deliver(reminder_id)

    assert report.outcomes == {Outcome.FAILED: 1}
    assert row(reminder_id).state == ReminderState.FAILED


def test_a_dead_server_retries_the_row_and_holds_back_the_rest_of_the_batch(open_clinic, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    ids = [str(pk) for pk in due_reminders(open_clinic, 3)]

    report = reminders_deliver(reminder_ids=ids)

    assert report.outcomes == {Outcome.RETRY: 1}
    assert report.retry == ids  # the first failed; the other two wait with it
    assert row(ids[0]).last_error.startswith("ConnectionRefusedError")
    assert [row(pk).attempts for pk in ids] == [1, 0, 0]


def test_a_batch_out_of_time_hands_back_what_it_did_not_start(sink, open_clinic, settings):
    settings.REMINDER_SEND_BATCH_SECONDS = -1
    ids = [str(pk) for pk in due_reminders(open_clinic, 2)]

    report = reminders_deliver(reminder_ids=ids)

    assert (report.unprocessed, report.outcomes, sink.count()) == (ids, {}, 0)


def test_a_row_that_is_gone_is_skipped(sink, reminder_id):
    Reminder.objects.filter(pk=reminder_id).update(state=ReminderState.CANCELLED, cancel_reason="unsubscribed")

    assert deliver(reminder_id).outcomes == {Outcome.SKIPPED: 1}
    assert sink.count() == 0


# --- Checked again at send time -------------------------------------------------------------------

PATIENT_CHANGES = {
    CancelReason.NO_CONSENT: {"email_reminder_consent": False},
    CancelReason.UNSUBSCRIBED: {"unsubscribed_at": datetime(2026, 3, 1, tzinfo=LA)},
    CancelReason.PATIENT_DELETED: {"deleted_at": datetime(2026, 3, 1, tzinfo=LA)},
    CancelReason.PATIENT_DECEASED: {"deceased_on": datetime(2026, 3, 1).date()},
}


@pytest.mark.parametrize("reason", [*PATIENT_CHANGES, CancelReason.PROGRAM_NOT_ACTIVE, CancelReason.DUE_MOVED])
def test_nothing_is_sent_when_the_patient_or_program_changed_after_the_sweep(sink, reminder_id, reason, superuser):
    reminder = row(reminder_id)
    if reason in PATIENT_CHANGES:
        deleted_by = {"deleted_by": superuser} if reason == CancelReason.PATIENT_DELETED else {}
        Patient.objects.filter(pk=reminder.patient_id).update(**PATIENT_CHANGES[reason], **deleted_by)
    elif reason == CancelReason.PROGRAM_NOT_ACTIVE:
        Program.objects.filter(pk=reminder.program_id).update(status=ProgramStatus.LAPSED)
    else:  # a session was recorded: the program is due later now
        Program.objects.filter(pk=reminder.program_id).update(next_due_at=THURSDAY_22 + timedelta(days=4))

    report = deliver(reminder_id)

    assert report.outcomes == {Outcome.CANCELLED: 1}
    assert (row(reminder_id).state, row(reminder_id).cancel_reason) == (ReminderState.CANCELLED, reason)
    assert sink.count() == 0


@pytest.mark.parametrize(
    ("local_now", "goes_at"),
    [
        (datetime(2026, 3, 6, 23, tzinfo=LA), datetime(2026, 3, 7, 8, tzinfo=LA)),
        (datetime(2026, 3, 8, 1, 30, tzinfo=LA), datetime(2026, 3, 8, 8, tzinfo=LA)),  # the spring-forward night
        (datetime(2026, 11, 1, 1, 30, tzinfo=LA), datetime(2026, 11, 1, 8, tzinfo=LA)),  # the fall-back night
    ],
)
def test_a_row_whose_time_has_come_waits_while_it_is_quiet_hours_at_the_clinic(
    sink, reminder_id, open_clinic, local_now, goes_at
):
    open_clinic.quiet_hours_start, open_clinic.quiet_hours_end = time(21), time(8)
    open_clinic.save()

    report = deliver(reminder_id, now=local_now)

    deferred = row(reminder_id)
    assert report.outcomes == {Outcome.DEFERRED: 1}
    assert (deferred.state, deferred.scheduled_for, deferred.attempts) == ("pending", goes_at, 0)
    assert sink.count() == 0


# --- Language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "due_line"),
    [
        ("en", "Your next training session at Clinic Open is due", "Thursday, 5 March 2026"),
        ("es", "Le toca su próxima sesión de entrenamiento en Clinic Open", "jueves 5 de marzo de 2026"),
        ("fr", "Votre prochaine séance d\u2019entraînement à Clinic Open vous attend", "jeudi 5 mars 2026"),
        ("de", "Ihr nächstes Training bei Clinic Open steht an", "Donnerstag, 5. März 2026"),
        ("it", "Your next training session at Clinic Open is due", "Thursday, 5 March 2026"),  # no Italian: English
    ],
)
def test_the_email_is_in_the_patients_language_where_we_have_it(sink, open_clinic, language, subject, due_line):
    (pk,) = due_reminders(open_clinic, 1, due=THURSDAY_22)
    Patient.objects.filter(reminders__pk=pk).update(preferred_language=language)

    deliver(pk)

    (received,) = sink.messages()
    assert received.message["Subject"].strip() == subject  # a folded encoded word parses with a leading space
    assert due_line in received.text()
    assert due_line in received.html()
    assert received.message["Content-Language"] == ("en" if language == "it" else language)


# --- Minimum necessary ----------------------------------------------------------------------------


def test_canary_no_identifying_or_clinical_field_reaches_the_email_except_the_first_name(sink, open_clinic):
    (pk,) = due_reminders(open_clinic, 1, due=THURSDAY_22)
    reminder = row(pk)
    markers = {
        "mrn": "MRNCANARYQX",
        "family_name": "Famcanaryqx",
        "phone": "+1 555 0199 PHONECANARY",
        "email": "mailcanaryqx@example.test",
    }
    Patient.objects.filter(pk=reminder.patient_id).update(
        given_name="Firstcanaryqx",
        birth_date=datetime(1961, 7, 23).date(),
        height_cm=199,
        body_mass_kg=123.4,
        **markers,
    )
    program = Program.objects.get(pk=reminder.program_id)
    Program.objects.filter(pk=program.pk).update(
        status_reason="STATUSCANARYQX", proposal_reason="PROPOSALCANARYQX", start_load=777, current_load=778
    )
    factories.TrainingSessionFactory(program=program, load=779, adverse_event_note="SESSIONCANARYQX", reps=47)
    factories.QuestionnaireResponseFactory(patient=program.patient, answers=[5] * 10)  # ODI 100 %
    identifiers = [str(program.patient_id), str(program.pk), str(program.patient_id).replace("-", "")]

    deliver(pk)

    (received,) = sink.messages()
    headers = "\n".join(f"{name}: {value}" for name, value in received.message.items() if name != "To")
    link = received.message["List-Unsubscribe"].strip().strip("<>")
    visible_html = re.sub(r"<[^>]+>", " ", received.html().replace(link, ""))  # not the markup's widths
    bodies = [received.message["Subject"], received.text().replace(link, ""), visible_html]
    everything = "\n".join([headers, *bodies, received.mail_from]).lower()
    for marker in [*markers.values(), "STATUSCANARYQX", "PROPOSALCANARYQX", "SESSIONCANARYQX", *identifiers]:
        assert marker.lower() not in everything, marker
    # The email's clock times (the due time, "21:47") are not figures: a sweep at hh:47 once read as the reps.
    # Nor are its links' signed tokens (random letters and digits, e.g. "xq47Z" in a booking link): the
    # markers and identifiers above are looked for in the links too.
    unlinked = [re.sub(r"https?://\S+", " ", body) for body in bodies]
    untimed = [re.sub(r"\b\d{1,2}:\d{2}\b", " ", body) for body in unlinked]
    for number in ["777", "778", "779", "199", "123.4", "1961", "47", "100"]:
        assert not any(re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", body) for body in untimed), number
    assert "Firstcanaryqx" in received.text()
    assert received.rcpt_tos == ("mailcanaryqx@example.test",)
