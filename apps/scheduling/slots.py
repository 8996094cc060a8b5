"""The slot finder, as pure functions over plain values: which machine times a program may be booked into.

No ORM and no clock reads (DESIGN.md "Appointments"): the caller passes the clinic's calendar, its
machines and live bookings, the program's earliest next session and due time, and `now`. Every
datetime returned is in UTC.

A slot is offered only if it starts at or after the earliest next session (the 48 h rest, elapsed;
sooner only with `allow_before_earliest`, which needs a recorded clinician override), lies inside
opening hours on a day that is not closed, on a machine of the program's kind that no live booking
holds, with the supervising clinician under their capacity, and within the booking horizon. The best
slots are those closest to the due time (DOMAIN.md "Appointments").

Slots are laid on the clinic's wall clock from the start of each opening range. A wall time in a
spring-forward gap does not exist and is not offered; one in a fall-back fold is offered once, at its
first occurrence (fold=0). A slot lasts its length in elapsed time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError

WEEKDAYS = range(7)  # Monday is 0, as in `date.weekday()`
SLOT_MINUTES = (5, 240)
HORIZON_DAYS = (1, 366)
MAX_OFFERED = 100


@dataclass(frozen=True)
class OpeningRange:
    """Open from `opens` to `closes` (local wall times, same day) on `weekday`."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    opening: tuple[OpeningRange, ...]
    closures: frozenset[date] = frozenset()
    slot_minutes: int = 30
    horizon_days: int = 28
    supervisor_capacity: int = 2


@dataclass(frozen=True)
class Booking:
    """A live (booked or checked-in) appointment: it holds its machine and its supervisor's attention."""

    machine: Hashable
    start: datetime
    end: datetime
    supervisor: Hashable | None = None


@dataclass(frozen=True)
class Slot:
    machine: Hashable
    start: datetime
    end: datetime


# --- Checks ---------------------------------------------------------------------------------------


def check_calendar(calendar: object) -> Calendar:
    calendar = check.instance(calendar, "calendar", Calendar)
    check.zone(calendar.tz, "calendar.tz")
    for opening in check.sequence_of(calendar.opening, "calendar.opening", "OpeningRange"):
        check.instance(opening, "calendar.opening", OpeningRange)
        check.whole_number(opening.weekday, "calendar.opening weekday", 0, 6)
        opens, closes = check.wall_time(opening.opens, "opens"), check.wall_time(opening.closes, "closes")
        if not opens < closes:
            raise RuleArgumentError(f"calendar.opening: a range must close after it opens; got {opens}-{closes}.")
    if not isinstance(calendar.closures, frozenset | set) or not all(
        isinstance(day, date) and not isinstance(day, datetime) for day in calendar.closures
    ):
        raise RuleArgumentError(f"calendar.closures must be a set of dates; got {check.shown(calendar.closures)}.")
    check.whole_number(calendar.slot_minutes, "calendar.slot_minutes", *SLOT_MINUTES)
    check.whole_number(calendar.horizon_days, "calendar.horizon_days", *HORIZON_DAYS)
    check.whole_number(calendar.supervisor_capacity, "calendar.supervisor_capacity", 1, 50)
    return calendar


def _check_bookings(bookings: object) -> Sequence[Booking]:
    # Thousands of bookings come with every call: a cheap test of each, and the full checks (which
    # name what is wrong) only for one that fails it.
    for booking in check.sequence_of(bookings, "bookings", "Booking"):
        if not (
            type(booking) is Booking
            and type(booking.start) is datetime
            and type(booking.end) is datetime
            and booking.start.tzinfo is UTC
            and booking.end.tzinfo is UTC
            and booking.start < booking.end
            and booking.machine is not None
            and type(booking.machine) in (int, str, UUID)
        ):
            _check_booking(booking)
    return bookings


def _check_booking(booking: object) -> None:
    check.instance(booking, "bookings", Booking)
    _key(booking.machine, "booking.machine")
    start = check.aware_datetime(booking.start, "booking.start")
    if not start < check.aware_datetime(booking.end, "booking.end"):
        raise RuleArgumentError(f"A booking must end after it starts; got {booking.start}-{booking.end}.")


# --- Candidate times ------------------------------------------------------------------------------


