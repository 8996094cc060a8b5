"""When a progress report for the referring physician falls due (DOMAIN.md "Outcomes"): a pure rule.

A report is due at every 10th completed session or 30 days after the last report, whichever comes
first (the cadence US Medicare asks of outpatient therapy progress reports), and at discharge.
Counted from the last signed report of the program (its sessions count at issue and its signing
time), or from the program's start when it has none: so 10 sessions *since* the last report, not
session numbers that are multiples of 10 (a report issued early, at day 30 and session 7, is next
due at session 17 or day 60).

Once the program has ended (completed or discharged), only the discharge report is due: one signed
at or after the end answers it, and nothing falls due after that. The 30 days are counted on the
clinic's wall clock, as every day-based interval is (DOMAIN.md "Scheduling"), and each threshold is
an instant: due from that moment on, not from the next midnight.

No ORM, no clock: the caller passes the program's figures and `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError
from apps.programs.schedule import add_local

EVERY_SESSIONS = 10
EVERY_DAYS = 30
SESSIONS, DAYS, DISCHARGE = "sessions", "days", "discharge"


@dataclass(frozen=True)
class ReportDue:
    due: bool
    reasons: tuple[str, ...]  # SESSIONS, DAYS and/or DISCHARGE: why it is due now (empty when not)
    sessions_due_at: int | None  # the completed-session count that makes it due (None once ended)
    date_due_at: datetime | None  # the instant 30 days on makes it due (None once ended)


def _optional_moment(value: object, name: str) -> datetime | None:
    return None if value is None else check.aware_datetime(value, name)


def _checked_history(
    started_at: object, completed_sessions: object, last_report_at: object, sessions_at_last_report: object
) -> tuple[datetime, int, datetime | None, int]:
    start = check.aware_datetime(started_at, "started_at")
    done = check.whole_number(completed_sessions, "completed_sessions", 0)
    last_at = _optional_moment(last_report_at, "last_report_at")
    at_last = check.whole_number(sessions_at_last_report, "sessions_at_last_report", 0, done)
    if last_at is None and at_last:
        raise RuleArgumentError(f"sessions_at_last_report must be 0 without a last report; got {at_last}.")
    if last_at is not None and last_at < start:
        raise RuleArgumentError(f"last_report_at must not be before started_at; got {last_at} < {start}.")
    return start, done, last_at, at_last


def report_due(
    *,
    started_at: datetime,
    completed_sessions: int,
    last_report_at: datetime | None,
    sessions_at_last_report: int,
    ended_at: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> ReportDue:
    """Whether the program's progress report is due at `now`, why, and when it next falls due.

    `ended_at` is when a completed or discharged program ended (None while it runs, and for a
    lapsed or held one, which still owes its physician the regular reports).
    """
    start, done, last_at, at_last = _checked_history(
        started_at, completed_sessions, last_report_at, sessions_at_last_report
    )
    ended, moment, zone = _optional_moment(ended_at, "ended_at"), check.aware_datetime(now, "now"), check.zone(tz)
    if ended is not None:
        if ended < start:
            raise RuleArgumentError(f"ended_at must not be before started_at; got {ended} < {start}.")
        owed = moment >= ended and (last_at is None or last_at < ended)
        return ReportDue(owed, (DISCHARGE,) if owed else (), None, None)
    sessions_due_at = at_last + EVERY_SESSIONS
    date_due_at = add_local(last_at or start, timedelta(days=EVERY_DAYS), zone)
    reasons = ((SESSIONS,) if done >= sessions_due_at else ()) + ((DAYS,) if moment >= date_due_at else ())
    return ReportDue(bool(reasons), reasons, sessions_due_at, date_due_at)
