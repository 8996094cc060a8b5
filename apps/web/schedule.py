"""Reads of the staff UI's appointment pages: one appointment through the gate, the clinic's week as a
grid, the programs a free slot can take, the finder's offers with their machines, a patient's
appointments and attendance.

Every read narrows through the gate first (`for_user`, the caller's clinics) and costs a fixed
number of queries whatever the size; the views audit what they show.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Count, Q, QuerySet, Window
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html

from apps.clinics.access import restrict, visible_clinic_ids
from apps.clinics.models import Clinic, Machine
from apps.patients.models import Patient
from apps.patients.selectors import patient_list
from apps.programs.models import Program
from apps.scheduling import selectors
from apps.scheduling.booking import BOOKABLE
from apps.scheduling.models import LIVE_STATES, Appointment, AppointmentState
from apps.scheduling.selectors import Cell, Day

PICK_ROWS = 25  # programs listed to choose from for a free slot; a search narrows them
CHART_ROWS = 20  # upcoming and past appointments listed on the chart, each


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("Not found.") from None


def access_appointment(user: Any, appointment_id: Any) -> Appointment:
    """The appointment, if both its patient's clinic and its own are the user's; 404 otherwise
    (another clinic, a deleted patient, a malformed id)."""
    rows = Appointment.objects.for_user(user).filter(pk=_uuid(appointment_id), patient__deleted_at__isnull=True)
    rows = restrict(rows, visible_clinic_ids(user))
    appointment = rows.select_related("patient", "program__clinic", "clinic", "machine").first()
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment


def appointments_shown(days: Iterable[Day]) -> list[Appointment]:
    """Every appointment a grid names (in its cells and beside them): what the audit records as read."""
    shown: dict[Any, Appointment] = {}
    for day in days:
        for _, _, cells in day.rows:
            shown.update((c.appointment.pk, c.appointment) for c in cells if c.appointment is not None)
        shown.update((a.pk, a) for a in day.others)
    return list(shown.values())


# --- The week as one grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekDay:
    day: date
    closed: bool
    span: int  # the columns it takes: one per machine, one when closed


@dataclass(frozen=True)
class WeekCell:
    """One machine at one slot time, ready to show. A week has a thousand or more of them: each cell's
    markup is built here once (escaped by `format_html`), which the template prints as it is, rather
    than a dozen template tags and filters a cell."""

    appointment: Appointment | None
    html: str  # the whole <td>, safe
    held: bool = False  # booked by a patient of a clinic the user does not see


def _booked_html(appointment: Appointment, css: str) -> str:
    patient = appointment.patient
    return format_html(
        '<td class="{}" id="a-{}"><a class="patient-link" href="{}">{}, {}.</a> '
        '<span class="status status-{}">{}</span></td>',
        css,
        appointment.pk,
        reverse("web:chart", kwargs={"patient_id": appointment.patient_id}),
        patient.family_name,
        patient.given_name[:1],
        appointment.state,
        appointment.get_state_display(),
    )


def _week_cell(cell: Cell, first: bool, tz: Any, now: datetime, book_url: str) -> WeekCell:
    edge = " day-start" if first else ""
    appointment = cell.appointment
    if appointment is not None:
        return WeekCell(appointment, _booked_html(appointment, f"slot booked state-{appointment.state}{edge}"))
    if cell.held:
        return WeekCell(None, format_html('<td class="slot booked held{}">Booked</td>', edge), held=True)
    if cell.start <= now:
        return WeekCell(None, format_html('<td class="slot past{}"></td>', edge))
    local = cell.start.astimezone(tz)
    query = f"?machine={cell.machine.pk}&start={int(cell.start.timestamp())}"
    label = f"Book {cell.machine.name}, {local:%a} {local.day} {local:%b} at {local:%H:%M}"
    return WeekCell(
        None,
        format_html(
            '<td class="slot free{}"><a class="slot-book" href="{}" aria-label="{}">Book</a></td>',
            edge,
            book_url + query,
            label,
        ),
    )


@dataclass(frozen=True)
class WeekRow:
    """One wall time of the week: for each day, its cells at that time, or None (no such slot that day)."""

    at: time
    days: list[tuple[WeekDay, list[WeekCell] | None]]


def week_grid(
    days: list[Day], machines: list[Machine], clinic: Clinic, *, now: datetime, book_url: str
) -> tuple[list[WeekDay], list[WeekRow]]:
    """The week's days as columns (a machine each) and the union of their slot times as rows.

    Keyed by wall time and fold, so two days with different opening hours share one row per time,
    and a fall-back day's repeated hour keeps both of its slots apart.
    """
    tz = clinic.tzinfo
    heads = [WeekDay(d.day, d.closed, 1 if d.closed or not machines else len(machines)) for d in days]

    def key(start: datetime) -> tuple[time, int]:
        local = start.astimezone(tz)
        return local.time(), local.fold

    by_day = [
        {
            key(start): [_week_cell(c, i == 0, tz, now, book_url) for i, c in enumerate(cells)]
            for start, _, cells in d.rows
        }
        for d in days
    ]
    keys = sorted({k for slots in by_day for k in slots})
    rows = [
        WeekRow(at, [(head, slots.get((at, fold))) for head, slots in zip(heads, by_day, strict=True)])
        for at, fold in keys
    ]
    return heads, rows


# --- Booking -------------------------------------------------------------------------------------


def bookable_programs(user: Any, clinic: Clinic, machine: Machine, search: str = "") -> QuerySet[Program]:
    """Programs that can take a slot of this machine: open for booking, at its clinic, of its kind;
    due first. `search` narrows by the patient's name, MRN or birth date."""
    programs = Program.objects.for_user(user).filter(
        clinic=clinic, machine_kind=machine.kind, status__in=BOOKABLE, patient__deleted_at__isnull=True
    )
    if search:
        programs = programs.filter(patient__in=patient_list(user=user, search=search).values("pk"))
    return programs.select_related("patient", "clinic").order_by("next_due_at", "pk")


