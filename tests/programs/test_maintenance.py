"""Maintenance after the program (DOMAIN.md "Maintenance") at clinic A (Los Angeles).

The program starts Friday 2026-02-27 10:00 PST; sessions on Monday 03-02 and Thursday 03-05 10:00 PST.
Completed into maintenance on Friday 03-06 with the default interval of 2 weeks, the next session is due
Thursday 03-19 10:00 PDT (the same local hour across the spring forward), overdue from 03-26 10:00,
lapsed from 04-02 10:00 (due + 14 days) and detrained from 04-16 10:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from apps.assessments import services as assessment_services
from apps.audit.models import Event
from apps.programs import maintenance, selectors, services, sessions
from apps.programs.models import MAINTAIN, Flag, Program, TrainingSession, moves_from
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)
MONDAY, THURSDAY = datetime(2026, 3, 2, 10, tzinfo=LA), datetime(2026, 3, 5, 10, tzinfo=LA)
COMPLETED_AT = datetime(2026, 3, 6, 12, tzinfo=LA)
DUE = datetime(2026, 3, 19, 10, tzinfo=LA)
SECOND = timedelta(seconds=1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)


def open_kinds(program: Program) -> set[str]:
    return set(selectors.open_flags(patient=program.patient).values_list("kind", flat=True))


def rows(program: Program) -> tuple:
    counts = (TrainingSession.objects.count(), Flag.objects.count(), Event.objects.count())
    return counts, Program.objects.filter(pk=program.pk).values().get()


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


@pytest.fixture
def record(clinician_a, machine_a):
    def record_session(program, performed_at, **given):
        values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
        values |= {"pain_after": 2, "actor": clinician_a, "machine": machine_a, "now": performed_at, **given}
        return sessions.session_record(program=program, performed_at=performed_at, **values)

    return record_session


@pytest.fixture
def trained(clinician_a, patient_a, machine_a, record):
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=START - timedelta(days=3))
    program = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=test, start_load=100
    )
    program = services.program_start(actor=clinician_a, program=program, now=START)
    record(program, MONDAY)
    record(program, THURSDAY)
    program.refresh_from_db()
    return program


@pytest.fixture
def maintained(trained, clinician_a):
    return maintenance.program_maintain(actor=clinician_a, program=trained, now=COMPLETED_AT)


def test_completing_into_maintenance_sets_the_next_due_two_weeks_after_the_last_session(maintained):
    maintained.refresh_from_db()
    assert (maintained.phase, maintained.maintenance_interval_weeks, maintained.status) == ("maintenance", 2, "active")
    assert maintained.maintenance_started_at == COMPLETED_AT
    assert maintained.status_reason == "Training completed: maintenance every 2 weeks."
    assert maintained.next_due_at == DUE
    assert (maintained.overdue_at, maintained.lapse_at, maintained.detrained_at) == (
        local(2026, 3, 26, 10),
        local(2026, 4, 2, 10),
        local(2026, 4, 16, 10),
    )
    # The training phase's discharge measures fall due at once; the retest and review every 12 weeks after.
    assert maintained.questionnaire_due_at == maintained.retest_due_at == COMPLETED_AT
    assert maintained.physician_review_due_at == COMPLETED_AT
    assert Event.objects.filter(object_id=str(maintained.pk), action="update").count() >= 1


def test_the_interval_is_a_setting_of_1_to_4_weeks(trained, clinician_a):
    program = maintenance.program_maintain(actor=clinician_a, program=trained, interval_weeks=4, now=COMPLETED_AT)
    assert program.next_due_at == local(2026, 4, 2, 10)
    assert program.lapse_at == local(2026, 4, 16, 10)


@pytest.mark.parametrize("weeks", [0, 5, 2.5, "2", True, None])
def test_an_interval_outside_1_to_4_whole_weeks_is_refused_and_changes_nothing(trained, clinician_a, weeks):
    before = rows(trained)
    with pytest.raises(ValidationError) as refused:
        maintenance.program_maintain(actor=clinician_a, program=trained, interval_weeks=weeks, now=COMPLETED_AT)
    assert refused.value.message_dict == {"maintenance_interval_weeks": ["Choose one session every 1-4 weeks."]}
    assert rows(trained) == before


def test_only_an_active_training_program_with_a_session_moves_to_maintenance(maintained, clinician_a, patient_b):
    assert MAINTAIN not in moves_from(maintained)
    with pytest.raises(ValidationError, match="Only an active training program"):
        maintenance.program_maintain(actor=clinician_a, program=maintained, now=COMPLETED_AT)
    draft = factories.ProgramFactory(patient=factories.PatientFactory(clinic=maintained.clinic))
    assert MAINTAIN not in moves_from(draft)
    with pytest.raises(ValidationError, match="Only an active training program"):
        maintenance.program_maintain(actor=clinician_a, program=draft, now=COMPLETED_AT)


def test_another_clinics_program_is_not_found(trained, clinician_b):
    before = rows(trained)
    with pytest.raises(Http404):
        maintenance.program_maintain(actor=clinician_b, program=trained, now=COMPLETED_AT)
    assert rows(trained) == before


def test_a_maintenance_session_moves_the_next_due_two_weeks_on_and_keeps_progressing(maintained, record):
    session = record(maintained, DUE, reps=14)  # 14 reps at failure: the progression rule still raises the load

    maintained.refresh_from_db()
    assert session.phase == "maintenance"
    assert maintained.next_due_at == local(2026, 4, 2, 10)
    assert maintained.lapse_at == local(2026, 4, 16, 10)
    assert (maintained.proposed_load, maintained.proposal_action) == (105, "increase")
    assert maintained.attendance == "on_track"
    assert list(TrainingSession.objects.order_by("performed_at").values_list("phase", flat=True)) == [
        "training",
        "training",
        "maintenance",
    ]


@pytest.mark.parametrize(
    ("now", "attendance", "status", "kinds"),
    [
        (local(2026, 3, 26, 10) - SECOND, "on_track", "active", set()),
        (local(2026, 3, 26, 10), "overdue", "active", {"overdue"}),  # due + 7 days
        (local(2026, 4, 2, 10) - SECOND, "overdue", "active", {"overdue"}),
        (local(2026, 4, 2, 10), "lapsed", "lapsed", {"overdue", "lapsed"}),  # due + 14 days
        (local(2026, 4, 16, 10), "detrained", "lapsed", {"overdue", "lapsed", "detrained"}),
    ],
)
def test_a_missed_maintenance_session_lapses_14_days_after_it_fell_due(maintained, now, attendance, status, kinds):
    services.program_refresh(program=maintained, now=now)

    maintained.refresh_from_db()
    assert (maintained.attendance, maintained.status, open_kinds(maintained)) == (attendance, status, kinds)
    if status == "lapsed":
        assert maintained.status_reason.endswith("(maintenance every 2 weeks).")
        assert maintained.phase == "maintenance"


def test_the_flags_of_a_maintenance_patient_say_the_days_count_from_the_due_time(maintained):
    services.program_refresh(program=maintained, now=local(2026, 3, 26, 10))
    assert Flag.objects.get(kind="overdue").reason == (
        "7 days without a completed maintenance session since it fell due: remind the patient."
    )


@pytest.mark.parametrize(
    ("performed_at", "action", "load"),
    [
        (DUE + timedelta(days=10), "hold", 100),  # 24 days since the last session, but 10 after it fell due
        (DUE + timedelta(days=14, hours=2), "resume_reduced", 90),
    ],
)
def test_a_return_in_maintenance_counts_the_gap_from_the_due_time(maintained, record, performed_at, action, load):
    services.program_refresh(program=maintained, now=performed_at - timedelta(hours=1))
    session = record(maintained, performed_at, load=load)

    maintained.refresh_from_db()
    assert (session.proposal_action, session.proposed_load) == (action, load)
    assert (maintained.status, maintained.attendance, maintained.phase) == ("active", "on_track", "maintenance")


def test_a_lapsed_maintenance_patient_who_comes_back_stays_in_maintenance(maintained, record):
    services.program_refresh(program=maintained, now=local(2026, 4, 3, 10))
    record(maintained, local(2026, 4, 6, 10), load=90)

    maintained.refresh_from_db()
    assert (maintained.status, maintained.phase, open_kinds(maintained)) == ("active", "maintenance", set())
    assert maintained.next_due_at == local(2026, 4, 20, 10)


def test_a_retest_in_maintenance_sets_the_next_one_12_weeks_after_the_start(maintained, clinician_a, machine_a):
    assessment_services.strength_test_record(
        actor=clinician_a,
        patient=maintained.patient,
        machine=machine_a,
        performed_at=COMPLETED_AT + timedelta(days=1),
        rom_min_deg=0,
        rom_max_deg=72,
        points=[(72, 200), (36, 250), (0, 300)],
    )

    maintained.refresh_from_db()
    assert maintained.retest_due_at == local(2026, 5, 29, 12)  # 12 weeks after Friday 03-06 12:00


def test_moving_an_overdue_patient_to_maintenance_resolves_the_flag_the_new_clock_no_longer_bears(trained, clinician_a):
    services.program_refresh(program=trained, now=local(2026, 3, 12, 11))  # 7 days after Thursday
    assert open_kinds(trained) == {"overdue"}

    maintenance.program_maintain(actor=clinician_a, program=trained, now=local(2026, 3, 13, 9))

    trained.refresh_from_db()
    assert (trained.attendance, open_kinds(trained)) == ("on_track", set())
    assert Flag.objects.get(kind="overdue").resolution == "Moved to maintenance."
