"""The sweep: materialise due times, cancel what may not go out, recover lost claims, enqueue ids.

Clinic A is in Los Angeles, quiet hours 21:00-08:00. A session recorded on Monday 2026-03-02 at 10:00
local makes a 2-per-week program due on Thursday 03-05 at 22:00 local (+3.5 days), inside quiet
hours: the reminder goes on Friday at 08:00 local.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import Event
from apps.patients.services import patient_delete, patient_update
from apps.programs import services as program_services
from apps.programs import sessions
from apps.programs.models import Program, ProgramStatus
from apps.reminders import rules, services
from apps.reminders.models import CancelReason, Reminder, ReminderKind, ReminderState
from apps.reminders.tasks import sweep_and_enqueue as reminders_sweep
from tests import factories
from tests.reminders.conftest import due_programs, due_reminders
from tests.reminders.support import poll

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 3, 2, 10, tzinfo=LA)
THURSDAY_22 = datetime(2026, 3, 5, 22, tzinfo=LA)
FRIDAY_08 = datetime(2026, 3, 6, 8, tzinfo=LA)
MINUTE = timedelta(minutes=1)


def enqueued_batches(callbacks) -> list[list[str]]:
    """The id batches the sweep handed to send_reminders.delay on commit."""
    return [callback.args[0] for callback in callbacks]


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


@pytest.fixture
def monday_program(clinician_a, patient_a, machine_a):
    """Patient A's 2-per-week lumbar program, started the Friday before, one session on Monday 10:00."""
    started = datetime(2026, 2, 27, 10, tzinfo=LA)
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=started - timedelta(days=3))
    program = program_services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=test, start_load=100
    )
    program_services.program_start(actor=clinician_a, program=program, now=started)
    values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
    sessions.session_record(
        actor=clinician_a, program=program, machine=machine_a, performed_at=MONDAY, pain_after=2, now=MONDAY, **values
    )
    program.refresh_from_db()
    return program


def test_the_monday_session_gives_one_reminder_due_thursday_night_sent_friday_at_eight(
    monday_program, django_capture_on_commit_callbacks
):
    assert monday_program.next_due_at == THURSDAY_22

    assert reminders_sweep(now=THURSDAY_22 - MINUTE).materialised == 0
    with django_capture_on_commit_callbacks() as at_due_time:
        made = reminders_sweep(now=THURSDAY_22)
    reminder = Reminder.objects.get()
    with django_capture_on_commit_callbacks() as before_eight:
        reminders_sweep(now=FRIDAY_08 - MINUTE)
    with django_capture_on_commit_callbacks() as at_eight:
        reminders_sweep(now=FRIDAY_08)

    assert made.materialised == 1
    assert (reminder.kind, reminder.state, reminder.due_at) == (ReminderKind.SESSION_DUE, "pending", THURSDAY_22)
    assert reminder.scheduled_for == FRIDAY_08
    assert (reminder.patient_id, reminder.program_id, reminder.clinic_id) == (
        monday_program.patient_id,
        monday_program.pk,
        monday_program.clinic_id,
    )
    assert enqueued_batches(at_due_time) == enqueued_batches(before_eight) == []
    assert enqueued_batches(at_eight) == [[str(reminder.pk)]]


def test_sweeping_again_creates_and_enqueues_nothing_more(monday_program, django_capture_on_commit_callbacks):
    reminders_sweep(now=THURSDAY_22)
    reminders_sweep(now=FRIDAY_08)
    with django_capture_on_commit_callbacks() as again:
        result = reminders_sweep(now=FRIDAY_08 + MINUTE)

    assert Reminder.objects.count() == 1
    assert (result.materialised, result.enqueued, enqueued_batches(again)) == (0, [], [])


