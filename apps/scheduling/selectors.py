"""Reads of clinic calendars, as the plain values the pure slot finder takes.

Callers pass a clinic that already came through the gate (`clinics.access`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q

from apps.clinics.localtime import localise
from apps.clinics.models import Clinic, Machine
from apps.programs.models import Program
from apps.scheduling import models
from apps.scheduling.models import Appointment, ClinicCalendar, Weekday
from apps.scheduling.slots import SLOT_MINUTES, Booking, Calendar, OpeningRange, Slot, free_slots, wall_slots

# DOMAIN.md "Appointments": a clinic that has set nothing is open Monday to Friday, 08:00-18:00.
DEFAULT_OPENING = tuple(OpeningRange(day, time(8), time(18)) for day in range(Weekday.MONDAY, Weekday.SATURDAY))


@dataclass(frozen=True)
class BookingRules:
    """The appointment rules' numbers that are not the finder's: when a cancellation is late, when a no-show."""

    late_cancel: timedelta
    no_show_grace: timedelta


def _settings_of(clinic: Clinic) -> ClinicCalendar | None:
    return ClinicCalendar.objects.filter(clinic=clinic).first()


def calendar_for(clinic: Clinic, *, closures_from: date | None = None) -> Calendar:
    """The clinic's calendar for `slots.free_slots`; the defaults when the clinic has set none.

    `closures_from` leaves out closures before that day (the finder never looks back).
    """
    settings = _settings_of(clinic)
    if settings is None:
        return Calendar(
            tz=clinic.tzinfo,
            opening=DEFAULT_OPENING,
            slot_minutes=models.DEFAULT_SLOT_MINUTES,
            horizon_days=models.DEFAULT_HORIZON_DAYS,
            supervisor_capacity=models.DEFAULT_SUPERVISOR_CAPACITY,
        )
    opening = settings.opening_hours.order_by("weekday", "opens_at").values_list("weekday", "opens_at", "closes_at")
    closures = settings.closures.all()
    if closures_from is not None:
        closures = closures.filter(date__gte=closures_from)
    return Calendar(
        tz=clinic.tzinfo,
        opening=tuple(OpeningRange(*row) for row in opening),
        closures=frozenset(closures.values_list("date", flat=True)),
        slot_minutes=settings.slot_minutes,
        horizon_days=settings.booking_horizon_days,
        supervisor_capacity=settings.supervisor_capacity,
    )


def booking_rules_for(clinic: Clinic) -> BookingRules:
    settings = _settings_of(clinic)
    hours = settings.late_cancel_hours if settings else models.DEFAULT_LATE_CANCEL_HOURS
    grace = settings.no_show_grace_minutes if settings else models.DEFAULT_NO_SHOW_GRACE_MINUTES
    return BookingRules(late_cancel=timedelta(hours=hours), no_show_grace=timedelta(minutes=grace))


# --- Appointments ---------------------------------------------------------------------------------


def machines_for(program: Program) -> list[Machine]:
    """The active machines of the program's kind at its clinic, in the order the finder prefers them."""
    return list(
        Machine.objects.filter(clinic_id=program.clinic_id, kind=program.machine_kind, is_active=True).order_by(
            "name", "pk"
        )
    )


# No appointment is longer than the longest slot: a booking that overlaps [start, end) started after
# start minus that, which bounds the index range scanned (appointment_machine_idx) from below too.
LONGEST = timedelta(minutes=SLOT_MINUTES[1])


