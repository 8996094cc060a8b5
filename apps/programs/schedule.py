"""Scheduling rules, as pure functions over plain values: due times, attendance, return after a gap, reviews.

Datetimes must be timezone-aware, the caller passes `now`, and every datetime returned is in UTC.

Time arithmetic (DOMAIN.md "Scheduling"): day-based intervals are wall-clock arithmetic in the clinic's
zone, so a due time keeps its local hour across a DST change; the 48 h minimum rest is elapsed time.
A local time that does not exist (spring-forward gap) moves forward by the gap's length, and an
ambiguous one (fall-back) is its first occurrence: that is what `fold=0` means in PEP 495.

Rules and thresholds: DOMAIN.md "Scheduling" and research §9.5, §9.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.assessments.scoring import as_decimal
from apps.clinics.localtime import localise
from apps.programs.progression import require_aware, round_down_to_increment

# Due times and attendance (§9.5)


def add_local(moment: datetime, interval: timedelta, tz: ZoneInfo) -> datetime:
    """`moment` + `interval` on the clinic's wall clock (a day-based interval keeps the local hour)."""
    wall = require_aware(moment, "moment").astimezone(tz).replace(tzinfo=None)
    return localise(wall + interval, tz)


def earliest_next_session(last_completed_at: datetime, min_rest_hours: int = 48) -> datetime:
    """Elapsed time: 48 h of recovery are 48 real hours even across a DST change [S29]."""
    if min_rest_hours < 0:
        raise ValueError("The minimum rest cannot be negative.")
    return require_aware(last_completed_at, "last_completed_at").astimezone(UTC) + timedelta(hours=min_rest_hours)


def next_session_due(
    last_completed_at: datetime, sessions_per_week: int, tz: ZoneInfo, min_rest_hours: int = 48
) -> datetime:
    """last + 7 days / f on the local wall clock (f = 2 → 3 days 12 h), never before the earliest next session.

    The max only matters when a program's rest exceeds its cadence (f = 3 gives 56 h; rest set to 72 h).
    """
    if not 1 <= sessions_per_week <= 3:
        raise ValueError(f"Sessions per week must be 1-3; got {sessions_per_week}.")
    due = add_local(last_completed_at, timedelta(days=7) / sessions_per_week, tz)
    return max(due, earliest_next_session(last_completed_at, min_rest_hours))


ON_TRACK, OVERDUE, LAPSED, DETRAINED, NEW_EPISODE = "on_track", "overdue", "lapsed", "detrained", "new_episode"
ATTENDANCE_STATES = (ON_TRACK, OVERDUE, LAPSED, DETRAINED, NEW_EPISODE)  # in order of severity
ATTENDANCE_LIMITS = ((84, NEW_EPISODE), (28, DETRAINED), (14, LAPSED), (7, OVERDUE))  # more than N days


def _day_starts(day: date, tz: ZoneInfo) -> datetime:
    return localise(datetime.combine(day, time(0)), tz)


def local_days_since(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Local calendar days from the date of `last` to the date of `now` (0 if `now` is earlier).

    A date counts from its first instant, so the count never goes back when a fall-back crosses midnight.
    """
    first = require_aware(last_completed_at, "last_completed_at").astimezone(tz).date()
    days = (require_aware(now, "now").astimezone(tz).date() - first).days
    while _day_starts(first + timedelta(days=days + 1), tz) <= now:
        days += 1
    return max(days, 0)


def attendance_state(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """From the last COMPLETED session: missed appointments do not lapse a patient by themselves."""
    days = local_days_since(last_completed_at, now, tz)
    return next((state for limit, state in ATTENDANCE_LIMITS if days > limit), ON_TRACK)


RESUME, RESUME_REDUCED, RETEST = "resume", "resume_reduced", "retest"
RETURN_REDUCE_FACTOR = Decimal("0.90")


@dataclass(frozen=True)
class GapReturn:
    action: str  # resume | resume_reduced | retest | new_episode
    load: Decimal | None  # None: derive a new start load from a retest (or a new episode)
    days: int


def return_after_gap(
    last_load: object, last_completed_at: datetime, now: datetime, tz: ZoneInfo, increment: object
) -> GapReturn:
    """§9.7, on the same local-day count as `attendance_state` so the two never disagree.

    Loads come back as multiples of the increment (rounded down), like every proposal.
    """
    days = local_days_since(last_completed_at, now, tz)
    load = as_decimal(last_load, "last load")
    if days <= 14:
        return GapReturn(RESUME, round_down_to_increment(load, increment), days)
    if days <= 28:
        return GapReturn(RESUME_REDUCED, round_down_to_increment(load * RETURN_REDUCE_FACTOR, increment), days)
    return GapReturn(RETEST if days <= 84 else NEW_EPISODE, None, days)


QUESTIONNAIRE_EVERY_DAYS = 14  # Vernon: baseline and every 2 weeks [S48]
PHYSICIAN_REVIEW_EVERY_DAYS = 28  # SpineZone: monthly physician visits [S40]
RETEST_AT_SESSION = 12
RETEST_AT_WEEK = 6


def planned_discharge_at(program_start: datetime, planned_weeks: int, tz: ZoneInfo) -> datetime:
    return add_local(program_start, timedelta(weeks=planned_weeks), tz)


def _every(start: datetime, every_days: int, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    due, number = [], 1
    while (at := add_local(start, timedelta(days=every_days * number), tz)) < discharge_at:
        due.append(at)
        number += 1
    return due


def questionnaire_due_dates(program_start: datetime, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Baseline, every 14 local days before discharge, and discharge (planned or actual) [S48]."""
    start = require_aware(program_start, "program_start").astimezone(UTC)
    return [start, *_every(start, QUESTIONNAIRE_EVERY_DAYS, discharge_at, tz), discharge_at.astimezone(UTC)]


def physician_review_due_dates(program_start: datetime, discharge_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every 28 local days from the program start, and at discharge [S40]."""
    start = require_aware(program_start, "program_start")
    return [*_every(start, PHYSICIAN_REVIEW_EVERY_DAYS, discharge_at, tz), discharge_at.astimezone(UTC)]


def retest_due_at(program_start: datetime, tz: ZoneInfo) -> datetime:
    return add_local(program_start, timedelta(weeks=RETEST_AT_WEEK), tz)


def retest_due(completed_sessions: int, program_start: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """The mid-program retest falls due at session 12 or week 6, whichever comes first."""
    return completed_sessions >= RETEST_AT_SESSION or now >= retest_due_at(program_start, tz)


def next_due(due_dates: Sequence[datetime], now: datetime) -> datetime | None:
    return next((at for at in sorted(due_dates) if at >= now), None)
