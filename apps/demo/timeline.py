"""When each demo patient's visits fall: back from the day of seeding, in the clinic's local time.

Pure dates and times (no ORM): a scenario says how long ago the last session was and how many weeks
of training came before it; the plan puts sessions on fixed weekdays (Mon/Thu, Tue/Fri, Mon/Wed/Fri)
at the patient's usual hour (09:00-17:00, give or take half an hour), with the 48 h minimum rest between
them. Tests and questionnaires come shortly before a session, so nothing falls outside 08:00-18:00.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from apps.clinics.localtime import localise
from apps.programs.models import ProgramStatus

MIN_REST = timedelta(hours=48, minutes=5)  # the program default (48 h), with a little margin
# How far before `now` the latest visit must lie: the recording of it is in the past too.
SETTLED = timedelta(hours=2)
TRAINING_WEEKDAYS = {1: frozenset(range(5)), 2: frozenset({0, 1, 3, 4}), 3: frozenset({0, 2, 4})}
FIRST_SLOT, LAST_SLOT = 9 * 60, 17 * 60  # minutes after local midnight
JITTER_MINUTES = (-15, 0, 0, 0, 15, 30)
RETEST_AFTER = timedelta(weeks=6)
MAINTENANCE_EVERY = timedelta(weeks=2)  # the default maintenance interval
MAINTAIN_AFTER_DAYS = (1, 3)  # the training phase is completed into maintenance a few days after its last session
QUESTIONNAIRE_EVERY = timedelta(days=14)


@dataclass(frozen=True)
class Scenario:
    gap_days: tuple[int, int]  # from the last session to the day of seeding, inclusive
    weeks: tuple[int, int]  # of training, inclusive
    frequencies: tuple[int, ...] = (2,)  # sessions a week, one drawn at random
    ending: str = ""  # the program is completed or discharged a few days after the last session
    last_session: str = ""  # "flare" (pain rose during it) or "red_flag" (reported during it)
    # Maintenance sessions after the training weeks, one every MAINTENANCE_EVERY (inclusive range);
    # `gap_days` then counts from the last maintenance session.
    maintenance_sessions: tuple[int, int] = (0, 0)


WEEKLY_MIX = (2, 2, 2, 2, 2, 2, 2, 2, 1, 3)
SCENARIOS = {
    "on_track": Scenario((0, 3), (2, 10), WEEKLY_MIX),
    "new": Scenario((0, 2), (1, 1)),
    "due": Scenario((4, 6), (3, 9)),
    "overdue": Scenario((8, 13), (2, 8), WEEKLY_MIX),
    "lapsed": Scenario((15, 27), (2, 7), WEEKLY_MIX),
    "detrained": Scenario((29, 40), (3, 6)),
    "completed": Scenario((8, 20), (10, 12), ending=ProgramStatus.COMPLETED),
    "discharged": Scenario((8, 20), (10, 12), ending=ProgramStatus.DISCHARGED),
    "flare": Scenario((0, 3), (3, 8), last_session="flare"),
    # The stopped session's day, 1-2 days ago; the completed one before it (which attendance counts
    # from) is at most 4 days earlier, so the patient stays under the 7 days that make them overdue.
    "red_flag": Scenario((1, 2), (4, 6), last_session="red_flag"),
    # The last maintenance session 14-16 days ago: its next one falls due today or fell due this week.
    "maintenance": Scenario((14, 16), (10, 12), maintenance_sessions=(1, 4)),
}
# By patient number within the clinic (MRN LJ-000001 is the first). LJ-000005's `refer` screen
# blocks testing, so whatever it says here, that patient keeps the screen only.
CLINIC_SCENARIOS = {
    "lj": (
        *("completed", "on_track", "on_track", "overdue", "on_track", "due", "on_track", "lapsed"),
        *("on_track", "new", "maintenance", "due", "flare", "overdue", "on_track", "detrained"),
        *("on_track", "due", "on_track", "lapsed", "on_track", "discharged", "due", "on_track"),
    ),
    "chi": (
        *("on_track", "completed", "due", "on_track", "overdue", "on_track", "red_flag", "on_track"),
        *("lapsed", "on_track", "due", "new", "maintenance", "overdue", "flare", "on_track"),
        *("lapsed", "on_track", "due", "on_track", "overdue", "on_track", "on_track", "detrained"),
    ),
}


def scenario_name(clinic_code: str, mrn: str) -> str:
    return CLINIC_SCENARIOS[clinic_code][int(mrn.rsplit("-", 1)[1]) - 1]


@dataclass(frozen=True)
class Plan:
    frequency: int
    weeks: int
    familiarisation_at: datetime
    baseline_at: datetime  # questionnaires, baseline test, program created and started
    sessions: tuple[datetime, ...]
    discharge_at: datetime | None
    flare_at: int | None  # index of the session in which pain rose by 2 or more
    red_flag_at: int | None  # index of the session in which a red flag was reported
    maintained_at: datetime | None = None  # when the training phase was completed into maintenance
    maintenance_from: int | None = None  # index of the first maintenance session

    def training_sessions(self) -> tuple[datetime, ...]:
        return self.sessions if self.maintenance_from is None else self.sessions[: self.maintenance_from]

    def week_of(self, moment: datetime) -> float:
        """Weeks of training: in maintenance strength, pain and disability hold where training left them."""
        if self.maintained_at is not None:
            moment = min(moment, self.maintained_at)
        return (moment - self.baseline_at) / timedelta(weeks=1)

    def retest_index(self) -> int | None:
        """The first session from week 6 on (the mid-program retest is done before it)."""
        due = self.baseline_at + RETEST_AFTER
        return next((index for index, at in enumerate(self.training_sessions()) if at >= due), None)

    def questionnaire_indexes(self) -> set[int]:
        """The first session on or after each 14-day mark from baseline (a day early counts)."""
        indexes, mark = set(), self.baseline_at + QUESTIONNAIRE_EVERY - timedelta(days=1)
        for index, at in enumerate(self.training_sessions()):
            if at >= mark:
                indexes.add(index)
                while mark <= at:
                    mark += QUESTIONNAIRE_EVERY
        return indexes


def make_plan(rng: random.Random, scenario: Scenario, tz: ZoneInfo, now: datetime) -> Plan:
    frequency = rng.choice(scenario.frequencies)
    weeks = rng.randint(*scenario.weeks)
    slot = rng.randrange(FIRST_SLOT, LAST_SLOT + 1, 15)

    def at(day: date, minutes: int = 0) -> datetime:
        return localise(datetime.combine(day, time(0)) + timedelta(minutes=slot + minutes), tz)

    today = now.astimezone(tz).date()
    last = _last_day(rng, scenario, frequency, today, today_open=at(today) + SETTLED <= now)
    maintenance_days = _maintenance_days(rng, scenario, last)
    if maintenance_days:  # the training weeks end one interval before the first maintenance session
        last = maintenance_days[0] - MAINTENANCE_EVERY
    days = _session_days(rng, last, weeks * frequency, frequency)
    sessions = _session_times(rng, days, at)
    if sessions[-1] > now - SETTLED:
        # Sessions pushed to 48 h 5 min apart drift later day after day: today's is not settled yet.
        last = _last_day(rng, scenario, frequency, today, today_open=False)
        days = _session_days(rng, last, weeks * frequency, frequency)
        sessions = _session_times(rng, days, at)
    baseline_day = _weekday_on_or_before(days[0] - timedelta(days=rng.randint(2, 4)))
    familiarisation_day = _weekday_on_or_before(baseline_day - timedelta(days=rng.randint(3, 7)))
    discharge = at(_weekday_on_or_after(last + timedelta(days=rng.randint(2, 4)))) if scenario.ending else None
    count = len(sessions)
    maintained_at = None
    if maintenance_days:
        maintained_at = at(_weekday_on_or_after(last + timedelta(days=rng.randint(*MAINTAIN_AFTER_DAYS))))
        sessions += [at(day, rng.choice(JITTER_MINUTES)) for day in maintenance_days]
    return Plan(
        frequency=frequency,
        weeks=weeks,
        familiarisation_at=at(familiarisation_day),
        baseline_at=at(baseline_day),
        sessions=tuple(sessions),
        discharge_at=discharge,
        flare_at=_flare_at(rng, scenario, count),
        red_flag_at=count - 1 if scenario.last_session == "red_flag" else None,
        maintained_at=maintained_at,
        maintenance_from=count if maintenance_days else None,
    )


def _maintenance_days(rng: random.Random, scenario: Scenario, last: date) -> list[date]:
    """The maintenance sessions' days, oldest first, the last one on `last` (none outside maintenance)."""
    if not scenario.maintenance_sessions[1]:
        return []
    count = rng.randint(*scenario.maintenance_sessions)
    return [last - MAINTENANCE_EVERY * number for number in reversed(range(count))]


