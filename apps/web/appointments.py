"""Appointment pages: the clinic's day and week by machine, booking a free slot, "book next", check-in,
no-show, cancellation, and the session recorded from a checked-in appointment.

As everywhere in the staff UI: the gate finds the rows (`access_clinic`, `access_appointment`,
`patient_get`; 404 outside the user's clinics), selectors read, one service call writes, a POST
redirects, and a page that shows patients records their read events in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.assessments.scoring import fmt
from apps.audit import events
from apps.clinics.access import access_clinic, visible_clinic_ids
from apps.clinics.models import Clinic, Machine
from apps.patients.selectors import patient_get
from apps.programs.models import Program
from apps.scheduling import selectors, visits
from apps.scheduling.models import Appointment, AppointmentState
from apps.web import schedule
from apps.web.appointment_forms import AppointmentSessionForm, BookForm, CancelForm
from apps.web.pages import book_next_on_chart, render_page, staff_page
from apps.web.recording import proposal_shown, session_machines

EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2199, 12, 24)  # what a typed ?day= may ask for
WEEK = 7


def _page(request: HttpRequest, template: str, context: dict[str, Any], clinic: Clinic) -> HttpResponse:
    return render_page(request, template, {"nav": "schedule", **context}, clinic=clinic, local_to=clinic)


def _typed_day(text: str | None, clinic: Clinic) -> date:
    """A YYYY-MM-DD day; today on the clinic's calendar when it is missing, malformed or out of range."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return timezone.localdate(timezone=clinic.tzinfo)
    return day if EARLIEST_DAY <= day <= LATEST_DAY else timezone.localdate(timezone=clinic.tzinfo)


def _typed_start(text: str | None) -> datetime:
    """A slot's start as the Unix seconds the grid links carry; a malformed one names no slot (404)."""
    if not text or not text.isdigit():
        raise Http404("No such slot.")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (ValueError, OverflowError, OSError):  # beyond the years a datetime holds
        raise Http404("No such slot.") from None


def _local_day(moment: datetime, clinic: Clinic) -> date:
    return moment.astimezone(clinic.tzinfo).date()


def day_url(clinic: Clinic, day: date, anchor: str = "") -> str:
    return f"{reverse('web:clinic-day', kwargs={'clinic_id': clinic.pk})}?day={day:%Y-%m-%d}{anchor}"


