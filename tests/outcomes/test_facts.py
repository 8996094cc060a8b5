"""Outcome facts: kept current by every write of a program's record, and equal to a rebuild from the records."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.assessments import services as assessment_services
from apps.outcomes import facts, receivers, tasks
from apps.outcomes.models import OutcomeCurvePoint, OutcomeFact
from apps.programs import services, sessions
from apps.programs.models import Program
from apps.programs.signals import program_saved
from tests import factories

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)  # a Friday
CURVE = [(72, 100), (48, 150), (24, 130)]  # ft·lbf, the lumbar machine's unit


def stored(program: Program) -> dict:
    row = OutcomeFact.objects.filter(program=program).values().get()
    curve = list(
        OutcomeCurvePoint.objects.filter(program_id=program.pk)
        .order_by("session_number", "pk")
        .values_list("session_number", "change_pct")
    )
    return {**row, "curve": curve}


def rebuilt(program: Program, now: datetime) -> dict:
    """What a rebuild writes for the program at `now`."""
    facts.facts_rebuild(now=now, program_ids=[program.pk])
    return stored(program)


class History:
    """One patient's program written through the services, as staff would."""

    def __init__(self, clinician, clinic, serial: str):
        self.clinician = clinician
        self.machine = factories.MachineFactory(clinic=clinic, serial_number=serial)
        self.patient = factories.PatientFactory(clinic=clinic, birth_date=datetime(1970, 6, 1).date())
        self.test(START - timedelta(days=7), CURVE)  # familiarisation
        baseline = self.test(START - timedelta(days=3), CURVE)
        program = services.program_create(
            actor=clinician,
            patient=self.patient,
            region="lumbar",
            baseline_test=baseline,
            planned_weeks=12,
            sessions_per_week=3,
        )
        self.program = services.program_start(actor=clinician, program=program, now=START)
        self.at = START

    def test(self, at, points):
        return assessment_services.strength_test_record(
            actor=self.clinician, patient=self.patient, machine=self.machine, performed_at=at,
            rom_min_deg=0, rom_max_deg=72, points=points,
        )  # fmt: skip

    def odi(self, at, level: int):
        assessment_services.questionnaire_record(
            actor=self.clinician, patient=self.patient, instrument="odi", answers=[level] * 10, completed_at=at
        )

    def session(self, at):
        self.program.refresh_from_db()
        sessions.session_record(
            actor=self.clinician, program=self.program, machine=self.machine, performed_at=at,
            load=self.program.proposed_load, reps=10, time_under_load_s=90, reached_failure=True,
            pain_before=2, pain_after=2, now=at + timedelta(hours=1),
        )  # fmt: skip


