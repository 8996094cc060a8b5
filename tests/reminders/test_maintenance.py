"""maintenance_due reminders (DOMAIN.md "Maintenance", "Reminders (email)") at clinic A: Los Angeles,
quiet hours 21:00-08:00.

The program starts Friday 2026-02-27; sessions on Monday 03-02 and Thursday 03-05 at 10:00 PST. In
training the Thursday session makes the next one due Sunday 03-08 22:00 PDT (+3.5 days on the wall
clock, across the spring forward), inside quiet hours: sent Monday 03-09 at 08:00. Completed into
maintenance on Friday 03-06 at 12:00 with an interval of 2 weeks, the next session is due Thursday
03-19 10:00 PDT (the last session + 2 weeks, same local hour) and overdue from 03-26 10:00 (due + 7 days).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils.html import strip_tags

from apps.clinics.models import Clinic
from apps.programs import maintenance, sessions
from apps.programs import services as program_services
from apps.programs.models import Program
from apps.reminders import emails, tasks
from apps.reminders.models import DUE_FIELD, CancelReason, Reminder, ReminderKind, ReminderState
from apps.reminders.tasks import sweep_and_enqueue as reminders_sweep
from tests import factories
from tests.reminders.conftest import NO_QUIET_HOURS

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)
COMPLETED_AT = datetime(2026, 3, 6, 12, tzinfo=LA)
TRAINING_DUE = datetime(2026, 3, 8, 22, tzinfo=LA)
MONDAY_08 = datetime(2026, 3, 9, 8, tzinfo=LA)
DUE = datetime(2026, 3, 19, 10, tzinfo=LA)
MINUTE = timedelta(minutes=1)
APOSTROPHE = "\N{RIGHT SINGLE QUOTATION MARK}"  # French typography, as in the templates
SESSION = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2, "pain_after": 2}
MAINTENANCE_SENTENCE = (
    "your next maintenance session is due from Thursday, 19 March 2026."
    " One session every few weeks keeps the strength you have built."
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)


def enqueued_batches(callbacks) -> list[list[str]]:
    return [callback.args[0] for callback in callbacks]


def reminder_rows() -> list[tuple]:
    return list(Reminder.objects.order_by("due_at", "kind").values_list("kind", "due_at", "state", "cancel_reason"))


def send_now(ids) -> int:
    """The send task runs at the real clock: the clinic's quiet hours must not defer it, whatever the hour."""
    Clinic.objects.update(**NO_QUIET_HOURS)
    return tasks.send_reminders([str(pk) for pk in ids])


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


@pytest.fixture
def record(clinician_a, machine_a):
    def record_session(program: Program, performed_at: datetime) -> Program:
        sessions.session_record(
            actor=clinician_a,
            program=program,
            machine=machine_a,
            performed_at=performed_at,
            now=performed_at,
            **SESSION,
        )
        program.refresh_from_db()
        return program

    return record_session


@pytest.fixture
def train(clinician_a, patient_a, machine_a, record):
    """`train(hour, minute, per_week, days)`: patient A's started program, sessions on those March days at that hour."""

    def started(hour: int = 10, minute: int = 0, per_week: int = 2, days: tuple[int, ...] = (2, 5)) -> Program:
        test = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=START - timedelta(3))
        program = program_services.program_create(
            actor=clinician_a,
            patient=patient_a,
            region="lumbar",
            baseline_test=test,
            start_load=100,
            sessions_per_week=per_week,
        )
        program = program_services.program_start(actor=clinician_a, program=program, now=START)
        for day in days:
            program = record(program, local(2026, 3, day, hour, minute))
        return program

    return started


@pytest.fixture
def maintained(train, clinician_a):
    program = maintenance.program_maintain(actor=clinician_a, program=train(), interval_weeks=2, now=COMPLETED_AT)
    program.refresh_from_db()
    assert (program.phase, program.status, program.next_due_at) == ("maintenance", "active", DUE)
    return program


# --- The due reminder follows the phase ------------------------------------------------------------


def test_a_maintenance_program_gets_one_maintenance_due_reminder_at_its_due_time_and_no_session_due(
    maintained, django_capture_on_commit_callbacks
):
    before = reminders_sweep(now=DUE - MINUTE)
    with django_capture_on_commit_callbacks() as at_due_time:
        made = reminders_sweep(now=DUE)
    again = reminders_sweep(now=DUE + MINUTE)

    reminder = Reminder.objects.get()
    assert (before.materialised, made.materialised, again.materialised) == (0, 1, 0)
    assert (reminder.kind, reminder.due_at, reminder.scheduled_for) == (ReminderKind.MAINTENANCE_DUE, DUE, DUE)
    assert (reminder.program_id, reminder.state) == (maintained.pk, ReminderState.PENDING)
    assert enqueued_batches(at_due_time) == [[str(reminder.pk)]]