def bookable_program(user: Any, clinic: Clinic, machine: Machine, program_id: Any) -> Program:
    program = bookable_programs(user, clinic, machine).filter(pk=_uuid(program_id)).first()
    if program is None:
        raise Http404("No such program to book.")
    return program


@dataclass(frozen=True)
class Offer:
    machine: Machine
    start: datetime
    end: datetime


def offers_for(program: Program, *, now: datetime, count: int = 3) -> list[Offer]:
    """The finder's `count` best slots for the program's next session, each with its machine row."""
    slots = selectors.offer_slots(program, now=now, count=count)
    machines = Machine.objects.in_bulk([slot.machine for slot in slots]) if slots else {}
    return [Offer(machines[slot.machine], slot.start, slot.end) for slot in slots]


# --- A patient's appointments --------------------------------------------------------------------


@dataclass(frozen=True)
class Attendance:
    upcoming: list[Appointment]  # live and not over yet, soonest first
    past: list[Appointment]  # the rest, latest first
    completed: int
    no_shows: int
    cancelled: int
    late_cancellations: int

    def next_for(self, program: Program) -> Appointment | None:
        return next((a for a in self.upcoming if a.program_id == program.pk), None)


ATTENDANCE = {
    "completed": Q(state=AppointmentState.COMPLETED),
    "no_shows": Q(state=AppointmentState.NO_SHOW),
    "cancelled": Q(state=AppointmentState.CANCELLED),
    "late_cancellations": Q(state=AppointmentState.CANCELLED, cancelled_late=True),
}


def patient_appointments(*, patient: Patient, now: datetime) -> Attendance:
    """The patient's latest appointments (upcoming ones start last, so they come first) and the
    attendance counts over all of them: one query, the counts as window aggregates on each row."""
    counts = {key: Window(Count("pk", filter=query)) for key, query in ATTENDANCE.items()}
    rows = list(
        Appointment.objects.filter(patient=patient)
        .select_related("machine", "clinic")
        .annotate(**counts)
        .order_by("-starts_at", "pk")[: 2 * CHART_ROWS]
    )
    ahead = [a for a in rows if a.state in LIVE_STATES and a.ends_at > now]
    totals = {key: getattr(rows[0], key) if rows else 0 for key in ATTENDANCE}
    return Attendance(
        upcoming=ahead[::-1][:CHART_ROWS],
        past=[a for a in rows if a not in ahead][:CHART_ROWS],
        **totals,
    )


@dataclass(frozen=True)
class BookNext:
    """What "book next" offers for one program: the finder's best slots, the appointment it already
    holds (the offers follow it), and the day the day view opens on for another time."""

    program: Program
    offers: list[Offer]
    ahead: Appointment | None
    other_day: date


def book_next(program: Program, *, now: datetime) -> BookNext:
    offers = offers_for(program, now=now)
    ahead = selectors.next_live_appointment(program, now=now)
    first = offers[0].start if offers else now
    return BookNext(program, offers, ahead, first.astimezone(program.clinic.tzinfo).date())
