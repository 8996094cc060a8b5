"""What a patient's record can hold in time, as pure functions: nothing before the birth, nothing ahead.

Partners' EHRs, the front desk and the clinicians at the machine all type dates and times, and some
cannot be true: a birth date in 2099 or in 1800 (a slipped century), a death before the birth or in
the future, a test or a questionnaire "done" before the patient was born or next week (issue 18).
Every write refuses them with the same rule and the same message, whether it comes through the API,
a staff form or the admin. The rules live here, in `patients`, the lowest app that knows a patient
and so the lowest that assessments, programs and scheduling can all import.

Each `*_problem` answers a sentence for a record that cannot be true, or None; an argument no record
could mean (a naive datetime, a datetime where a date is meant, a zone given by name) raises
RuleArgumentError (apps.clinics.arguments). Callers give `today` and `now`: no clock is read here.

**Whole seconds.** A partner sends times to the second (`10:00:00Z`), while the server's clock has
microseconds. So an instant the server stamps and later compares with a partner's time (a program's
start, against its first session) is stored at whole seconds (`whole_seconds`): a session at 10:00:00
right after a start stamped 10:00:00.412 is not before the start.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
# A tablet's or a partner's clock running a little ahead of the server's does not make a time "in the future".
FUTURE_SKEW = timedelta(minutes=5)
# The zone furthest ahead of UTC (the Line Islands, UTC+14): no calendar date has begun anywhere before it.
FURTHEST_AHEAD = timedelta(hours=14)

BIRTH_DATE_OUT_OF_RANGE = "Give a birth date between 1900 and today."
DEATH_BEFORE_BIRTH = "The date of death cannot be before the birth date."
DEATH_IN_FUTURE = "The date of death cannot be in the future."
IN_THE_FUTURE = "This is in the future."
BEFORE_BIRTH = "This is before the patient was born."


def _day(value: object, name: str) -> date:
    # A datetime is a date to Python; here it would be an instant passed where a calendar day is meant.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RuleArgumentError(f"{name} must be a date (not a datetime); got {check.shown(value)}.")
    return value


def latest_date(now: datetime) -> date:
    """The latest calendar date anywhere on Earth at `now`: the "today" a date of birth or death is held to.

    A date carries no zone. A partner's EHR may write today's date in its own zone or in UTC, up to a day
    ahead of the clinic's calendar, and that date is true; a date after today everywhere cannot be.
    """
    return (check.aware_datetime(now, "now").astimezone(UTC) + FURTHEST_AHEAD).date()


def birth_date_problem(born: date, *, today: date) -> str | None:
    """Why a birth date cannot be true (after `today`, or before 1900-01-01), or None."""
    born, today = _day(born, "born"), _day(today, "today")
    if born > today or born < EARLIEST_BIRTH_DATE:
        return BIRTH_DATE_OUT_OF_RANGE
    return None


def death_date_problem(died: date, *, born: date, today: date) -> str | None:
    """Why a date of death cannot be true (before the birth date, or after `today`), or None."""
    died, born, today = _day(died, "died"), _day(born, "born"), _day(today, "today")
    if died < born:
        return DEATH_BEFORE_BIRTH
    if died > today:
        return DEATH_IN_FUTURE
    return None


def clinical_time_problem(moment: datetime, *, born: date, now: datetime, tz: tzinfo) -> str | None:
    """Why a test, questionnaire, screen, session or start at `moment` cannot be true, or None.

    More than FUTURE_SKEW after `now` is in the future. Before the birth is judged on the calendar day of
    `moment` in the clinic's zone `tz` (a birth date has no time): 23:30 in Los Angeles on the eve of the
    birth date is before it, though it is already the birth date in UTC.
    """
    moment, now = check.aware_datetime(moment, "moment"), check.aware_datetime(now, "now")
    born, tz = _day(born, "born"), check.zone(tz)
    if moment > now + FUTURE_SKEW:
        return IN_THE_FUTURE
    # Compared as instants: a partner's 0001-01-01T00:00Z converted to the clinic's zone would overflow.
    if moment < datetime.combine(born, time(), tzinfo=tz):
        return BEFORE_BIRTH
    return None


def whole_seconds(moment: datetime) -> datetime:
    """`moment` without its fraction of a second: the precision a partner sends (see the module's docstring)."""
    return check.aware_datetime(moment, "moment").replace(microsecond=0)
