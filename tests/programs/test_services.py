"""Program and session services: hand-computed proposals and due times at clinic A (Los Angeles).

2026 in Los Angeles: PST (UTC-8) until Sunday 03-08 02:00, then PDT (UTC-7). The baseline test peaks at
250 N·m = 184.39 ft·lbf, so 100 ft·lbf is 54 % of it (no override needed) and 50 % is 92 ft·lbf.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.assessments import services as assessment_services
from apps.audit.models import Action, Event
from apps.patients import services as patient_services
from apps.patients.screening import LUMBAR_ITEMS
from apps.programs import flags, selectors, services, sessions
from apps.programs.models import Flag, FlagKind, Program, TrainingSession
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)  # a Friday
MONDAY = datetime(2026, 3, 2, 10, tzinfo=LA)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)


def wall(moment: datetime) -> tuple[int, int, int, int, int]:
    at = moment.astimezone(LA)
    return (at.year, at.month, at.day, at.hour, at.minute)


def state(program: Program) -> tuple:
    counts = (Program.objects.count(), TrainingSession.objects.count(), Flag.objects.count(), Event.objects.count())
    return counts, Program.objects.filter(pk=program.pk).values().get()


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


@pytest.fixture
def baseline(patient_a, machine_a):
    return factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=START - timedelta(days=3))


@pytest.fixture
def make_program(clinician_a, patient_a, baseline):
    def make(start_load=100, **prescription):
        program = services.program_create(
            actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=start_load,
            **prescription,
        )  # fmt: skip
        return services.program_start(actor=clinician_a, program=program, now=START)

    return make


@pytest.fixture
def program(make_program):
    return make_program()


@pytest.fixture
def record(clinician_a, machine_a):
    def record_session(program, performed_at=MONDAY, **given):
        values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True}
        values |= {"pain_before": 2, "pain_after": 2, "actor": clinician_a, "machine": machine_a}
        values |= {"now": performed_at + timedelta(hours=1), **given}
        return sessions.session_record(program=program, performed_at=performed_at, **values)

    return record_session


def open_kinds(patient) -> set[str]:
    return set(selectors.open_flags(patient=patient).values_list("kind", flat=True))


# --- program_create and program_start ------------------------------------------------------------


def test_program_create_writes_a_draft_in_the_machine_unit_with_one_event(clinician_a, patient_a, baseline):
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)

    assert (program.status, program.machine_kind, program.load_unit) == ("draft", "lumbar_extension", "ft_lbf")
    assert program.start_load == 92  # 250 N·m / 1.355818 = 184.39 ft·lbf; half, rounded down to 1
    (event,) = Event.objects.all()
    assert (event.action, event.object_type, event.actor) == (Action.CREATE, "programs.program", clinician_a)


def test_a_cervical_start_load_uses_the_cervical_machine_increment(clinician_a, patient_a, clinic_a):
    machine = factories.MachineFactory(clinic=clinic_a, kind="cervical_extension")
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine)  # peak 44 N·m

    program = services.program_create(actor=clinician_a, patient=patient_a, region="cervical", baseline_test=test)

    # 44 / 0.1129848 = 389.43 in·lbf; half is 194.7, rounded down to a multiple of 3.
    assert (program.load_unit, program.start_load) == ("in_lbf", 192)


def test_a_start_load_outside_40_to_80_percent_needs_a_reason(clinician_a, patient_a, baseline):
    with pytest.raises(ValidationError) as refused:  # 150 / 184.39 = 81 %
        services.program_create(
            actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=150
        )
    assert set(refused.value.message_dict) == {"start_load_override_reason"}
    assert not Program.objects.exists()

    program = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=150,
        start_load_override_reason="trained athlete",
    )  # fmt: skip
    assert (program.start_load, program.start_load_override_reason) == (150, "trained athlete")


def test_program_create_refuses_a_second_open_program_for_the_region(program, clinician_a, patient_a):
    before = state(program)

    with pytest.raises(ValidationError) as refused:
        services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", start_load=100)

    assert set(refused.value.message_dict) == {"region"}
    assert state(program) == before


@pytest.mark.parametrize(
    ("prescription", "field"),
    [
        ({"sessions_per_week": 4}, "sessions_per_week"),
        ({"planned_weeks": 5}, "planned_weeks"),
        ({"progression_step_pct": 11}, "progression_step_pct"),
        ({"rep_min": 13}, "rep_max"),
        ({"tul_min_s": 150}, "tul_max_s"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_program_create_validates_the_prescription(clinician_a, patient_a, baseline, prescription, field):
    with pytest.raises(ValidationError) as refused:
        services.program_create(
            actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, **prescription
        )

    assert field in refused.value.message_dict
    assert not Program.objects.exists()


def test_program_create_is_404_for_another_clinic_and_403_for_the_front_desk(clinician_b, clinic_a, patient_a):
    with pytest.raises(Http404):
        services.program_create(actor=clinician_b, patient=patient_a, region="lumbar", start_load=100)
    front_desk = factories.StaffFactory(clinic=clinic_a, role="front_desk")
    with pytest.raises(PermissionDenied):
        services.program_create(actor=front_desk, patient=patient_a, region="lumbar", start_load=100)
    assert not Program.objects.exists()


def test_program_start_sets_the_loads_and_every_due_date(clinician_a, patient_a, baseline):
    factories.QuestionnaireResponseFactory(patient=patient_a, completed_at=START - timedelta(days=1))
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)

    services.program_start(actor=clinician_a, program=program, now=START)

    program.refresh_from_db()
    assert (program.status, program.started_at, program.current_load, program.proposed_load) == (
        "active",
        START,
        92,
        92,
    )
    assert program.proposal_action == "start"
    assert wall(program.questionnaire_due_at) == (2026, 3, 13, 10, 0)  # baseline done the day before: +14 days
    assert wall(program.physician_review_due_at) == (2026, 3, 27, 10, 0)  # +28 days, across the DST change
    assert wall(program.retest_due_at) == (2026, 4, 10, 10, 0)  # week 6
    assert wall(program.overdue_at) == (2026, 3, 6, 10, 0)  # 7 days on the wall clock
    assert Event.objects.filter(action=Action.UPDATE, object_id=str(program.pk)).count() == 1


def test_program_start_is_refused_while_a_red_flag_screen_awaits_review(clinician_a, patient_a, baseline):
    answers = dict.fromkeys(LUMBAR_ITEMS, False) | {"saddle_anaesthesia": True}
    patient_services.red_flag_screen_record(actor=clinician_a, patient=patient_a, region="lumbar", answers=answers)
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)
    before = state(program)

    with pytest.raises(ValidationError) as refused:
        services.program_start(actor=clinician_a, program=program, now=START)

    assert "program" in refused.value.message_dict
    assert state(program) == before


# --- session_record: the scenario ----------------------------------------------------------------


def test_recording_a_session_updates_proposal_due_times_and_flags_in_one_transaction(program, record):
    services.program_refresh(program=program, now=local(2026, 3, 7, 9))  # 7 days and 23 h since the start: overdue
    assert open_kinds(program.patient) == {"overdue"}

    session = record(program, reps=14)  # Monday 10:00, 14 reps at failure on 100 ft·lbf

    program.refresh_from_db()
    assert (session.proposed_load, session.proposal_action) == (100, "start")  # the proposal in force
    assert (program.proposed_load, program.proposal_action) == (105, "increase")
    assert program.proposal_reason == "reps 14 > 12 at failure: +5 %"
    assert (program.current_load, program.completed_sessions, program.last_completed_at) == (100, 1, MONDAY)
    assert wall(program.earliest_next_at) == (2026, 3, 4, 10, 0)  # Wednesday, +48 h
    assert wall(program.next_due_at) == (2026, 3, 5, 22, 0)  # Thursday, +3.5 days
    assert [wall(program.overdue_at), wall(program.lapse_at), wall(program.detrained_at)] == [
        (2026, 3, 9, 10, 0),  # Monday 10:00 + 7 days, the same local hour across the DST change
        (2026, 3, 16, 10, 0),
        (2026, 3, 30, 10, 0),
    ]
    assert (program.attendance, open_kinds(program.patient)) == ("on_track", set())
    events = Event.objects.filter(occurred_at__gte=session.created_at)
    assert sorted(events.values_list("object_type", "action")) == [
        ("programs.flag", "update"),
        ("programs.program", "update"),
        ("programs.trainingsession", "create"),
    ]


def test_a_failure_after_the_session_insert_writes_nothing(program, record, monkeypatch):
    before = state(program)

    def broken(**kwargs):
        raise RuntimeError("flags down")

    monkeypatch.setattr(flags, "flags_after_session", broken)
    with pytest.raises(RuntimeError):
        record(program, reps=14)

    assert state(program) == before


def test_a_session_across_the_dst_change_keeps_local_hours(program, record):
    record(program, performed_at=local(2026, 3, 6, 10))  # Friday, PST

    program.refresh_from_db()
    assert wall(program.next_due_at) == (2026, 3, 9, 22, 0)  # Monday 22:00 PDT: same wall clock
    assert wall(program.earliest_next_at) == (2026, 3, 8, 11, 0)  # 48 real hours: 11:00 PDT


# --- session_record: what it refuses -------------------------------------------------------------


def test_it_rejects_a_load_off_the_increment_and_writes_nothing(program, record):
    before = state(program)

    with pytest.raises(ValidationError) as refused:
        record(program, load=Decimal("101.5"), override_reason="test")

    assert refused.value.message_dict == {"load": ["Load 101.5 is not a multiple of the machine's increment 1 ft·lbf."]}
    assert state(program) == before


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"pain_after": 11}, "pain_after"),
        ({"pain_before": -1}, "pain_before"),
        ({"reps": 51}, "reps"),
        ({"time_under_load_s": 301}, "time_under_load_s"),
        ({"load": 601, "override_reason": "x"}, "load"),  # above the machine's 600
        ({"rom_min_deg": 40, "rom_max_deg": 30}, "rom_max_deg"),
        ({"status": "abandoned"}, "status"),
        ({"now": MONDAY - timedelta(hours=1)}, "performed_at"),  # in the future
        ({"performed_at": START - timedelta(hours=1)}, "performed_at"),  # before the program
    ],
)
def test_it_rejects_values_out_of_range_and_writes_nothing(program, record, given, field):
    before = state(program)

    with pytest.raises(ValidationError) as refused:
        record(program, **given)

    assert field in refused.value.message_dict
    assert state(program) == before


def test_a_session_before_the_48_h_rest_needs_an_early_reason(program, record):
    record(program)
    wednesday_9 = local(2026, 3, 4, 9)

    with pytest.raises(ValidationError) as refused:
        record(program, performed_at=wednesday_9)
    assert set(refused.value.message_dict) == {"early_reason"}

    session = record(program, performed_at=wednesday_9, early_reason="travelling on Thursday")
    assert session.early_reason == "travelling on Thursday"


def test_a_load_other_than_the_proposal_needs_a_reason_stored_with_the_supervisor(program, record, clinician_a):
    with pytest.raises(ValidationError) as refused:
        record(program, load=110)
    assert set(refused.value.message_dict) == {"override_reason"}

    session = record(program, load=110, override_reason="felt strong on the warm-up")

    assert (session.proposed_load, session.load, session.overridden) == (100, 110, True)
    assert (session.supervisor, session.override_reason) == (clinician_a, "felt strong on the warm-up")


def test_a_session_is_refused_before_the_last_completed_one(program, record):
    record(program)

    with pytest.raises(ValidationError) as refused:
        record(program, performed_at=MONDAY - timedelta(hours=2), early_reason="x")

    assert set(refused.value.message_dict) == {"performed_at"}


@pytest.mark.parametrize("who", ["clinician_b", "outsider"])
def test_another_clinic_cannot_record_a_session_for_the_patient(request, program, record, who):
    before = state(program)

    with pytest.raises(Http404):
        record(program, actor=request.getfixturevalue(who))

    assert state(program) == before


def test_a_machine_of_a_clinic_the_actor_cannot_see_is_404(program, record, clinic_b):
    with pytest.raises(Http404):
        record(program, machine=factories.MachineFactory(clinic=clinic_b))


# --- session_record: flags ------------------------------------------------------------------------


def test_a_red_flag_blocks_the_next_session_until_a_physician_clears_it(program, record, clinician_a, physician_a):
    record(program, red_flag_reported=True)
    program.refresh_from_db()
    assert (program.proposal_action, open_kinds(program.patient)) == ("red_flag_stop", {"red_flag"})

    with pytest.raises(ValidationError, match="physician"):
        record(program, performed_at=local(2026, 3, 5, 10))
    red_flag = selectors.open_flags(patient=program.patient).get()
    with pytest.raises(PermissionDenied):
        flags.flag_resolve(actor=clinician_a, flag=red_flag, resolution="looks fine")
    flags.flag_resolve(actor=physician_a, flag=red_flag, resolution="examined: no cauda equina signs")

    assert record(program, performed_at=local(2026, 3, 5, 10)).pk is not None


def test_two_clean_sessions_resolve_a_pain_flare(program, record):
    record(program, pain_before=2, pain_after=4)  # a rise of 2: hold
    program.refresh_from_db()
    assert (program.proposed_load, program.proposal_action, open_kinds(program.patient)) == (
        100,
        "pain_hold",
        {"pain_flare"},
    )

    record(program, performed_at=local(2026, 3, 5, 10))
    assert open_kinds(program.patient) == {"pain_flare"}  # one clean session is not enough
    record(program, performed_at=local(2026, 3, 9, 10))

    assert open_kinds(program.patient) == set()
    assert Flag.objects.get().resolution == "Two consecutive clean sessions."


def test_pain_of_7_reduces_the_next_load_to_90_percent_rounded_down_for_review(make_program, record):
    program = make_program(start_load=105)

    record(program, load=105, pain_before=6, pain_after=7)

    program.refresh_from_db()
    assert (program.proposed_load, program.proposal_action) == (94, "pain_reduce")  # 94.5 rounded down
    assert "clinician review" in Flag.objects.get(kind=FlagKind.PAIN_FLARE).reason


def test_a_load_rise_above_15_percent_in_7_days_opens_a_review_flag(make_program, record):
    program = make_program(sessions_per_week=3, progression_step_pct=10)

    record(program, reps=14)  # Monday 100 → 110
    record(program, performed_at=local(2026, 3, 4, 10), load=110, reps=14)  # Wednesday: +10 % on the week
    assert open_kinds(program.patient) == set()
    record(program, performed_at=local(2026, 3, 6, 10), load=121, reps=10)  # Friday: 121 vs 100 is +21 %

    assert (
        Flag.objects.get(kind=FlagKind.RAPID_RISE).reason == "Load rose 21 % within 7 days (100 → 121 ft·lbf): review."
    )


def test_a_session_stopped_early_does_not_count_for_scheduling(program, record):
    before = Program.objects.filter(pk=program.pk).values("next_due_at", "overdue_at", "completed_sessions").get()

    record(program, status="stopped_early", reps=4)

    after = Program.objects.filter(pk=program.pk).values("next_due_at", "overdue_at", "completed_sessions").get()
    assert after == before
    assert program.last_completed_at is None


# --- recording a strength test updates the program -------------------------------------------


def test_a_test_recorded_for_a_draft_program_sets_its_baseline_and_start_load(clinician_a, patient_a, machine_a):
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar")
    assert program.start_load is None
    given = {"actor": clinician_a, "patient": patient_a, "machine": machine_a, "rom_min_deg": 0, "rom_max_deg": 72}
    points = [(72, 120), (48, 180), (24, 150)]  # ft·lbf

    first = assessment_services.strength_test_record(**given, performed_at=START, points=points)
    second = assessment_services.strength_test_record(**given, performed_at=START + timedelta(days=2), points=points)

    program.refresh_from_db()
    assert first.is_familiarization
    assert program.baseline_test == second
    # 180 ft·lbf is stored as 244.05 N·m = 180.002 ft·lbf; half is 90.001, rounded down to 90.
    assert program.start_load == 90


# --- selectors ------------------------------------------------------------------------------------


def test_the_selectors_give_the_open_program_and_the_log_newest_first(program, record, physician_a):
    first = record(program)
    second = record(program, performed_at=local(2026, 3, 5, 10))

    assert list(selectors.session_log(program=program)) == [second, first]
    assert selectors.program_for_patient(patient=program.patient, region="lumbar") == program
    services.program_transition(actor=physician_a, program=program, status="discharged", now=local(2026, 3, 6, 10))
    assert selectors.program_for_patient(patient=program.patient) is None


def test_recording_the_due_questionnaire_moves_the_programs_next_questionnaire_due(clinician_a, patient_a, program):
    first_due = program.questionnaire_due_at
    assert first_due == START  # baseline questionnaire: due when the program starts

    assessment_services.questionnaire_record(
        actor=clinician_a, patient=patient_a, instrument="odi", answers=[2] * 10, completed_at=START
    )

    program.refresh_from_db()
    # Next on the 14-day cadence, in local wall time: Friday 2026-03-13 10:00.
    assert wall(program.questionnaire_due_at) == (2026, 3, 13, 10, 0)


def test_a_neck_questionnaire_does_not_move_a_lumbar_programs_due(clinician_a, patient_a, program):
    assessment_services.questionnaire_record(
        actor=clinician_a, patient=patient_a, instrument="ndi", answers=[2] * 10, completed_at=START
    )

    program.refresh_from_db()
    assert program.questionnaire_due_at == START
