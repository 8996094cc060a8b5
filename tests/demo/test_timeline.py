"""The demo patients' visit plans, for any moment of seeding: pure dates and times, no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apps.demo.seeding import CLINICS, PATIENTS_PER_CLINIC
from apps.demo.timeline import CLINIC_SCENARIOS, SCENARIOS, SETTLED, Plan, make_plan
from apps.programs import schedule

ZONES = {clinic.code: ZoneInfo(clinic.timezone) for clinic in CLINICS}
INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))
# The attendance each scenario must show at the moment of seeding (DOMAIN.md "Scheduling").
EXPECTED_ATTENDANCE = {
    "overdue": schedule.OVERDUE,
    "lapsed": schedule.LAPSED,
    "detrained": schedule.DETRAINED,
}


def plans(now: datetime) -> list[tuple[str, ZoneInfo, Plan]]:
    found = []
    for code, names in CLINIC_SCENARIOS.items():
        for number, name in enumerate(names, start=1):
            rng = random.Random(f"test:{code}:{number}")
            found.append((name, ZONES[code], make_plan(rng, SCENARIOS[name], ZONES[code], now)))
    return found


def test_every_clinic_patient_has_a_known_scenario():
    for names in CLINIC_SCENARIOS.values():
        assert len(names) == PATIENTS_PER_CLINIC
        assert set(names) <= set(SCENARIOS)
    assert {name for names in CLINIC_SCENARIOS.values() for name in names} == set(SCENARIOS)


def test_a_plan_depends_on_its_seed_and_the_moment_only():
    now = datetime(2026, 5, 14, 17, 0, tzinfo=UTC)

    assert plans(now) == plans(now)


@settings(max_examples=40, deadline=None)
@given(now=INSTANTS)
@example(now=datetime(2026, 3, 9, 15, 0, tzinfo=UTC))  # the Monday after spring-forward
@example(now=datetime(2026, 11, 2, 8, 30, tzinfo=UTC))  # the Monday after fall-back, before opening
@example(now=datetime(2026, 1, 5, 6, 59, tzinfo=UTC))  # Sunday night in La Jolla
@example(now=datetime(2024, 12, 6, 19, 15, tzinfo=UTC))  # Friday's session drifted 40 min by 48 h 5 min pushes
def test_sessions_fall_on_weekdays_in_opening_hours_48_h_apart_and_in_the_past(now):
    for _, tz, plan in plans(now):
        local = [moment.astimezone(tz) for moment in plan.sessions]
        assert all(moment.weekday() < 5 and time(8) <= moment.time() <= time(18) for moment in local)
        assert all(later - earlier >= timedelta(hours=48) for earlier, later in pairwise(local))
        assert plan.familiarisation_at < plan.baseline_at < plan.sessions[0]
        assert plan.sessions[-1] <= now - SETTLED
        assert plan.discharge_at is None or plan.sessions[-1] < plan.discharge_at <= now - SETTLED


@settings(max_examples=40, deadline=None)
@given(now=INSTANTS)
@example(now=datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
@example(now=datetime(2026, 11, 2, 8, 30, tzinfo=UTC))
def test_each_scenario_shows_its_attendance_at_the_moment_of_seeding(now):
    for name, tz, plan in plans(now):
        if SCENARIOS[name].ending:
            continue  # an ended program has no attendance
        # A red flag stops the last session early: attendance counts from the completed one before it.
        last = plan.sessions[-2] if plan.red_flag_at is not None else plan.sessions[-1]
        # In maintenance attendance counts from when the next session falls due (DOMAIN.md "Maintenance").
        weeks = 2 if plan.maintenance_from is not None else None
        since = schedule.attendance_anchor(last, tz, weeks)
        assert schedule.attendance_state(since, now, tz) == EXPECTED_ATTENDANCE.get(name, schedule.ON_TRACK), name


@settings(max_examples=40, deadline=None)
@given(now=INSTANTS)
def test_a_maintenance_plan_trains_then_keeps_one_session_every_two_weeks_due_this_week(now):
    for name, tz, plan in plans(now):
        if name != "maintenance":
            continue
        training, kept = plan.sessions[: plan.maintenance_from], plan.sessions[plan.maintenance_from :]
        assert 1 <= len(kept) <= 4
        assert training[-1] < plan.maintained_at < kept[0]
        local_days = [moment.astimezone(tz).date() for moment in (training[-1], *kept)]
        assert all((later - earlier).days == 14 for earlier, later in pairwise(local_days))
        due = schedule.maintenance_due(kept[-1], 2, tz)
        assert 0 <= (now.astimezone(tz).date() - due.astimezone(tz).date()).days <= 2  # due today, or this week


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_scenario_has_the_weeks_it_says_and_its_flare_or_red_flag_where_it_says(name):
    scenario = SCENARIOS[name]
    now = datetime(2026, 6, 18, 21, 0, tzinfo=UTC)

    for number in range(20):
        plan = make_plan(random.Random(number), scenario, ZONES["lj"], now)
        last = len(plan.sessions) - 1
        assert scenario.weeks[0] <= plan.weeks <= scenario.weeks[1]
        assert plan.weeks * plan.frequency - len(plan.sessions) <= plan.weeks  # a few missed visits at most
        assert (plan.flare_at == last) == (scenario.last_session == "flare")
        assert (plan.red_flag_at == last) == (scenario.last_session == "red_flag")
        if plan.flare_at is not None and scenario.last_session != "flare":
            assert plan.flare_at <= last - 2  # two clean sessions after it resolve the flag