def _back(request: HttpRequest, appointment: Appointment) -> str:
    """Where an action returns: the page it was pressed on, else the appointment's day."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return day_url(appointment.clinic, _local_day(appointment.starts_at, appointment.clinic), f"#a-{appointment.pk}")


# --- Day and week --------------------------------------------------------------------------------


@staff_page
@transaction.atomic
def clinic_day(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = access_clinic(request.user, clinic_id)
    day = _typed_day(request.GET.get("day"), clinic)
    machines, (shown,) = selectors.clinic_days(
        clinic, first_day=day, days=1, shown_clinics=visible_clinic_ids(request.user)
    )
    events.record_reads(objs=schedule.appointments_shown([shown]), actor=request.user)
    now = timezone.now()
    context = {
        "machines": machines,
        "day": shown,
        "now": now,
        "is_today": day == _local_day(now, clinic),
        "previous": day - timedelta(days=1),
        "following": day + timedelta(days=1),
        "week_start": day - timedelta(days=day.weekday()),
    }
    context["book_url"] = reverse("web:slot-book", kwargs={"clinic_id": clinic.pk})  # once, not once a cell
    return _page(request, "web/schedule/day.html", context, clinic)


@staff_page
@transaction.atomic
def clinic_week(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = access_clinic(request.user, clinic_id)
    if "start" in request.GET:
        start = _typed_day(request.GET["start"], clinic)
    else:  # this week, from its Monday
        today = timezone.localdate(timezone=clinic.tzinfo)
        start = today - timedelta(days=today.weekday())
    machines, days = selectors.clinic_days(
        clinic, first_day=start, days=WEEK, shown_clinics=visible_clinic_ids(request.user), with_programs=False
    )
    events.record_reads(objs=schedule.appointments_shown(days), actor=request.user)
    now = timezone.now()
    book_url = reverse("web:slot-book", kwargs={"clinic_id": clinic.pk})
    heads, rows = schedule.week_grid(days, machines, clinic, now=now, book_url=book_url)
    context = {
        "machines": machines,
        "others": [appointment for day in days for appointment in day.others],
        "heads": heads,
        "rows": rows,
        "today": _local_day(now, clinic),
        "start": start,
        "end": start + timedelta(days=WEEK - 1),
        "previous": start - timedelta(days=WEEK),
        "following": start + timedelta(days=WEEK),
    }
    return _page(request, "web/schedule/week.html", context, clinic)


# --- Booking a free slot -------------------------------------------------------------------------


def _booked(request: HttpRequest, appointment: Appointment) -> HttpResponse:
    clinic = appointment.clinic
    local = timezone.localtime(appointment.starts_at, clinic.tzinfo)
    patient = appointment.patient
    messages.success(
        request,
        f"Booked: {patient.family_name}, {patient.given_name} on {appointment.machine.name}, {local:%a %-d %b %H:%M}.",
    )
    return redirect(day_url(clinic, local.date(), f"#a-{appointment.pk}"))


@staff_page
@transaction.atomic
def slot_book(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """A free slot (machine and start in the query): choose the program, then confirm with a POST."""
    clinic = access_clinic(request.user, clinic_id)
    data = request.POST if request.method == "POST" else request.GET
    machine_id = data.get("machine", "")
    machines = Machine.objects.filter(clinic=clinic, is_active=True)
    machine = get_object_or_404(machines, pk=int(machine_id) if machine_id.isdigit() else None)
    start = _typed_start(data.get("start"))
    context: dict[str, Any] = {"machine": machine, "start": start}
    if not data.get("program"):
        search = request.GET.get("q", "").strip()[:100]
        programs = list(schedule.bookable_programs(request.user, clinic, machine, search)[: schedule.PICK_ROWS])
        events.record_reads(objs=[program.patient for program in programs], actor=request.user)
        context |= {"programs": programs, "search": search}
        return _page(request, "web/schedule/book_pick.html", context, clinic)
    program = schedule.bookable_program(request.user, clinic, machine, data["program"])
    patient = patient_get(user=request.user, patient_id=program.patient_id)
    with timezone.override(clinic.tzinfo):
        form = BookForm(request.POST or None, program=program, machine=machine, starts_at=start)
        if request.method == "POST" and (appointment := form.submit(request.user)):
            return _booked(request, appointment)
    window = selectors.booking_window(program, now=timezone.now())
    context |= {
        "program": program,
        "patient": patient,
        "form": form,
        "early": start < window.earliest,
        "window": window,
        "may_book_early": request.user.has_perm("scheduling.book_early", program),
    }
    return _page(request, "web/schedule/book_confirm.html", context, clinic)


@staff_page
@transaction.atomic
def book_next(request: HttpRequest, patient_id: Any, program_id: Any) -> HttpResponse:
    """The finder's three best slots for the program's next session, each booked with one POST."""
    patient = patient_get(user=request.user, patient_id=patient_id)
    program = get_object_or_404(Program.objects.of_patient(patient).select_related("clinic"), pk=program_id)
    form = None
    if request.method == "POST":
        machine_id = request.POST.get("machine", "")
        machine = get_object_or_404(
            Machine.objects.filter(clinic_id=program.clinic_id), pk=int(machine_id) if machine_id.isdigit() else None
        )
        start = _typed_start(request.POST.get("start"))
        form = BookForm(request.POST, program=program, machine=machine, starts_at=start)
        if appointment := form.submit(request.user):
            return _booked(request, appointment)
    context = {
        "patient": patient,
        "program": program,
        "form": form,
        "book_next": schedule.book_next(program, now=timezone.now()),
        "nav": "patients",
    }
    return _page(request, "web/schedule/book_next.html", context, program.clinic)


# --- Check-in, no-show, cancel -------------------------------------------------------------------


def _act(request: HttpRequest, appointment_id: Any, act: Callable[..., Appointment], done: str) -> HttpResponse:
    appointment = schedule.access_appointment(request.user, appointment_id)
    try:
        with transaction.atomic():
            act(actor=request.user, appointment=appointment, now=timezone.now())
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, f"{appointment.patient.family_name}, {appointment.patient.given_name}: {done}.")
    return redirect(_back(request, appointment))


@staff_page
@require_POST
@transaction.atomic
def appointment_check_in(request: HttpRequest, appointment_id: Any) -> HttpResponse:
    return _act(request, appointment_id, visits.appointment_check_in, "checked in")


@staff_page
@require_POST
@transaction.atomic
def appointment_no_show(request: HttpRequest, appointment_id: Any) -> HttpResponse:
    return _act(request, appointment_id, visits.appointment_no_show, "marked as a no-show")


@staff_page
@transaction.atomic
def appointment_cancel(request: HttpRequest, appointment_id: Any) -> HttpResponse:
    """The reason is asked on the day view's row; a missing one, or a refusal, shows this page's form."""
    appointment = schedule.access_appointment(request.user, appointment_id)
    form = CancelForm(request.POST or None, appointment=appointment)
    if request.method == "POST" and form.submit(request.user):
        late = " (late: inside the late-cancellation window)" if appointment.cancelled_late else ""
        messages.success(request, f"Appointment cancelled{late}.")
        return redirect(_back(request, appointment))
    events.record(action=events.Action.READ, obj=appointment, actor=request.user)
    context = {
        "appointment": appointment,
        "patient": appointment.patient,
        "form": form,
        "next": request.POST.get("next", ""),
    }
    return _page(request, "web/schedule/cancel.html", context, appointment.clinic)


# --- The session of a checked-in appointment -----------------------------------------------------


@staff_page
@transaction.atomic
def appointment_session(request: HttpRequest, appointment_id: Any) -> HttpResponse:
    appointment = schedule.access_appointment(request.user, appointment_id)
    patient = patient_get(user=request.user, patient_id=appointment.patient_id)
    if appointment.state != AppointmentState.CHECKED_IN:
        messages.error(request, "Check the patient in before recording the session.")
        return redirect(_back(request, appointment))
    program = appointment.program
    machines = session_machines(request.user, patient, program)
    with timezone.override(program.clinic.tzinfo):
        form = AppointmentSessionForm(request.POST or None, appointment=appointment, machines=machines)
        if request.method == "POST" and form.submit(request.user):
            messages.success(request, "Session recorded; the appointment is completed.")
            return redirect(book_next_on_chart(program))
    machine, at = form.proposal_inputs()
    proposal = proposal_shown(program, machine, at)
    if not form.is_bound and proposal.load is not None:
        form.initial["load"] = fmt(proposal.load)
    context = {"patient": patient, "program": program, "form": form, "proposal": proposal, "appointment": appointment}
    return _page(request, "web/record/session.html", context, program.clinic)
