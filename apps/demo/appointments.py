"""The demo clinics' calendars and appointments: a week that looks like a clinic's, booked through the services.

Each clinic gets its calendar (longer weekday hours, Saturday mornings, closed on 25 December and
1 January) and, once, appointments for most of its open programs at the finder's best slot; a
quarter stay unbooked so the board shows patients due with no booking. Where today allows it, one
patient missed a slot earlier today (a no-show) and one has arrived for the next slot (checked in).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError

from apps.audit.events import SYSTEM
from apps.clinics.models import Clinic, Machine
from apps.demo.history import Cast, clinic_casts
from apps.demo.seeding import ORGANIZATION_SLUG
from apps.programs.models import Program, ProgramStatus
from apps.scheduling import booking, selectors, services, slots, visits
from apps.scheduling.booking import SlotTaken
from apps.scheduling.models import Appointment, ClinicCalendar, Closure, OpeningHours

WEEKDAY_HOURS = (time(7), time(19))
SATURDAY_HOURS = (time(8), time(12))
UNBOOKED_EVERY = 4  # every 4th open program is left without a booking


def seed_appointments(clinics: dict[str, Clinic], now: datetime) -> int:
    """Calendars for clinics without one; appointments for clinics without any. Returns how many were booked."""
    casts = clinic_casts(clinics)
    booked = 0
    for code, clinic in clinics.items():
        seed_calendar(clinic, now.astimezone(clinic.tzinfo).date())
        if not Appointment.objects.filter(clinic=clinic).exists():
            booked += _book_clinic(clinic, casts[code], now)
    return booked


def seed_calendar(clinic: Clinic, today: date) -> ClinicCalendar:
    existing = ClinicCalendar.objects.filter(clinic=clinic).first()
    if existing is not None:
        return existing
    calendar = services.calendar_create(actor=SYSTEM, clinic=clinic)
    hours = [OpeningHours(weekday=day, opens_at=WEEKDAY_HOURS[0], closes_at=WEEKDAY_HOURS[1]) for day in range(5)]
    hours.append(OpeningHours(weekday=5, opens_at=SATURDAY_HOURS[0], closes_at=SATURDAY_HOURS[1]))
    year = today.year + (today >= date(today.year, 12, 26))
    closures = [
        Closure(date=date(year, 12, 25), reason="Christmas Day"),
        Closure(date=date(year + 1, 1, 1), reason="New Year's Day"),
    ]
    services.calendar_rows_save(
        actor=SYSTEM, calendar=calendar, saved=[*hours, *closures], deleted=list(calendar.opening_hours.all())
    )
    return calendar


def _open_programs(clinic: Clinic) -> list[Program]:
    return list(
        Program.objects.filter(clinic=clinic, status=ProgramStatus.ACTIVE, patient__deleted_at__isnull=True)
        .select_related("patient", "clinic")
        .order_by("next_due_at", "pk")
    )


def _book_clinic(clinic: Clinic, cast: Cast, now: datetime) -> int:
    programs = _open_programs(clinic)
    booked = _today(clinic, cast, programs, now)
    for number, program in enumerate(programs):
        if number % UNBOOKED_EVERY == UNBOOKED_EVERY - 1 or selectors.next_live_appointment(program, now=now):
            continue
        offered = selectors.offer_slots(program, now=now, count=1)
        if offered and _book(cast, program, offered[0].machine, offered[0].start, now):
            booked += 1
    return booked


def _book(cast: Cast, program: Program, machine_id: object, start: datetime, now: datetime) -> Appointment | None:
    try:
        machine = Machine.objects.get(pk=machine_id)
        return booking.appointment_book(actor=cast.desk, program=program, machine=machine, starts_at=start, now=now)
    except (ValidationError, SlotTaken):
        return None  # the demo books what the rules allow and leaves the rest


def _today(clinic: Clinic, cast: Cast, programs: list[Program], now: datetime) -> int:
    """A no-show earlier today and an arrival for the next slot, when today's hours and the rest allow."""
    today = now.astimezone(clinic.tzinfo).date()
    calendar = selectors.calendar_for(clinic, closures_from=today)
    ready = [p for p in programs if p.earliest_next_at is not None and p.earliest_next_at <= now]
    machines = {p.machine_kind: selectors.machines_for(p) for p in ready}
    past = [s for s, _ in slots.wall_slots(calendar, today, today) if s + timedelta(minutes=30) < now]
    soon = [s for s, _ in slots.wall_slots(calendar, today, today) if now <= s <= now + timedelta(minutes=45)]
    made = 0
    if past and ready and machines[ready[0].machine_kind]:
        program = ready.pop(0)
        start = past[-1]
        if start >= program.earliest_next_at and _book(
            cast, program, machines[program.machine_kind][0].pk, start, start - timedelta(hours=1)
        ):
            visits.mark_no_shows(now=now)
            made += 1
    if soon and ready and machines[ready[0].machine_kind]:
        program = ready.pop(0)
        appointment = _book(cast, program, machines[program.machine_kind][0].pk, soon[0], now)
        if appointment is not None:
            visits.appointment_check_in(actor=cast.desk, appointment=appointment, now=now)
            made += 1
    return made


def appointment_counts() -> dict[str, int]:
    return {"appointments": Appointment.objects.filter(clinic__organization__slug=ORGANIZATION_SLUG).count()}
