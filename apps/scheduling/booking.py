"""Writes of appointments: book (one or a series), check in, cancel, mark a no-show, complete.

Each is atomic and audits the row it writes. Booking applies the finder's rules to the chosen time
(a slot of the calendar, inside the horizon, at or after the earliest next session unless a clinician
records why, the machine free, the supervisor under capacity). Bookings of one machine queue on its
row, so of two racing for the same time the second sees the first's booking and is refused with
`SlotTaken`, leaving nothing written. On PostgreSQL the exclusion constraint
`appointment_no_double_booking` is still the last word, whatever the code path (a refusal there is
`SlotTaken` too); the embedded SQLite default has only the check here.

Lock order (apps.programs.services): the program row, then the machine row, then the audit chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from apps.audit import events
from apps.clinics.access import access_clinic, visible_clinic_ids
from apps.clinics.models import Machine
from apps.patients.selectors import access_patient
from apps.programs.models import Program, ProgramStatus
from apps.programs.services import check_not_blocked, lock
from apps.scheduling import selectors, signals, slots
from apps.scheduling.models import Appointment, BookedVia

BOOKABLE = (ProgramStatus.ACTIVE, ProgramStatus.LAPSED)  # a lapsed patient books to come back
EXCLUSION = "appointment_no_double_booking"
TAKEN = "This time was just booked on that machine. Choose another slot."


class SlotTaken(Exception):
    """The machine is already held at that time (409 in the API, a form error in the UI)."""

    def __init__(self, message: str = TAKEN) -> None:
        super().__init__(message)
        self.message = message


class BookingLinkActor:
    """The patient, booking or cancelling through the link in an email (recorded without any name)."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False

    def get_username(self) -> str:
        return "patient (booking link)"


BOOKING_LINK = BookingLinkActor()


# --- Checks ---------------------------------------------------------------------------------------


def gate(actor: Any, appointment_or_program: Appointment | Program, perm: str) -> None:
    """404 outside the actor's clinics, 403 for a role that may not do this."""
    access_patient(user=actor, patient_id=appointment_or_program.patient_id)
    clinic_ids = visible_clinic_ids(actor)
    if clinic_ids is not None and appointment_or_program.clinic_id not in clinic_ids:
        raise Http404("No such appointment.")
    if not actor.has_perm(perm, appointment_or_program):
        raise PermissionDenied("Your role at the patient's clinic does not allow this.")


def _check_bookable(program: Program) -> None:
    if program.status not in BOOKABLE:
        raise ValidationError(
            {"program": f"A program that is {program.get_status_display().lower()} takes no bookings."}
        )
    check_not_blocked(program.patient)


def _check_machine(actor: Any, program: Program, machine: Machine) -> None:
    if actor is not BOOKING_LINK:
        access_clinic(actor, machine.clinic_id)  # 404 for a machine outside the actor's clinics
    if machine.clinic_id != program.clinic_id:
        raise ValidationError({"machine": "Choose a machine of the program's clinic."})
    if machine.kind != program.machine_kind or not machine.is_active:
        raise ValidationError({"machine": f"Choose an active {program.get_machine_kind_display().lower()} machine."})


def _check_supervisor(supervisor: Any, program: Program) -> None:
    if supervisor is not None and not supervisor.has_perm("programs.add_trainingsession", program):
        raise ValidationError({"supervisor": f"{supervisor.get_username()} does not supervise sessions here."})


def _check_early(actor: Any, program: Program, early_reason: str) -> None:
    if not early_reason:
        return
    if actor is BOOKING_LINK or not actor.has_perm("scheduling.book_early", program):
        raise ValidationError({"early_reason": "Only a clinician can book before the minimum rest."})


def _shown(moment: datetime, program: Program) -> str:
    return moment.astimezone(program.clinic.tzinfo).strftime("%a %d %b %H:%M")


def _problems(
    program: Program,
    machine: Machine,
    starts: Sequence[datetime],
    *,
    now: datetime,
    supervisor: Any,
    early: bool,
) -> list[str]:
    """Why these starts cannot all be booked (the finder's rules, `slots.series_problems`)."""
    calendar = selectors.calendar_for(
        program.clinic, closures_from=min(starts).astimezone(program.clinic.tzinfo).date()
    )
    window = selectors.booking_window(program, now=now)
    length = timedelta(minutes=calendar.slot_minutes)
    bookings = selectors.live_bookings(
        machine_ids=[machine.pk],
        start=min(starts),
        end=max(starts) + length,
        supervisor_id=None if supervisor is None else supervisor.pk,
    )
    return slots.series_problems(
        calendar,
        machine.pk,
        bookings,
        starts,
        earliest=now if early else window.earliest,
        now=now,
        min_rest_hours=program.min_rest_hours,
        supervisor=None if supervisor is None else supervisor.pk,
    )