def live_bookings(
    *, machine_ids: Iterable[Any], start: datetime, end: datetime, supervisor_id: Any = None
) -> list[Booking]:
    """The live appointments overlapping [start, end) of these machines (and of this supervisor, on any
    machine: their capacity), as the finder's Bookings.

    Every patient's booking holds the machine, whichever clinic the patient belongs to, so this reads
    past the per-clinic scope of patient records; it returns machine ids and times, no patient data.
    """
    holds = Q(machine_id__in=list(machine_ids))
    if supervisor_id is not None:
        holds |= Q(supervisor_id=supervisor_id)
    rows = (
        Appointment._base_manager.filter(
            holds, state__in=models.LIVE_STATES, starts_at__lt=end, starts_at__gt=start - LONGEST, ends_at__gt=start
        )
        .order_by()
        .values_list("machine_id", "starts_at", "ends_at", "supervisor_id")
    )
    return [Booking(*row) for row in rows]


def next_live_appointment(program: Program, *, now: datetime) -> Appointment | None:
    """The program's last live appointment that has not ended (what "book next" books after)."""
    return Appointment.objects.live().filter(program=program, ends_at__gt=now).order_by("-starts_at").first()


@dataclass(frozen=True)
class Window:
    """When a program's next appointment may start (the rest, elapsed) and when it is best (the due time)."""

    earliest: datetime
    due: datetime


def booking_window(program: Program, *, now: datetime) -> Window:
    """The program's earliest next session and due time, after any appointment it already holds.

    With a live appointment ahead, the next one follows that appointment as a session would: the
    rest after its start, and due a cadence later (7 days / sessions a week).
    """
    earliest = program.earliest_next_at or now
    due = program.next_due_at or earliest
    ahead = next_live_appointment(program, now=now)
    if ahead is not None:
        earliest = max(earliest, ahead.starts_at + timedelta(hours=program.min_rest_hours))
        due = max(due, ahead.starts_at + timedelta(days=7) / max(program.sessions_per_week, 1))
    return Window(earliest=earliest, due=max(due, earliest))


# The finder looks first at the slots within this of the due time, reading only their bookings; the
# best slots are the closest to due, so when that window holds enough of them they are the answer.
FIRST_LOOK = timedelta(days=3)


def offer_slots(
    program: Program,
    *,
    now: datetime,
    count: int = 3,
    supervisor: Any = None,
    allow_before_earliest: bool = False,
) -> list[Slot]:
    """The finder's `count` best free slots for the program's next session (a few queries and the rule).

    Slots within FIRST_LOOK of the due time come first: if `count` of them are free, no slot farther
    away can be better (it is farther from due), so the whole horizon is read only when they are not.
    """
    calendar = calendar_for(program.clinic, closures_from=now.astimezone(program.clinic.tzinfo).date())
    machines = [m.pk for m in machines_for(program)]
    window = booking_window(program, now=now)
    supervisor_id = None if supervisor is None else supervisor.pk
    horizon_end = now + timedelta(days=calendar.horizon_days)
    first_look = (max(now, window.due - FIRST_LOOK), min(horizon_end, window.due + FIRST_LOOK))
    for within in ((first_look,) if first_look[0] <= first_look[1] else ()) + ((now, horizon_end),):
        length = timedelta(minutes=calendar.slot_minutes)
        bookings = live_bookings(
            machine_ids=machines, start=within[0], end=within[1] + length, supervisor_id=supervisor_id
        )
        found = free_slots(
            calendar,
            machines,
            bookings,
            earliest=window.earliest,
            due=window.due,
            now=now,
            count=count,
            supervisor=supervisor_id,
            allow_before_earliest=allow_before_earliest,
            within=within,
        )
        if len(found) == count:
            return found
    return found


# --- The clinic's day and week by machine ---------------------------------------------------------


# What the day and week views show of an appointment (and the fields their links and actions need).
SHOWN_FIELDS = (
    *("id", "patient", "program", "clinic", "machine", "starts_at", "ends_at", "state", "booked_via"),
    *("early_reason", "cancel_reason", "cancelled_late", "checked_in_at", "session_id", "supervisor_id"),
    *("patient__id", "patient__given_name", "patient__family_name", "patient__clinic_id"),
    *("patient__organization_id", "patient__deleted_at"),
    *("program__id", "program__region", "program__clinic_id", "program__status"),
)