def _last_day(rng: random.Random, scenario: Scenario, frequency: int, today: date, today_open: bool) -> date:
    low, high = scenario.gap_days
    gaps = range(low if today_open else max(low, 1), high + 1)
    days = [today - timedelta(days=gap) for gap in gaps]
    fitting = [day for day in days if day.weekday() in TRAINING_WEEKDAYS[frequency]]
    if fitting:
        return rng.choice(fitting)
    day = days[-1]
    while day.weekday() not in TRAINING_WEEKDAYS[frequency]:
        day -= timedelta(days=1)
    return day


def _weekdays(last: date, frequency: int) -> frozenset[int]:
    if frequency == 1:
        return frozenset({last.weekday()})
    if frequency == 3:
        return TRAINING_WEEKDAYS[3]
    return frozenset({0, 3}) if last.weekday() in (0, 3) else frozenset({1, 4})


def _session_days(rng: random.Random, last: date, slots: int, frequency: int) -> list[date]:
    """`slots` training days ending on `last`, less a missed visit now and then.

    Never two running, and never one of the last two: the scenario's last completed session stays
    where it says (a red flag stops a session early, so the one before it counts for attendance).
    """
    weekdays, days, day = _weekdays(last, frequency), [last], last
    while len(days) < slots:
        day -= timedelta(days=1)
        if day.weekday() in weekdays:
            days.append(day)
    days.reverse()
    if frequency == 1 or len(days) < 5:  # a weekly patient who misses one is overdue: keep them all
        return days
    kept = [days[0]]
    for previous, day in pairwise(days[:-2]):
        if kept[-1] == previous and rng.random() < 0.06:
            continue
        kept.append(day)
    return [*kept, *days[-2:]]


def _session_times(rng: random.Random, days: list[date], at: Callable[[date, int], datetime]) -> list[datetime]:
    times: list[datetime] = []
    for day in days:
        moment = at(day, rng.choice(JITTER_MINUTES))
        # Mon 10:30 to Wed 10:15 is 47 h 45 min: later that day instead (never across a weekend's DST change).
        if times and moment < times[-1] + MIN_REST:
            moment = times[-1] + MIN_REST
        times.append(moment)
    return times


def _flare_at(rng: random.Random, scenario: Scenario, count: int) -> int | None:
    if scenario.last_session == "flare":
        return count - 1
    # With two clean sessions after it to resolve the flag (a red flag ends the last one: not clean).
    if count >= 6 and scenario.last_session != "red_flag" and rng.random() < 0.35:
        return rng.randint(2, count - 3)
    return None


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