def test_a_program_s_facts_follow_its_sessions_tests_and_questionnaires(clinician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-1")
    history.odi(START, 4)  # ODI 80 %
    for day in (3, 5, 7):  # Mon, Wed, Fri
        history.session(START + timedelta(days=day))
    history.test(START + timedelta(days=8), [(72, 120), (48, 180), (24, 156)])  # each angle +20 %
    history.odi(START + timedelta(days=9), 2)  # ODI 40 %
    history.session(START + timedelta(days=10))  # Monday: the last write, at its `now` (1 h after)

    fact = OutcomeFact.objects.get(program=history.program)
    assert (fact.outcome_status, fact.region, fact.age_band, fact.prom_instrument) == (
        "in_progress",
        "lumbar",
        "55-59",
        "odi",
    )
    assert fact.strength_change_pct == Decimal("20.0")
    assert (fact.prom_baseline, fact.prom_latest, fact.prom_change, fact.prom_important) == (80, 40, 40, True)
    assert fact.sessions_completed == 4
    # As of 10 days 1 h after the start: 3 a week x 10.04 / 7 weeks = 4.3, floored: 4 prescribed, 4 done.
    assert fact.sessions_prescribed == 4
    assert fact.adherence_pct == Decimal("100.0")
    assert fact.weeks_in_program == Decimal("1.4")
    assert list(fact.curve.values_list("session_number", "change_pct")) == [(3, Decimal("20.0"))]
    assert fact.dropout_week is None


def test_a_draft_has_no_facts_and_a_discharge_ends_them(clinician_a, physician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-2")
    history.session(START + timedelta(days=3))
    services.program_transition(
        actor=physician_a, program=history.program, status="discharged", now=START + timedelta(days=4)
    )
    fact = OutcomeFact.objects.get(program=history.program)
    assert (fact.outcome_status, fact.program_status) == ("discharged", "discharged")
    assert fact.ended_at is not None
    draft = services.program_create(
        actor=clinician_a, patient=factories.PatientFactory(clinic=clinic_a), region="lumbar"
    )
    assert not OutcomeFact.objects.filter(program=draft).exists()


def test_a_lapse_is_a_dropout_in_the_week_of_the_last_session(clinician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-3")
    history.session(START + timedelta(days=10))  # week 2
    history.program.refresh_from_db()
    services.program_refresh(program=history.program, now=START + timedelta(days=40))
    fact = OutcomeFact.objects.get(program=history.program)
    assert (fact.program_status, fact.outcome_status, fact.dropout_week) == ("lapsed", "dropped_out", 2)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["session", "late session", "test", "odi", "nrs", "hold", "lapse", "discharge"]),
        st.integers(2, 6),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, strength=st.lists(st.integers(60, 200), min_size=3, max_size=3))
def test_the_incremental_facts_equal_a_rebuild_after_any_history(clinician_a, physician_a, clinic_a, actions, strength):
    history = History(clinician_a, clinic_a, f"OF-H{OutcomeFact.objects.count()}")
    at = START
    for action, days in actions:
        at += timedelta(days=days)
        history.program.refresh_from_db()
        status = history.program.status
        if action in ("session", "late session") and status in ("active", "lapsed"):
            if action == "late session":  # a retest entered before the session that came before it
                history.test(at + timedelta(hours=2), [(72, strength[1]), (48, strength[2]), (24, strength[0])])
            try:
                history.session(at)
            except ValidationError:  # a session the rules refuse (detrained: a retest first) changes nothing
                continue
        elif action == "test":
            history.test(at, [(72, strength[0]), (48, strength[1]), (24, strength[2])])
        elif action == "odi":
            history.odi(at, days - 2)
        elif action == "nrs":
            assessment_services.questionnaire_record(
                actor=clinician_a, patient=history.patient, instrument="pain_nrs", answers=days, completed_at=at
            )
        elif action == "hold" and status in ("active", "on_hold"):
            target = "active" if status == "on_hold" else "on_hold"
            services.program_transition(actor=clinician_a, program=history.program, status=target, now=at)
        elif action == "lapse" and status == "active":
            at += timedelta(days=30)
            services.program_refresh(program=history.program, now=at)
        elif action == "discharge" and status in ("active", "on_hold"):
            services.program_transition(actor=physician_a, program=history.program, status="discharged", now=at)
            break
    incremental = stored(history.program)
    assert incremental == rebuilt(history.program, incremental["as_of"])


def test_the_rebuild_command_writes_every_started_program_and_refuses_an_unknown_id(clinician_a, clinic_a, capsys):
    history = History(clinician_a, clinic_a, "OF-4")
    before = stored(history.program)
    OutcomeFact.objects.all().delete()

    call_command("outcomes_rebuild")

    assert "Rebuilt the outcome facts of 1 programs." in capsys.readouterr().out
    after = stored(history.program)
    # The command computes as of now, the start's write as of the start: only the figures that move with time differ.
    moving = {"as_of", "weeks_in_program", "sessions_prescribed", "adherence_pct", "sessions_per_week_done"}
    assert {k: v for k, v in after.items() if k not in moving} == {k: v for k, v in before.items() if k not in moving}
    assert after["as_of"] > before["as_of"]
    with pytest.raises(CommandError, match="No program with id"):
        call_command("outcomes_rebuild", "--program", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(CommandError, match="not a valid UUID"):
        call_command("outcomes_rebuild", "--program", "nope")


def test_the_catch_up_brings_a_running_program_s_figures_to_today(clinician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-5")
    history.session(START + timedelta(days=3))
    before = stored(history.program)

    assert tasks.catch_up_outcome_facts() == 1

    after = stored(history.program)
    assert after["as_of"] > before["as_of"]
    assert after["weeks_in_program"] > before["weeks_in_program"]
    assert after["sessions_prescribed"] == 36  # the whole plan (3 a week for 12 weeks) is due by now
    assert after == rebuilt(history.program, after["as_of"])
    assert tasks.catch_up_outcome_facts() == 0  # up to date: nothing selected


def test_a_session_adds_one_update_of_the_facts_row(clinician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-6")
    with CaptureQueriesContext(connection) as with_facts:
        history.session(START + timedelta(days=3))
    assert stored(history.program) == rebuilt(history.program, stored(history.program)["as_of"])
    program_saved.disconnect(dispatch_uid="outcomes.program_saved", sender=Program)
    try:
        with CaptureQueriesContext(connection) as without:
            history.session(START + timedelta(days=5))
    finally:
        program_saved.connect(receivers._program_saved, sender=Program, dispatch_uid="outcomes.program_saved")
    touched = [q["sql"] for q in with_facts.captured_queries if "outcomes_outcome" in q["sql"]]
    # No test or questionnaire read: the program row's figures, in one UPDATE guarded by "no later test".
    assert len(with_facts) - len(without) == 1
    assert len(touched) == 1, touched
    assert touched[0].startswith('UPDATE "outcomes_outcomefact"')
    assert "NOT (EXISTS" in touched[0]


def test_a_session_before_a_recorded_retest_moves_the_retest_s_curve_point(clinician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-7")
    history.session(START + timedelta(days=3))
    # The retest is entered first, then the session that came before it (the same morning, entered late).
    history.test(START + timedelta(days=5, hours=2), [(72, 120), (48, 180), (24, 156)])
    assert list(OutcomeCurvePoint.objects.filter(program_id=history.program.pk).values_list("session_number")) == [(1,)]
    history.session(START + timedelta(days=5))

    incremental = stored(history.program)
    assert incremental["curve"] == [(2, Decimal("20.0"))]
    assert incremental["sessions_completed"] == 2
    assert incremental == rebuilt(history.program, incremental["as_of"])


def test_a_session_that_resumes_a_lapsed_program_is_no_longer_a_dropout(clinician_a, clinic_a):
    history = History(clinician_a, clinic_a, "OF-8")
    history.session(START + timedelta(days=3))
    services.program_refresh(program=history.program, now=START + timedelta(days=40))
    assert stored(history.program)["outcome_status"] == "dropped_out"

    history.test(START + timedelta(days=41), CURVE)  # 38 days since the last session: a retest first
    history.session(START + timedelta(days=41, hours=1))

    incremental = stored(history.program)
    assert (incremental["outcome_status"], incremental["dropout_week"], incremental["program_status"]) == (
        "in_progress",
        None,
        "active",
    )
    assert incremental == rebuilt(history.program, incremental["as_of"])
