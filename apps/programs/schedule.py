"""Scheduling rules, as pure functions over plain values: due times, attendance, return after a gap, reviews.

Datetimes must be timezone-aware, the caller passes `now`, and every datetime returned is in UTC.
Every function refuses an argument it cannot mean (a naive datetime, a zone given as its name, 2.5
sessions a week, a negative rest) with RuleArgumentError, a ValueError naming the argument.

Time arithmetic (DOMAIN.md "Scheduling"): day-based intervals are wall-clock arithmetic in the clinic's
zone, so a due time keeps its local hour across a DST change; the 48 h minimum rest is elapsed time.
A local time that does not exist (spring-forward gap) moves forward by the gap's length, and an
ambiguous one (fall-back) is its first occurrence: that is what `fold=0` means in PEP 495.

Rules and thresholds: DOMAIN.md "Scheduling" and research §9.5, §9.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError
from apps.clinics.localtime import localise
from apps.programs.progression import round_down_to_increment

MAX_REST_HOURS = 168  # a week: a rest longer than the longest cadence means a typing error
LARGEST_SPAN = timedelta(days=365 * 100)  # a schedule that runs a century is a wrong argument, not a plan


def _aware(moment: object, name: str) -> datetime:
    return check.aware_datetime(moment, name)


def _zone(tz: object) -> ZoneInfo:
    return check.zone(tz, "tz")


# Due times and attendance (§9.5)


def add_local(moment: datetime, interval: timedelta, tz: ZoneInfo) -> datetime:
    """`moment` + `interval` on the clinic's wall clock (a day-based interval keeps the local hour)."""
    moment, step, tz = _aware(moment, "moment"), check.instance(interval, "interval", timedelta), _zone(tz)
    try:
        return localise(moment.astimezone(tz).replace(tzinfo=None) + step, tz)
    except OverflowError:
        raise RuleArgumentError(f"moment + interval falls outside the years 1-9999 ({moment} + {step}).") from None


def earliest_next_session(last_completed_at: datetime, min_rest_hours: int = 48) -> datetime:
    """Elapsed time: 48 h of recovery are 48 real hours even across a DST change [S29]."""
    rest = timedelta(hours=check.whole_number(min_rest_hours, "min_rest_hours", 0, MAX_REST_HOURS))
    last = _aware(last_completed_at, "last_completed_at")
    try:
        return last.astimezone(UTC) + rest
    except OverflowError:
        raise RuleArgumentError(f"last_completed_at + the rest is past the year 9999 ({last}).") from None


def next_session_due(
    last_completed_at: datetime, sessions_per_week: int, tz: ZoneInfo, min_rest_hours: int = 48
) -> datetime:
    """last + 7 days / f on the local wall clock (f = 2 → 3 days 12 h), never before the earliest next session.

    The max only matters when a program's rest exceeds its cadence (f = 3 gives 56 h; rest set to 72 h).
    """
    _aware(last_completed_at, "last_completed_at")
    check.whole_number(sessions_per_week, "sessions_per_week", 1, 3)
    due = add_local(last_completed_at, timedelta(days=7) / sessions_per_week, tz)
    return max(due, earliest_next_session(last_completed_at, min_rest_hours))


ON_TRACK, OVERDUE, LAPSED, DETRAINED, NEW_EPISODE = "on_track", "overdue", "lapsed", "detrained", "new_episode"
ATTENDANCE_STATES = (ON_TRACK, OVERDUE, LAPSED, DETRAINED, NEW_EPISODE)  # in order of severity
# Each state holds FROM the last completed session + N days on the clinic's wall clock (DOMAIN.md
# "Scheduling"): last seen Thursday 10:00 → overdue from the next Thursday 10:00, and 1 s before it is not.
ATTENDANCE_THRESHOLDS = ((OVERDUE, 7), (LAPSED, 14), (DETRAINED, 28), (NEW_EPISODE, 84))