def test_a_session_recorded_before_the_send_makes_the_pending_reminder_stale_and_it_is_cancelled(
    monday_program, clinician_a, machine_a, django_capture_on_commit_callbacks
):
    reminders_sweep(now=THURSDAY_22)
    early_friday = datetime(2026, 3, 6, 7, 30, tzinfo=LA)
    values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
    sessions.session_record(
        actor=clinician_a,
        program=monday_program,
        machine=machine_a,
        performed_at=early_friday,
        pain_after=2,
        now=early_friday,
        **values,
    )
    with django_capture_on_commit_callbacks() as at_eight:
        result = reminders_sweep(now=FRIDAY_08)

    stale = Reminder.objects.get(due_at=THURSDAY_22)
    assert (stale.state, stale.cancel_reason) == (ReminderState.CANCELLED, CancelReason.DUE_MOVED)
    assert (result.cancelled, enqueued_batches(at_eight)) == (1, [])
    # Every row the sweep wrote is audited: created at Thursday's tick, cancelled at Friday's.
    trail = Event.objects.filter(object_type="reminders.reminder", object_id=str(stale.pk))
    assert sorted(trail.values_list("action", "actor_label", "patient_id", "clinic_id")) == [
        ("create", "system", stale.patient_id, stale.clinic_id),
        ("update", "system", stale.patient_id, stale.clinic_id),
    ]


def test_a_program_that_just_started_gets_no_next_session_reminder(clinician_a, patient_a, machine_a):
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=MONDAY - timedelta(days=3))
    program = program_services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=test, start_load=100
    )
    program_services.program_start(actor=clinician_a, program=program, now=MONDAY)

    reminders_sweep(now=MONDAY + timedelta(hours=2))

    assert not Reminder.objects.filter(kind=ReminderKind.SESSION_DUE).exists()


def test_overdue_and_questionnaire_due_times_get_their_own_reminders(clinic_a):
    now = timezone.now()
    (program,) = due_programs(clinic_a, 1, due=now - timedelta(days=20))
    Program.objects.filter(pk=program.pk).update(overdue_at=now - timedelta(hours=1), questionnaire_due_at=now)

    reminders_sweep(now=now)

    kinds = set(Reminder.objects.values_list("kind", flat=True))
    assert kinds == {ReminderKind.OVERDUE, ReminderKind.QUESTIONNAIRE_DUE}  # the session due is 20 days old


def test_a_due_time_older_than_the_window_is_left_alone(clinic_a, settings):
    now = timezone.now()
    due_programs(clinic_a, 1, due=now - timedelta(hours=25))
    due_programs(clinic_a, 1, due=now - timedelta(hours=23), prefix="q")

    reminders_sweep(now=now)

    assert list(Reminder.objects.values_list("patient__email", flat=True)) == ["q0@example.test"]


@pytest.mark.parametrize("status", [ProgramStatus.LAPSED, ProgramStatus.ON_HOLD, ProgramStatus.COMPLETED])
def test_a_program_that_is_not_active_gets_no_reminder(clinic_a, status):
    (program,) = due_programs(clinic_a, 1)
    Program.objects.filter(pk=program.pk).update(status=status)

    reminders_sweep(now=timezone.now())

    assert not Reminder.objects.exists()


def _withdraw_consent(patient, program, actor):
    patient_update(actor=actor, patient=patient, email_reminder_consent=False)


def _unsubscribe(patient, program, actor):
    patient.unsubscribed_at = timezone.now()
    patient.save()


def _delete(patient, program, actor):
    patient_delete(actor=actor, patient=patient)


def _decease(patient, program, actor):
    patient_update(actor=actor, patient=patient, deceased_on=timezone.localdate())


def _no_email(patient, program, actor):
    patient_update(actor=actor, patient=patient, email="")


def _lapse(patient, program, actor):
    Program.objects.filter(pk=program.pk).update(status=ProgramStatus.LAPSED)


def _move_due(patient, program, actor):
    Program.objects.filter(pk=program.pk).update(next_due_at=program.next_due_at + timedelta(days=3))


CHANGES = {
    CancelReason.NO_CONSENT: _withdraw_consent,
    CancelReason.UNSUBSCRIBED: _unsubscribe,
    CancelReason.PATIENT_DELETED: _delete,
    CancelReason.PATIENT_DECEASED: _decease,
    CancelReason.NO_EMAIL: _no_email,
    CancelReason.PROGRAM_NOT_ACTIVE: _lapse,
    CancelReason.DUE_MOVED: _move_due,
}