def test_a_training_program_gets_a_session_due_reminder_only(train, django_capture_on_commit_callbacks):
    program = train()
    assert (program.phase, program.next_due_at) == ("training", TRAINING_DUE)

    reminders_sweep(now=TRAINING_DUE)
    with django_capture_on_commit_callbacks() as at_eight:
        reminders_sweep(now=MONDAY_08)

    reminder = Reminder.objects.get()
    assert (reminder.kind, reminder.due_at, reminder.scheduled_for) == (
        ReminderKind.SESSION_DUE,
        TRAINING_DUE,
        MONDAY_08,
    )
    assert enqueued_batches(at_eight) == [[str(reminder.pk)]]


def test_the_maintenance_email_is_sent_with_the_maintenance_wording(maintained, sink):
    result = reminders_sweep(now=DUE)

    sent = send_now(result.enqueued)

    (received,) = sink.messages()
    assert sent == 1
    assert received.message["Subject"] == "Your next maintenance session at Clinic A is due"
    assert received.rcpt_tos == (maintained.patient.email,)
    assert "Hello Ana," in received.text()
    assert MAINTENANCE_SENTENCE in received.text()
    assert "maintenance session is due from <strong>Thursday, 19 March 2026</strong>." in received.html()
    assert "training" not in received.text().lower()
    assert Reminder.objects.get().state == ReminderState.SENT


def test_a_maintenance_session_moves_the_due_two_weeks_on_and_the_next_sweep_makes_the_next_reminder(
    maintained, record, django_capture_on_commit_callbacks
):
    reminders_sweep(now=DUE)
    program = record(maintained, local(2026, 3, 19, 11))
    following = local(2026, 4, 2, 11)  # the maintenance session + 2 weeks, same local hour

    early = reminders_sweep(now=following - MINUTE)
    with django_capture_on_commit_callbacks() as at_due_time:
        made = reminders_sweep(now=following)

    new = Reminder.objects.get(due_at=following)
    assert program.next_due_at == following
    assert (early.materialised, made.materialised) == (0, 1)
    assert new.kind == ReminderKind.MAINTENANCE_DUE
    assert [[str(new.pk)]] == enqueued_batches(at_due_time)
    assert {kind for kind, *_ in reminder_rows()} == {ReminderKind.MAINTENANCE_DUE}
    assert not Reminder.objects.filter(kind=ReminderKind.SESSION_DUE).exists()


def test_a_maintenance_session_due_in_quiet_hours_is_sent_when_they_end(
    maintained, record, django_capture_on_commit_callbacks
):
    reminders_sweep(now=DUE)
    record(maintained, local(2026, 3, 19, 21, 30))
    night, morning = local(2026, 4, 2, 21, 30), local(2026, 4, 3, 8)

    with django_capture_on_commit_callbacks() as at_night:
        reminders_sweep(now=night)
    with django_capture_on_commit_callbacks() as before_eight:
        reminders_sweep(now=morning - MINUTE)
    with django_capture_on_commit_callbacks() as at_eight:
        reminders_sweep(now=morning)

    reminder = Reminder.objects.get(due_at=night)
    assert (reminder.kind, reminder.scheduled_for) == (ReminderKind.MAINTENANCE_DUE, morning)
    assert not [batch for batch in enqueued_batches(at_night) + enqueued_batches(before_eight) if batch]
    assert enqueued_batches(at_eight) == [[str(reminder.pk)]]


# --- Moving into maintenance --------------------------------------------------------------------


def test_completing_into_maintenance_cancels_the_pending_session_due_row_and_the_maintenance_due_follows(
    train, clinician_a
):
    program = train()
    reminders_sweep(now=TRAINING_DUE)  # pending until quiet hours end on Monday at 08:00
    maintenance.program_maintain(actor=clinician_a, program=program, interval_weeks=2, now=TRAINING_DUE + MINUTE)

    result = reminders_sweep(now=MONDAY_08)
    reminders_sweep(now=DUE)

    session_due = Reminder.objects.get(kind=ReminderKind.SESSION_DUE)
    assert result.cancelled == 1
    assert session_due.pk not in result.enqueued
    # (Completing into maintenance also makes the training phase's discharge questionnaire due.)
    assert [row for row in reminder_rows() if row[0] != ReminderKind.QUESTIONNAIRE_DUE] == [
        (ReminderKind.SESSION_DUE, TRAINING_DUE, ReminderState.CANCELLED, CancelReason.DUE_MOVED),
        (ReminderKind.MAINTENANCE_DUE, DUE, ReminderState.PENDING, ""),
    ]


