"""Attendance as time passes: program_refresh, the periodic task, and coming back after a gap.

Clinic A is in Los Angeles. The last completed session is Monday 2026-03-02 10:00 PST, so the
program is overdue from Monday 03-09 10:00 PDT (7 days on the wall clock, 167 h across the spring
forward), lapsed from 03-16 10:00 and detrained from 03-30 10:00: instants, not calendar days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.assessments import services as assessment_services
from apps.audit.models import Event
from apps.programs import selectors, services, sessions, tasks
from apps.programs.models import Flag, Program, TrainingSession
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)
MONDAY = datetime(2026, 3, 2, 10, tzinfo=LA)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)


def rows() -> tuple:
    programs = list(Program.objects.order_by("pk").values())
    return programs, list(Flag.objects.order_by("pk").values()), Event.objects.count()


def open_kinds(program: Program) -> set[str]:
    return set(selectors.open_flags(patient=program.patient).values_list("kind", flat=True))


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


@pytest.fixture
def start_program(clinician_a, machine_a):
    def start(patient, at=START):
        test = factories.StrengthTestFactory(patient=patient, machine=machine_a, performed_at=at - timedelta(days=3))
        program = services.program_create(
            actor=clinician_a, patient=patient, region="lumbar", baseline_test=test, start_load=100
        )
        return services.program_start(actor=clinician_a, program=program, now=at)

    return start


@pytest.fixture
def program(start_program, patient_a, clinician_a, machine_a):
    program = start_program(patient_a)
    values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
    sessions.session_record(
        actor=clinician_a, program=program, machine=machine_a, performed_at=MONDAY, pain_after=2, now=MONDAY, **values
    )
    return program


@pytest.fixture
def record(clinician_a, machine_a):
    def record_session(program, performed_at, **given):
        values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
        values |= {"pain_after": 2, "actor": clinician_a, "machine": machine_a, "now": performed_at, **given}
        return sessions.session_record(program=program, performed_at=performed_at, **values)

    return record_session


# --- program_refresh ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "attendance", "status", "kinds"),
    [
        (local(2026, 3, 9, 9, 59, 59), "on_track", "active", set()),  # 1 s before 7 days
        (local(2026, 3, 9, 10, 0), "overdue", "active", {"overdue"}),
        (local(2026, 3, 16, 9, 59, 59), "overdue", "active", {"overdue"}),
        (local(2026, 3, 16, 10, 0), "lapsed", "lapsed", {"overdue", "lapsed"}),
        (local(2026, 3, 30, 9, 59, 59), "lapsed", "lapsed", {"overdue", "lapsed"}),
        (local(2026, 3, 30, 10, 0), "detrained", "lapsed", {"overdue", "lapsed", "detrained"}),
    ],
)
def test_program_refresh_follows_the_instants_after_the_last_session(program, now, attendance, status, kinds):
    services.program_refresh(program=program, now=now)

    program.refresh_from_db()
    assert (program.attendance, program.status, open_kinds(program)) == (attendance, status, kinds)


def test_program_refresh_walks_through_each_threshold_and_audits_as_system(program):
    events_before = Event.objects.count()
    for day in (local(2026, 3, 9, 11), local(2026, 3, 17, 11), local(2026, 3, 30, 11)):
        services.program_refresh(program=program, now=day)

    program.refresh_from_db()
    assert (program.status, program.status_reason) == ("lapsed", "No completed session for 15 days.")
    assert Flag.objects.filter(resolved_at__isnull=True).count() == 3
    new_events = Event.objects.order_by("id")[events_before:]
    assert {event.actor_label for event in new_events} == {"system"}
    assert len(new_events) == 3 + 3  # one program update and one flag per threshold


def test_program_refresh_twice_changes_nothing_the_second_time(program):
    services.program_refresh(program=program, now=local(2026, 3, 17, 1))
    before = rows()

    services.program_refresh(program=program, now=local(2026, 3, 17, 1))
    services.program_refresh(program=program, now=local(2026, 3, 20, 1))  # still lapsed, nothing new

    assert rows() == before


# --- refresh_attendance ---------------------------------------------------------------------------


@pytest.fixture
def due_and_not_due(start_program, patient_a, clinic_a):
    now = timezone.now()
    due = start_program(patient_a, at=now - timedelta(days=10))
    not_due = start_program(factories.PatientFactory(clinic=clinic_a), at=now - timedelta(days=2))
    return due, not_due


def test_refresh_attendance_touches_only_due_programs_and_is_idempotent(due_and_not_due):
    due, not_due = due_and_not_due
    untouched = Program.objects.filter(pk=not_due.pk).values().get()

    assert tasks.refresh_attendance() == 1
    after_first = rows()
    assert tasks.refresh_attendance() == 0

    assert rows() == after_first
    assert Program.objects.get(pk=due.pk).attendance == "overdue"
    assert open_kinds(due) == {"overdue"}
    assert Program.objects.filter(pk=not_due.pk).values().get() == untouched
    assert Event.objects.filter(channel="task").count() == 2  # the program update and its flag


def test_refresh_attendance_requeues_itself_after_a_full_batch_within_a_bound(
    due_and_not_due, start_program, clinic_a, monkeypatch
):
    start_program(factories.PatientFactory(clinic=clinic_a), at=timezone.now() - timedelta(days=20))
    queued = []
    monkeypatch.setattr(tasks, "BATCH_SIZE", 1)
    monkeypatch.setattr(tasks.refresh_attendance, "delay", lambda **kwargs: queued.append(kwargs))

    tasks.refresh_attendance()
    tasks.refresh_attendance(rounds_left=1)

    assert queued == [{"rounds_left": tasks.MAX_ROUNDS - 1}]  # the last round does not re-queue
    tasks.refresh_attendance()
    assert queued == [{"rounds_left": tasks.MAX_ROUNDS - 1}]  # nothing left: a short batch ends the chain


def test_programs_due_for_refresh_takes_one_query_whatever_the_batch(start_program, clinic_a):
    now = timezone.now()
    for _ in range(3):
        start_program(factories.PatientFactory(clinic=clinic_a), at=now - timedelta(days=9))

    with CaptureQueriesContext(connection) as queries:
        due = selectors.programs_due_for_refresh(now=now, limit=10)
        zones = {(program.clinic.timezone, program.patient.organization_id) for program in due}

    assert (len(due), len(queries), len(zones)) == (3, 1, 1)


# --- coming back after a gap ----------------------------------------------------------------------


def test_a_lapsed_program_resumes_at_90_percent_after_15_to_28_days(program, record):
    services.program_refresh(program=program, now=local(2026, 3, 17, 1))
    with pytest.raises(ValidationError) as refused:
        record(program, local(2026, 3, 18, 10))  # 100 is no longer the proposal
    assert set(refused.value.message_dict) == {"override_reason"}

    session = record(program, local(2026, 3, 18, 10), load=90)

    program.refresh_from_db()
    assert (session.proposed_load, session.proposal_action) == (90, "resume_reduced")
    assert (program.status, program.attendance, program.current_load) == ("active", "on_track", 90)
    assert open_kinds(program) == set()


def test_a_detrained_patient_needs_a_retest_that_sets_a_new_start_load(program, record, clinician_a, machine_a):
    services.program_refresh(program=program, now=local(2026, 3, 31, 1))
    with pytest.raises(ValidationError, match="retest required"):
        record(program, local(2026, 4, 1, 10))
    assert TrainingSession.objects.count() == 1

    assessment_services.strength_test_record(
        actor=clinician_a, patient=program.patient, machine=machine_a, performed_at=local(2026, 4, 1, 9),
        rom_min_deg=0, rom_max_deg=72, points=[(72, 120), (48, 180), (24, 150)],
    )  # fmt: skip
    program.refresh_from_db()
    assert (program.proposed_load, program.proposal_action) == (90, "start")  # 50 % of 180 ft·lbf
    assert open_kinds(program) == {"overdue", "lapsed"}  # detrained resolved by the retest

    record(program, local(2026, 4, 1, 10), load=90)
    program.refresh_from_db()
    assert (program.status, open_kinds(program)) == ("active", set())


def test_more_than_84_days_away_is_a_new_episode(program, record):
    with pytest.raises(ValidationError, match="new episode"):
        record(program, MONDAY + timedelta(days=85))