WEEK_FIELDS = tuple(name for name in SHOWN_FIELDS if not name.startswith("program__"))


@dataclass(frozen=True)
class Cell:
    """One machine at one slot time: the live appointment holding it, or free."""

    machine: Machine
    start: datetime
    end: datetime
    appointment: Appointment | None
    held: bool = False  # booked by a patient the caller does not see: taken, nothing more is shown


@dataclass(frozen=True)
class Day:
    day: date
    closed: bool
    rows: list[tuple[datetime, datetime, list[Cell]]]  # (start, end, a cell per machine), in time order
    others: list[Appointment]  # cancelled and no-show appointments, and live ones off the slot grid


def clinic_days(
    clinic: Clinic,
    *,
    first_day: date,
    days: int,
    shown_clinics: Collection[int] | None = None,
    with_programs: bool = True,
) -> tuple[list[Machine], list[Day]]:
    """The clinic's machines and, for each day, every slot by machine (three to five queries whatever the size).

    Appointments come with their patient and program (the staff view names them); the slot grid is
    the calendar's (`slots.wall_slots`), so a day in a DST change has its real slots only.
    `with_programs=False` leaves the programs out (a week shows none: a third fewer rows to build).
    `shown_clinics`: the home clinics whose patients the caller sees; an appointment of any other
    patient holds its cell (`Cell.held`) but is not returned, so no name crosses the tenancy line.
    """
    tz = clinic.tzinfo
    calendar = calendar_for(clinic, closures_from=first_day)
    last_day = first_day + timedelta(days=days - 1)
    machines = list(Machine.objects.filter(clinic=clinic, is_active=True).order_by("kind", "name", "pk"))
    start = localise(datetime.combine(first_day, time()), tz)
    end = localise(datetime.combine(last_day + timedelta(days=1), time()), tz)
    appointments = list(
        # Every appointment on the clinic's machines, whichever clinic the patient belongs to: a cell
        # held by a visiting patient is not free (the clinic was gated by the caller).
        Appointment._base_manager.filter(clinic=clinic, starts_at__lt=end, starts_at__gt=start - LONGEST)
        .filter(ends_at__gt=start)
        .select_related("patient", *(("program",) if with_programs else ()))
        .only(*(SHOWN_FIELDS if with_programs else WEEK_FIELDS))
        .order_by("starts_at")
    )
    by_id = {machine.pk: machine for machine in machines}
    for appointment in appointments:  # the machines already read, not one more join per row
        if appointment.machine_id in by_id:
            appointment.machine = by_id[appointment.machine_id]
    held = {
        (a.machine_id, a.starts_at)
        for a in appointments
        if shown_clinics is not None and a.patient.clinic_id not in shown_clinics and a.state in models.LIVE_STATES
    }
    if shown_clinics is not None:
        appointments = [a for a in appointments if a.patient.clinic_id in shown_clinics]
    live = {(a.machine_id, a.starts_at): a for a in appointments if a.state in models.LIVE_STATES}
    placed: set[Any] = set()
    grid: dict[date, list[tuple[datetime, datetime, list[Cell]]]] = {}
    for slot_start, slot_end in wall_slots(calendar, first_day, last_day):
        cells = []
        for machine in machines:
            appointment = live.get((machine.pk, slot_start))
            if appointment is not None:
                placed.add(appointment.pk)
            cells.append(Cell(machine, slot_start, slot_end, appointment, (machine.pk, slot_start) in held))
        grid.setdefault(slot_start.astimezone(tz).date(), []).append((slot_start, slot_end, cells))
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        others = [a for a in appointments if a.pk not in placed and a.starts_at.astimezone(tz).date() == day]
        result.append(
            Day(day=day, closed=day in calendar.closures or day not in grid, rows=grid.get(day, []), others=others)
        )
    return machines, result