def test_a_session_due_email_is_not_sent_once_the_program_is_in_maintenance_even_at_the_same_instant(
    train, clinician_a, sink
):
    # Weekly training and a 1-week maintenance interval put both due times at Monday 03-09 10:00
    # (so does a weekly program's overdue instant: the last session + 7 days).
    program = train(per_week=1, days=(2,))
    monday = local(2026, 3, 9, 10)
    assert program.next_due_at == monday
    in_the_broker = reminders_sweep(now=monday).enqueued  # not yet sent
    program = maintenance.program_maintain(actor=clinician_a, program=program, interval_weeks=1, now=monday + MINUTE)
    assert program.next_due_at == monday

    stale = Reminder.objects.select_related("patient", "program").get(kind=ReminderKind.SESSION_DUE)
    assert stale.block_reason() == CancelReason.DUE_MOVED
    assert Reminder.objects.blocked(CancelReason.DUE_MOVED).filter(pk=stale.pk).exists()  # its SQL twin agrees
    assert send_now(in_the_broker) == 0
    reminders_sweep(now=monday + 2 * MINUTE)
    assert send_now([Reminder.objects.get(kind=ReminderKind.MAINTENANCE_DUE).pk]) == 1

    (received,) = sink.messages()
    assert received.message["Subject"] == "Your next maintenance session at Clinic A is due"
    assert [row for row in reminder_rows() if row[0] != ReminderKind.QUESTIONNAIRE_DUE] == [
        (ReminderKind.MAINTENANCE_DUE, monday, ReminderState.SENT, ""),
        (ReminderKind.OVERDUE, monday, ReminderState.CANCELLED, CancelReason.DUE_MOVED),
        (ReminderKind.SESSION_DUE, monday, ReminderState.CANCELLED, CancelReason.DUE_MOVED),
    ]


# --- Overdue: at the stored instant, in both phases -----------------------------------------------


@pytest.mark.parametrize(
    ("phase", "hour", "minute", "overdue_at", "sent_at"),
    [
        # Training: the last session (Thursday 03-05) + 7 days.
        ("training", 10, 0, local(2026, 3, 12, 10), local(2026, 3, 12, 10)),
        ("training", 21, 30, local(2026, 3, 12, 21, 30), local(2026, 3, 13, 8)),  # in quiet hours: at 08:00
        # Maintenance: the due time (Thursday 03-19) + 7 days.
        ("maintenance", 10, 0, local(2026, 3, 26, 10), local(2026, 3, 26, 10)),
        ("maintenance", 21, 30, local(2026, 3, 26, 21, 30), local(2026, 3, 27, 8)),
    ],
)
def test_the_overdue_reminder_is_scheduled_at_the_programs_overdue_instant_out_of_quiet_hours(
    train, clinician_a, phase, hour, minute, overdue_at, sent_at
):
    program = train(hour, minute)
    if phase == "maintenance":
        program = maintenance.program_maintain(actor=clinician_a, program=program, interval_weeks=2, now=COMPLETED_AT)
    program.refresh_from_db()
    assert (program.phase, program.overdue_at) == (phase, overdue_at)

    reminders_sweep(now=program.overdue_at - MINUTE)
    assert not Reminder.objects.filter(kind=ReminderKind.OVERDUE).exists()
    first_enqueued: dict = {}
    for now in sorted({program.overdue_at, sent_at - MINUTE, sent_at}):
        for pk in reminders_sweep(now=now).enqueued:
            first_enqueued.setdefault(pk, now)

    overdue = Reminder.objects.get(kind=ReminderKind.OVERDUE)
    assert (overdue.due_at, overdue.scheduled_for) == (program.overdue_at, sent_at)
    assert first_enqueued[overdue.pk] == sent_at


# --- Every kind has its own words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("en", "Your next maintenance session at Clinic A is due", MAINTENANCE_SENTENCE),
        (
            "es",
            "Le toca su próxima sesión de mantenimiento en Clinic A",
            "le toca su próxima sesión de mantenimiento a partir del jueves 19 de marzo de 2026."
            " Una sesión cada pocas semanas le ayuda a mantener la fuerza que ha ganado.",
        ),
        (
            "fr",
            f"Votre prochaine séance d{APOSTROPHE}entretien à Clinic A vous attend",
            f"votre prochaine séance d{APOSTROPHE}entretien est prévue à partir du jeudi 19 mars 2026."
            f" Une séance à quelques semaines d{APOSTROPHE}intervalle permet de conserver"
            " la force que vous avez acquise.",
        ),
        (
            "de",
            "Ihr nächstes Erhaltungstraining bei Clinic A steht an",
            "Ihr nächstes Erhaltungstraining steht ab Donnerstag, 19. März 2026 an."
            " Ein Training alle paar Wochen erhält die Kraft, die Sie aufgebaut haben.",
        ),
    ],
)
def test_the_maintenance_email_has_its_own_wording_in_each_language(clinic_a, language, subject, sentence):
    patient = factories.PatientFactory(clinic=clinic_a, given_name="Ana", preferred_language=language)
    program = factories.ProgramFactory(patient=patient, status="active", next_due_at=DUE)
    kinds = list(DUE_FIELD)  # the due-time kinds (appointment kinds: tests/reminders/test_appointments.py)
    messages = {
        kind: emails.reminder_email(factories.ReminderFactory(program=program, kind=kind, due_at=DUE)) for kind in kinds
    }

    maintenance_email = messages[ReminderKind.MAINTENANCE_DUE]
    html = maintenance_email.alternatives[0][0]
    assert maintenance_email.subject == subject
    assert sentence in maintenance_email.body
    assert sentence in strip_tags(html)
    assert "2026</strong>" in html  # the due date stands out
    assert len({message.subject for message in messages.values()}) == len(kinds)  # no kind borrows another's
    assert len({message.body for message in messages.values()}) == len(kinds)