def _exists(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The first instant of a wall time, or None when the wall time falls in a DST gap."""
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return instant if instant.astimezone(tz).replace(tzinfo=None) == wall else None


def _day(value: object, name: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RuleArgumentError(f"{name} must be a date; got {check.shown(value)}.")
    return value


def _key(value: object, name: str) -> Hashable:
    """A machine or clinician id: anything hashable and not None (a list cannot name a machine)."""
    if value is None or not isinstance(value, Hashable) or isinstance(value, bool):
        raise RuleArgumentError(f"{name} must be an id (a number, text or UUID); got {check.shown(value)}.")
    return value


def wall_slots(calendar: Calendar, first_day: date, last_day: date) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) in UTC of every slot of every open day from `first_day` to `last_day`, in order."""
    calendar, first_day, last_day = check_calendar(calendar), _day(first_day, "first_day"), _day(last_day, "last_day")
    if (last_day - first_day).days > HORIZON_DAYS[1]:
        raise RuleArgumentError(f"last_day must be within {HORIZON_DAYS[1]} days of first_day; got {last_day}.")
    return _wall_slots(calendar, first_day, last_day)


def _wall_slots(calendar: Calendar, first_day: date, last_day: date) -> Iterator[tuple[datetime, datetime]]:
    length = timedelta(minutes=calendar.slot_minutes)
    by_weekday = {
        day: sorted((r for r in calendar.opening if r.weekday == day), key=lambda r: r.opens) for day in WEEKDAYS
    }
    day, seen = first_day, set()
    while day <= last_day:
        if day not in calendar.closures:
            for opening in by_weekday[day.weekday()]:
                wall, closes = datetime.combine(day, opening.opens), datetime.combine(day, opening.closes)
                while wall + length <= closes:
                    start = _exists(wall, calendar.tz)
                    if start is not None and start not in seen:  # a fold's wall time once
                        seen.add(start)
                        yield start, start + length
                    wall += length
        day += timedelta(days=1)


# --- The finder -----------------------------------------------------------------------------------


class _Held:
    """Live bookings by machine and by supervisor, sorted, for overlap tests in O(log n)."""

    def __init__(self, bookings: Sequence[Booking]) -> None:
        self.machines: dict[Hashable, list[tuple[datetime, datetime]]] = {}
        self.supervisors: dict[Hashable, list[tuple[datetime, datetime]]] = {}
        for booking in bookings:
            span = (booking.start.astimezone(UTC), booking.end.astimezone(UTC))
            self.machines.setdefault(booking.machine, []).append(span)
            if booking.supervisor is not None:
                self.supervisors.setdefault(booking.supervisor, []).append(span)
        for spans in (*self.machines.values(), *self.supervisors.values()):
            spans.sort()
        self.longest = max((end - start for start, end in self._all()), default=timedelta(0))

    def _all(self) -> Iterator[tuple[datetime, datetime]]:
        for spans in self.machines.values():
            yield from spans

    def overlaps(self, spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> int:
        """How many spans overlap [start, end): only spans starting before `end` and after start - longest can."""
        first = bisect_left(spans, (start - self.longest, start))
        count = 0
        for span_start, span_end in spans[first:]:
            if span_start >= end:
                break
            count += span_end > start
        return count


def free_slots(
    calendar: Calendar,
    machines: Sequence[Hashable],
    bookings: Sequence[Booking],
    *,
    earliest: datetime,
    due: datetime,
    now: datetime,
    count: int = 3,
    supervisor: Hashable | None = None,
    allow_before_earliest: bool = False,
    within: tuple[datetime, datetime] | None = None,
) -> list[Slot]:
    """The `count` best free slots: closest to `due`, then earliest, then by machine order.

    `machines` are the clinic's active machines of the program's kind, in the order to prefer them.
    `earliest` is the program's earliest next session; `now` bounds the past and the horizon.
    `within` (first, last start) looks only at slots starting in that window, for a caller that
    passed only the bookings overlapping it.
    """
    calendar, bookings = check_calendar(calendar), _check_bookings(bookings)
    for machine in check.sequence_of(machines, "machines", "machine ids"):
        _key(machine, "machines")
    if supervisor is not None:
        _key(supervisor, "supervisor")
    earliest, due, now = (check.aware_datetime(v, n) for v, n in ((earliest, "earliest"), (due, "due"), (now, "now")))
    check.whole_number(count, "count", 1, MAX_OFFERED)
    check.flag(allow_before_earliest, "allow_before_earliest")
    first, last = _window(within, now, calendar.horizon_days)
    if not machines:
        return []
    held = _Held(bookings)
    not_before = max(first, now if allow_before_earliest else max(now, earliest))
    horizon_end = now + timedelta(days=calendar.horizon_days)
    local = calendar.tz
    times = [
        (start, end)
        for start, end in wall_slots(calendar, not_before.astimezone(local).date(), last.astimezone(local).date())
        if not_before <= start <= last and end <= horizon_end
    ]
    times.sort(key=lambda span: (abs(span[0] - due), span[0]))  # best first; machines in their order
    found: list[Slot] = []
    for start, end in times:
        if supervisor is not None:
            busy = held.overlaps(held.supervisors.get(supervisor, []), start, end)
            if busy >= calendar.supervisor_capacity:
                continue
        for machine in machines:
            if not held.overlaps(held.machines.get(machine, []), start, end):
                found.append(Slot(machine, start, end))
                if len(found) == count:
                    return found
    return found


def _window(within: object, now: datetime, horizon_days: int) -> tuple[datetime, datetime]:
    if within is None:
        return now, now + timedelta(days=horizon_days)
    if not isinstance(within, tuple) or len(within) != 2:
        raise RuleArgumentError(f"within must be a (first, last) pair of datetimes; got {check.shown(within)}.")
    first, last = (check.aware_datetime(v, "within") for v in within)
    if last < first:
        raise RuleArgumentError(f"within must end after it starts; got {first.isoformat()}-{last.isoformat()}.")
    return first, last


# --- Series ---------------------------------------------------------------------------------------


def series_starts(
    tz: ZoneInfo, weekdays: Sequence[int], at: time, first_day: date, weeks: int
) -> tuple[list[datetime], list[date]]:
    """The wall time `at` on each of `weekdays` for `weeks` weeks from `first_day`: (UTC instants, days
    on which `at` does not exist because it falls in a DST gap, for the caller to name)."""
    tz, at = check.zone(tz, "tz"), check.wall_time(at, "at")
    days = {
        check.whole_number(day, "weekdays", 0, 6)
        for day in check.sequence_of(weekdays, "weekdays", "weekdays", nonempty=True)
    }
    weeks = check.whole_number(weeks, "weeks", 1, 52)
    first_day = _day(first_day, "first_day")
    found, missing = [], []
    for offset in range(7 * weeks):
        day = first_day + timedelta(days=offset)
        if day.weekday() in days:
            start = _exists(datetime.combine(day, at), tz)
            if start is None:
                missing.append(day)
            else:
                found.append(start)
    return found, missing


def series_problems(
    calendar: Calendar,
    machine: Hashable,
    bookings: Sequence[Booking],
    starts: Sequence[datetime],
    *,
    earliest: datetime,
    now: datetime,
    min_rest_hours: int = 48,
    supervisor: Hashable | None = None,
) -> list[str]:
    """Why a series of bookings cannot all be made, one sentence per slot; empty when every one can.

    A series books all of its slots or none: each must be a free slot of `machine` inside opening hours
    and the horizon, the first at or after the earliest next session, and each pair the rest apart.
    """
    calendar, bookings = check_calendar(calendar), _check_bookings(bookings)
    given = sorted(
        check.aware_datetime(start, "starts")
        for start in check.sequence_of(starts, "starts", "datetimes", nonempty=True)
    )
    earliest, now = check.aware_datetime(earliest, "earliest"), check.aware_datetime(now, "now")
    rest = timedelta(hours=check.whole_number(min_rest_hours, "min_rest_hours", 0, 168))
    machine = _key(machine, "machine")
    if supervisor is not None:
        _key(supervisor, "supervisor")
    tz, length, held = calendar.tz, timedelta(minutes=calendar.slot_minutes), _Held(bookings)
    offered = dict(wall_slots(calendar, given[0].astimezone(tz).date(), given[-1].astimezone(tz).date()))
    problems = []
    for number, start in enumerate(given):
        shown = start.astimezone(tz).strftime("%a %d %b %H:%M")
        end = start + length
        if start.astimezone(UTC) not in offered:
            problems.append(f"{shown}: not a slot inside opening hours.")
        elif start < now or end > now + timedelta(days=calendar.horizon_days):
            problems.append(f"{shown}: outside the booking horizon of {calendar.horizon_days} days.")
        elif number == 0 and start < earliest:
            problems.append(f"{shown}: before the earliest next session.")
        elif number and start - given[number - 1] < rest:
            problems.append(f"{shown}: less than {min_rest_hours} h after the one before.")
        elif held.overlaps(held.machines.get(machine, []), start, end):
            problems.append(f"{shown}: the machine is booked.")
        elif supervisor is not None and (
            held.overlaps(held.supervisors.get(supervisor, []), start, end) >= calendar.supervisor_capacity
        ):
            problems.append(f"{shown}: the supervising clinician is fully booked.")
    return problems