@pytest.mark.parametrize("reason", list(CHANGES))
def test_a_pending_reminder_that_may_no_longer_go_is_cancelled_with_its_reason_not_enqueued(
    reason, open_clinic, clinic_admin_a, django_capture_on_commit_callbacks
):
    factories.MembershipFactory(user=clinic_admin_a, clinic=open_clinic, role="clinic_admin")
    (reminder_id,) = due_reminders(open_clinic, 1)
    reminder = Reminder.objects.select_related("patient", "program").get(pk=reminder_id)
    CHANGES[reason](reminder.patient, reminder.program, clinic_admin_a)

    reminder = Reminder.objects.select_related("patient", "program").get(pk=reminder_id)
    in_python, in_sql = reminder.block_reason(), Reminder.objects.stale_or_blocked().filter(pk=reminder_id).exists()
    with django_capture_on_commit_callbacks() as enqueued:
        result = reminders_sweep(now=timezone.now())

    assert (in_python, in_sql) == (reason, True)  # the row's rule and its SQL twin agree
    assert Reminder.objects.blocked(reason).filter(pk=reminder_id).exists()
    assert Reminder.objects.values_list("state", "cancel_reason").get() == (ReminderState.CANCELLED, reason)
    assert (result.cancelled, enqueued_batches(enqueued)) == (1, [])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"email_reminder_consent": False}, CancelReason.NO_CONSENT),
        ({"unsubscribed_at": timezone.now()}, CancelReason.UNSUBSCRIBED),
        ({"deceased_on": timezone.localdate()}, CancelReason.PATIENT_DECEASED),
        ({"email": ""}, CancelReason.NO_EMAIL),
    ],
)
def test_a_patient_who_may_not_be_emailed_gets_a_cancelled_row_saying_why(clinic_a, change, reason):
    (program,) = due_programs(clinic_a, 1)
    type(program.patient).objects.filter(pk=program.patient_id).update(**change)

    reminders_sweep(now=timezone.now())

    assert Reminder.objects.values_list("state", "cancel_reason").get() == (ReminderState.CANCELLED, reason)


def test_an_enqueued_id_goes_again_only_after_the_requeue_delay(
    open_clinic, settings, django_capture_on_commit_callbacks
):
    settings.REMINDER_REQUEUE_AFTER_SECONDS = 600
    (reminder_id,) = due_reminders(open_clinic, 1)
    now = timezone.now()
    with django_capture_on_commit_callbacks() as first:
        reminders_sweep(now=now)
    with django_capture_on_commit_callbacks() as soon:
        reminders_sweep(now=now + timedelta(minutes=9))
    with django_capture_on_commit_callbacks() as later:
        reminders_sweep(now=now + timedelta(minutes=11))

    assert enqueued_batches(first) == enqueued_batches(later) == [[str(reminder_id)]]
    assert enqueued_batches(soon) == []


def test_enqueueing_is_bounded_in_named_batches_and_says_when_more_remain(
    open_clinic, settings, django_capture_on_commit_callbacks
):
    settings.REMINDER_ENQUEUE_LIMIT, settings.REMINDER_SEND_BATCH_SIZE = 5, 2
    ids = due_reminders(open_clinic, 7)
    with django_capture_on_commit_callbacks() as first:
        full = reminders_sweep(now=timezone.now())
    with django_capture_on_commit_callbacks() as second:
        rest = reminders_sweep(now=timezone.now())

    assert [len(batch) for batch in enqueued_batches(first)] == [2, 2, 1]
    assert (full.more, rest.more) == (True, False)
    sent = [pk for batch in enqueued_batches(first) + enqueued_batches(second) for pk in batch]
    assert sorted(sent) == sorted(str(pk) for pk in ids)


def test_a_claim_whose_lease_expired_goes_back_to_pending_and_one_that_kept_failing_fails(open_clinic, settings):
    settings.REMINDER_MAX_ATTEMPTS = 3
    lost, exhausted = due_reminders(open_clinic, 2)
    expired = timezone.now() - timedelta(seconds=1)
    Reminder.objects.filter(pk=lost).update(
        state=ReminderState.SENDING, claim=uuid.uuid4(), lease_until=expired, attempts=1
    )
    Reminder.objects.filter(pk=exhausted).update(
        state=ReminderState.SENDING, claim=uuid.uuid4(), lease_until=expired, attempts=3
    )

    result = reminders_sweep(now=timezone.now())

    assert result.recovered == 1
    assert result.enqueued == [lost]
    assert Reminder.objects.get(pk=lost).state == ReminderState.PENDING
    assert Reminder.objects.get(pk=exhausted).state == ReminderState.FAILED