def attendance_thresholds(last_completed_at: datetime, tz: ZoneInfo) -> dict[str, datetime]:
    """The instant each attendance state begins, in order of severity (UTC)."""
    _aware(last_completed_at, "last_completed_at")
    return {state: add_local(last_completed_at, timedelta(days=days), tz) for state, days in ATTENDANCE_THRESHOLDS}


def attendance_state(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """From the last COMPLETED session: missed appointments do not lapse a patient by themselves."""
    _aware(now, "now")
    reached = [state for state, at in attendance_thresholds(last_completed_at, tz).items() if now >= at]
    return reached[-1] if reached else ON_TRACK


def whole_days_since(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Whole days elapsed on the clinic's wall clock (0 if `now` is earlier): 14 days and 2 hours is 14."""
    last, now, tz = _aware(last_completed_at, "last_completed_at"), _aware(now, "now"), _zone(tz)
    wall = now.astimezone(tz).replace(tzinfo=None) - last.astimezone(tz).replace(tzinfo=None)
    days = max(wall.days, 0)
    # A wall-clock difference can be off by one next to a DST gap or fold: settle it on the instants.
    while days and add_local(last, timedelta(days=days), tz) > now:
        days -= 1
    while add_local(last, timedelta(days=days + 1), tz) <= now:
        days += 1
    return days


RESUME, RESUME_REDUCED, RETEST = "resume", "resume_reduced", "retest"
RETURN_REDUCE_FACTOR = Decimal("0.90")
# Return after a gap (§9.7): up to and including N days since the last completed session.
GAP_BANDS = ((14, RESUME), (28, RESUME_REDUCED), (84, RETEST))


@dataclass(frozen=True)
class GapReturn:
    action: str  # resume | resume_reduced | retest | new_episode
    load: Decimal | None  # None: derive a new start load from a retest (or a new episode)
    days: int  # whole days since the last completed session, for the messages


def gap_action(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """≤ 14 days resume, ≤ 28 resume reduced, ≤ 84 retest, beyond a new episode; 14 days and 2 h is > 14."""
    _aware(now, "now")
    _aware(last_completed_at, "last_completed_at")
    bands = ((add_local(last_completed_at, timedelta(days=days), tz), action) for days, action in GAP_BANDS)
    return next((action for until, action in bands if now <= until), NEW_EPISODE)


def return_after_gap(
    last_load: object, last_completed_at: datetime, now: datetime, tz: ZoneInfo, increment: object
) -> GapReturn:
    """§9.7 on the same wall-clock instants as `attendance_state`.

    Loads come back as multiples of the increment (rounded down), like every proposal.
    """
    load = check.number(last_load, "last_load", 0)
    action, days = gap_action(last_completed_at, now, tz), whole_days_since(last_completed_at, now, tz)
    if action == RESUME:
        return GapReturn(RESUME, round_down_to_increment(load, increment), days)
    if action == RESUME_REDUCED:
        return GapReturn(action, round_down_to_increment(load * RETURN_REDUCE_FACTOR, increment), days)
    return GapReturn(action, None, days)


QUESTIONNAIRE_EVERY_DAYS = 14  # Vernon: baseline and every 2 weeks [S48]
PHYSICIAN_REVIEW_EVERY_DAYS = 28  # SpineZone: monthly physician visits [S40]
RETEST_AT_SESSION = 12
RETEST_AT_WEEK = 6


def planned_discharge_at(program_start: datetime, planned_weeks: int, tz: ZoneInfo) -> datetime:
    _aware(program_start, "program_start")
    return add_local(program_start, timedelta(weeks=check.whole_number(planned_weeks, "planned_weeks", 6, 12)), tz)


def _until(start: object, end: object, name: str) -> tuple[datetime, datetime]:
    """A start, and an end not before it nor a century after it (the loops below step between them)."""
    first, last = _aware(start, "program_start"), _aware(end, name)
    if not first <= last <= first + LARGEST_SPAN:
        raise RuleArgumentError(f"{name} must fall after program_start, within 100 years; got {last} for {first}.")
    return first, last


def _every(start: datetime, every_days: int, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    due, number = [], 1
    while (at := add_local(start, timedelta(days=every_days * number), tz)) < discharge_at:
        due.append(at)
        number += 1
    return due


def questionnaire_due_dates(program_start: datetime, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Baseline, every 14 local days before discharge, and discharge (planned or actual) [S48]."""
    start, discharge_at = _until(program_start, discharge_at, "discharge_at")
    start = start.astimezone(UTC)
    return [start, *_every(start, QUESTIONNAIRE_EVERY_DAYS, discharge_at, tz), discharge_at.astimezone(UTC)]


def physician_review_due_dates(program_start: datetime, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every 28 local days from the program start, and at discharge [S40]."""
    start, discharge_at = _until(program_start, discharge_at, "discharge_at")
    return [*_every(start, PHYSICIAN_REVIEW_EVERY_DAYS, discharge_at, tz), discharge_at.astimezone(UTC)]


def retest_due_at(program_start: datetime, tz: ZoneInfo) -> datetime:
    _aware(program_start, "program_start")
    return add_local(program_start, timedelta(weeks=RETEST_AT_WEEK), tz)


def retest_due(completed_sessions: int, program_start: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """The mid-program retest falls due at session 12 or week 6, whichever comes first."""
    sessions, now = check.whole_number(completed_sessions, "completed_sessions", 0), _aware(now, "now")
    due_at = retest_due_at(program_start, tz)
    return sessions >= RETEST_AT_SESSION or now >= due_at


def next_due(due_dates: Sequence[datetime], now: datetime) -> datetime | None:
    """The first due date not yet past; None once all are (every schedule ends at discharge)."""
    dates = check.sequence_of(due_dates, "due_dates", "timezone-aware datetimes", nonempty=True)
    dates, now = [_aware(at, "due_dates") for at in dates], _aware(now, "now")
    return next((at for at in sorted(dates) if at >= now), None)


# Maintenance (DOMAIN.md "Maintenance"): one session every 1-4 weeks keeps what 10-12 weeks built.

MAINTENANCE_WEEKS = (1, 4)
MAINTENANCE_DEFAULT_WEEKS = 2
MAINTENANCE_CHECKUP_WEEKS = 12  # retest (and questionnaires, physician review) every 12 weeks [Tucci 1992]


def maintenance_due(last_completed_at: datetime, interval_weeks: int, tz: ZoneInfo) -> datetime:
    """The next maintenance session: the last completed session + the interval, at the same local hour."""
    _aware(last_completed_at, "last_completed_at")
    check.whole_number(interval_weeks, "interval_weeks (the maintenance interval)", *MAINTENANCE_WEEKS)
    return add_local(last_completed_at, timedelta(weeks=interval_weeks), tz)


def attendance_anchor(last_completed_at: datetime, tz: ZoneInfo, maintenance_weeks: int | None = None) -> datetime:
    """The instant attendance counts from: the last completed session, or in maintenance its due time.

    In training a patient is overdue 7 days after the last session; in maintenance 7 days after the
    session fell due, lapsed 14 days after (DOMAIN.md: "lapsed from maintenance at due + 14 days"),
    detrained 28 days after. Return after a gap counts from the same instant.
    """
    last, tz = _aware(last_completed_at, "last_completed_at"), _zone(tz)
    if maintenance_weeks is None:
        return last.astimezone(UTC)
    return maintenance_due(last_completed_at, maintenance_weeks, tz)


def maintenance_checkups(maintenance_start: datetime, until: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every 12 weeks from the start of maintenance, up to and including the first one after `until`."""
    start, until = _aware(maintenance_start, "maintenance_start"), _aware(until, "until")
    if until > start + LARGEST_SPAN:
        raise RuleArgumentError(f"until must fall within 100 years of maintenance_start; got {until} for {start}.")
    due, number = [], 1
    while not due or due[-1] <= until:
        due.append(add_local(maintenance_start, timedelta(weeks=MAINTENANCE_CHECKUP_WEEKS * number), tz))
        number += 1
    return due