def _patient_overlap(program: Program, start: datetime, end: datetime) -> bool:
    return (
        Appointment.objects.live().filter(patient_id=program.patient_id, starts_at__lt=end, ends_at__gt=start).exists()
    )


def _refuse(problems: list[str], series: bool) -> None:
    """Taken slots alone are a conflict (409); any other problem is bad input (400)."""
    taken = [p for p in problems if p.endswith("the machine is booked.")]
    if taken and len(taken) == len(problems):
        raise SlotTaken(" ".join(problems) if series else TAKEN)
    if problems:
        raise ValidationError({"starts_at": problems})


def _insert(appointments: list[Appointment], actor: Any) -> list[Appointment]:
    """Insert every row, then audit and announce them: no audit event (the chain's lock) is taken while
    an insert may still wait on another booking's transaction, so two series cannot deadlock."""
    try:
        with transaction.atomic():  # a savepoint: a refused insert leaves the outer transaction usable
            for appointment in appointments:
                appointment.save()
    except IntegrityError as error:
        if EXCLUSION in str(error):
            raise SlotTaken() from None
        raise
    for appointment in appointments:
        events.record(action=events.Action.CREATE, obj=appointment, actor=actor)
        signals.appointment_changed.send(sender=Appointment, appointment=appointment, change="booked", actor=actor)
    return appointments


def _via(actor: Any) -> str:
    if actor is BOOKING_LINK:
        return BookedVia.PATIENT_LINK
    return BookedVia.PARTNER if getattr(actor, "is_partner", False) else BookedVia.STAFF


# --- Booking --------------------------------------------------------------------------------------


@transaction.atomic
def appointment_book_series(
    *,
    actor: Any,
    program: Program,
    machine: Machine,
    starts: Sequence[datetime],
    supervisor: Any = None,
    early_reason: str = "",
    now: datetime | None = None,
) -> list[Appointment]:
    """Book every start or none: each a free slot of `machine`, each pair at least the rest apart.

    `BOOKING_LINK` books for the patient of a checked link (the caller checked it); it may not
    book early. A refusal names every start that cannot be booked and writes nothing.
    """
    if actor is not BOOKING_LINK:
        gate(actor, program, "scheduling.add_appointment")
    if not starts:
        raise ValidationError({"starts_at": "Choose at least one time."})
    if any(not isinstance(s, datetime) or timezone.is_naive(s) for s in starts):
        raise ValidationError({"starts_at": "Give each time as a date and time with its time zone."})
    now = now or timezone.now()
    early_reason = early_reason.strip()[:300]
    lock(program)
    _check_bookable(program)
    _check_machine(actor, program, machine)
    # Bookings of one machine queue here, so the check below sees the booking that won a race. Without
    # it, two inserts of overlapping ranges can each wait on the other inside the exclusion constraint
    # (PostgreSQL then aborts one as a deadlock) instead of one being refused cleanly.
    Machine.objects.select_for_update().filter(pk=machine.pk).exists()
    _check_supervisor(supervisor, program)
    _check_early(actor, program, early_reason)
    starts = sorted(s.astimezone(UTC) for s in starts)
    _refuse(
        _problems(program, machine, starts, now=now, supervisor=supervisor, early=bool(early_reason)),
        series=len(starts) > 1,
    )
    length = timedelta(minutes=selectors.calendar_for(program.clinic).slot_minutes)
    if clashes := [
        f"{_shown(s, program)}: the patient has another appointment then."
        for s in starts
        if _patient_overlap(program, s, s + length)
    ]:
        raise ValidationError({"starts_at": clashes})
    rows = [
        Appointment(
            patient=program.patient,
            program=program,
            clinic_id=program.clinic_id,
            machine=machine,
            supervisor=supervisor,
            starts_at=start,
            ends_at=start + length,
            booked_via=_via(actor),
            booked_by=actor if getattr(actor, "pk", None) is not None else None,
            early_reason=early_reason,
        )
        for start in starts
    ]
    return _insert(rows, actor)


def appointment_book(*, starts_at: datetime, **kwargs: Any) -> Appointment:
    """Book one slot (see `appointment_book_series`)."""
    return appointment_book_series(starts=[starts_at], **kwargs)[0]


def series_starts(
    program: Program, *, weekdays: Sequence[int], at: time, first_day: date, weeks: int
) -> list[datetime]:
    """ "Mon and Thu at 17:00 for 4 weeks" as instants; a day on which 17:00 does not exist is an error."""
    try:
        starts, missing = slots.series_starts(program.clinic.tzinfo, weekdays, at, first_day, weeks)
    except slots.RuleArgumentError as error:
        raise ValidationError({"weekdays": str(error)}) from None
    if missing:
        days = ", ".join(f"{day:%a %d %b}" for day in missing)
        raise ValidationError({"at": f"{at:%H:%M} does not exist on {days} (the clocks go forward)."})
    return starts