def test_a_live_claim_is_left_alone(open_clinic):
    (reminder_id,) = due_reminders(open_clinic, 1)
    Reminder.objects.filter(pk=reminder_id).update(
        state=ReminderState.SENDING, claim=uuid.uuid4(), lease_until=timezone.now() + timedelta(minutes=5), attempts=1
    )

    result = reminders_sweep(now=timezone.now())

    assert (result.recovered, result.enqueued) == (0, [])
    assert Reminder.objects.get().state == ReminderState.SENDING


def test_unsubscribing_cancels_every_pending_reminder_of_the_patient_once(open_clinic):
    first, _other = due_reminders(open_clinic, 2)
    reminder = Reminder.objects.get(pk=first)

    cancelled = services.patient_unsubscribe(reminder=reminder, now=timezone.now())
    again = services.patient_unsubscribe(reminder=reminder, now=timezone.now())

    assert (cancelled, again) == (1, 0)
    assert Reminder.objects.get(pk=first).cancel_reason == CancelReason.UNSUBSCRIBED
    assert Reminder.objects.filter(state=ReminderState.PENDING).count() == 1  # the other patient's


# --- Two sweeps at once ---------------------------------------------------------------------------


def queued_ids(redis_server) -> list[str]:
    """Every reminder id in the send_reminders messages waiting in the private Redis."""
    ids = []
    for raw in redis_server.client().lrange("celery", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "apps.reminders.tasks.send_reminders":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids += args[0]
    return ids


def test_two_sweeps_at_once_create_and_enqueue_each_reminder_once(transactional_db, open_clinic, broker):
    due_programs(open_clinic, 60)
    now = timezone.now()
    start = threading.Barrier(2)
    results, errors = [], []

    def sweep() -> None:
        try:
            start.wait()
            results.append(reminders_sweep(now=now))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Reminder.objects.count() == 60
    ids = poll(lambda: (queued := queued_ids(broker)) and len(queued) >= 60 and queued, timeout=10)
    assert sorted(ids) == sorted(str(pk) for pk in Reminder.objects.values_list("pk", flat=True))
    assert sum(len(result.enqueued) for result in results) == 60


def test_the_rule_module_and_the_model_name_the_same_reasons():
    assert set(rules.BLOCK_REASONS) == set(CancelReason.values)


@pytest.mark.parametrize(
    ("zone", "due_wall", "sent_wall"),
    [
        ("America/Los_Angeles", (2026, 3, 7, 23, 30), (2026, 3, 8, 8, 0)),  # spring-forward night
        ("America/Los_Angeles", (2026, 10, 31, 23, 30), (2026, 11, 1, 8, 0)),  # fall-back night
        ("Europe/Berlin", (2026, 3, 29, 2, 30), (2026, 3, 29, 8, 0)),  # a wall time inside the gap
        ("Australia/Lord_Howe", (2026, 4, 4, 22, 0), (2026, 4, 5, 8, 0)),  # a 30-minute shift
        ("Asia/Kolkata", (2026, 3, 7, 20, 59), (2026, 3, 7, 20, 59)),  # before quiet hours: at once
    ],
)
def test_the_sweep_schedules_each_due_time_out_of_its_clinics_quiet_hours(organization, zone, due_wall, sent_wall):
    tz = ZoneInfo(zone)
    clinic = factories.ClinicFactory(organization=organization, name=f"Clinic in {zone}", timezone=zone)
    clinic.refresh_from_db()  # the default quiet hours (21:00-08:00) as times, not the model's default strings
    due = rules.next_allowed_send(datetime(*due_wall, tzinfo=tz), tz, time(0), time(0))  # an instant that exists
    due_programs(clinic, 1, due=due)

    reminders_sweep(now=due)

    scheduled = Reminder.objects.get().scheduled_for.astimezone(tz)
    assert scheduled.replace(tzinfo=None) == datetime(*sent_wall)
    assert not rules.in_quiet_hours(scheduled.time(), clinic.quiet_hours_start, clinic.quiet_hours_end)
