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
from datetime import UTC, datetime, timedelta
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
# Each state holds FROM the last completed session + N days on the clinic's wall clock (DOMAIN.md
# "Scheduling"): last seen Thursday 10:00 → overdue from the next Thursday 10:00, and 1 s before it is not.
ATTENDANCE_THRESHOLDS = ((OVERDUE, 7), (LAPSED, 14), (DETRAINED, 28), (NEW_EPISODE, 84))


def attendance_thresholds(last_completed_at: datetime, tz: ZoneInfo) -> dict[str, datetime]:
    """The instant each attendance state begins, in order of severity (UTC)."""
    return {state: add_local(last_completed_at, timedelta(days=days), tz) for state, days in ATTENDANCE_THRESHOLDS}


def attendance_state(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """From the last COMPLETED session: missed appointments do not lapse a patient by themselves."""
    require_aware(now, "now")
    reached = [state for state, at in attendance_thresholds(last_completed_at, tz).items() if now >= at]
    return reached[-1] if reached else ON_TRACK


def whole_days_since(last_completed_at: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Whole days elapsed on the clinic's wall clock (0 if `now` is earlier): 14 days and 2 hours is 14."""
    last = require_aware(last_completed_at, "last_completed_at")
    wall = require_aware(now, "now").astimezone(tz).replace(tzinfo=None) - last.astimezone(tz).replace(tzinfo=None)
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
    require_aware(now, "now")
    bands = ((add_local(last_completed_at, timedelta(days=days), tz), action) for days, action in GAP_BANDS)
    return next((action for until, action in bands if now <= until), NEW_EPISODE)


def return_after_gap(
    last_load: object, last_completed_at: datetime, now: datetime, tz: ZoneInfo, increment: object
) -> GapReturn:
    """§9.7 on the same wall-clock instants as `attendance_state`.

    Loads come back as multiples of the increment (rounded down), like every proposal.
    """
    load = as_decimal(last_load, "last load")
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


# Maintenance (DOMAIN.md "Maintenance"): one session every 1-4 weeks keeps what 10-12 weeks built.

MAINTENANCE_WEEKS = (1, 4)
MAINTENANCE_DEFAULT_WEEKS = 2
MAINTENANCE_CHECKUP_WEEKS = 12  # retest (and questionnaires, physician review) every 12 weeks [Tucci 1992]


def maintenance_due(last_completed_at: datetime, interval_weeks: int, tz: ZoneInfo) -> datetime:
    """The next maintenance session: the last completed session + the interval, at the same local hour."""
    low, high = MAINTENANCE_WEEKS
    if isinstance(interval_weeks, bool) or not isinstance(interval_weeks, int) or not low <= interval_weeks <= high:
        raise ValueError(
            f"The maintenance interval must be a whole number of weeks {low}-{high}; got {interval_weeks!r}."
        )
    return add_local(last_completed_at, timedelta(weeks=interval_weeks), tz)


def attendance_anchor(last_completed_at: datetime, tz: ZoneInfo, maintenance_weeks: int | None = None) -> datetime:
    """The instant attendance counts from: the last completed session, or in maintenance its due time.

    In training a patient is overdue 7 days after the last session; in maintenance 7 days after the
    session fell due, lapsed 14 days after (DOMAIN.md: "lapsed from maintenance at due + 14 days"),
    detrained 28 days after. Return after a gap counts from the same instant.
    """
    if maintenance_weeks is None:
        return require_aware(last_completed_at, "last_completed_at").astimezone(UTC)
    return maintenance_due(last_completed_at, maintenance_weeks, tz)


def maintenance_checkups(maintenance_start: datetime, until: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every 12 weeks from the start of maintenance, up to and including the first one after `until`."""
    require_aware(until, "until")
    due, number = [], 1
    while not due or due[-1] <= until:
        due.append(add_local(maintenance_start, timedelta(weeks=MAINTENANCE_CHECKUP_WEEKS * number), tz))
        number += 1
    return due
