"""Staff pages: clinic picker, today board, patients, the patient chart and its session log.

Views are thin: the gate (`access_clinic`, `patient_get`) finds the rows, selectors read, services
write. Every page that shows patient data records its read events in the transaction that reads
it (`transaction.atomic`), so a page cannot be shown without its audit rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from apps.audit import events
from apps.clinics.access import access_clinic, clinics_for_user
from apps.outcomes.progress import reports_due
from apps.patients.models import Patient
from apps.patients.selectors import patient_get
from apps.programs.models import MOVE_LABELS, TrainingSession, moves_from
from apps.reminders.selectors import reminder_history
from apps.scheduling.booking import BOOKABLE
from apps.scheduling.models import Appointment
from apps.web import charts, schedule, selectors
from apps.web.forms import PatientEditForm, PatientForm
from apps.web.pages import (
    current_clinic,
    pick_clinic_first,
    remember_clinic,
    render_page,
    staff_page,
)

PATIENTS_PER_PAGE = 25
SESSIONS_PER_PAGE = 50
REMINDERS_SHOWN = 20
SEARCH_MAX = 100

# --- Clinic context ------------------------------------------------------------------------------


@staff_page
def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:board")


def _next_url(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if safe else None


@staff_page
def clinic_picker(request: HttpRequest) -> HttpResponse:
    """Choose the clinic to work in among the user's own; any other clinic is 404."""
    if request.method == "POST":
        clinic = access_clinic(request.user, request.POST.get("clinic"))
        remember_clinic(request, clinic)
        return redirect(_next_url(request) or "web:board")
    clinics = list(clinics_for_user(request.user))
    context = {"clinics": clinics, "next": _next_url(request) or ""}
    return render_page(request, "web/clinic_picker.html", context, clinic=current_clinic(request))


# --- Today board ---------------------------------------------------------------------------------


@staff_page
@transaction.atomic
def board(request: HttpRequest) -> HttpResponse:
    clinic = current_clinic(request)
    if clinic is None:
        return pick_clinic_first(request)
    now = timezone.now()
    sections = selectors.board(user=request.user, clinic=clinic, now=now)
    events.record_reads(objs=selectors.patients_shown(sections), actor=request.user)
    context = {"sections": sections, "now": now, "nav": "board"}
    return render_page(request, "web/board.html", context, clinic=clinic)


# --- Patients ------------------------------------------------------------------------------------


@staff_page
@transaction.atomic
def patients(request: HttpRequest) -> HttpResponse:
    """Search by name, MRN or birth date (YYYY-MM-DD); the working clinic unless `all=1`."""
    clinic = current_clinic(request)
    if clinic is None:
        return pick_clinic_first(request)
    search, everywhere = request.GET.get("q", "").strip()[:SEARCH_MAX], request.GET.get("all") == "1"
    rows = selectors.patient_rows(user=request.user, search=search, clinic=None if everywhere else clinic)
    page = Paginator(rows, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # one query, shared by the audit and the template
    events.record_reads(objs=page.object_list, actor=request.user)
    context = {"page": page, "search": search, "everywhere": everywhere, "nav": "patients"}
    template = "web/patients/_results.html" if request.htmx else "web/patients/list.html"
    return render_page(request, template, context, clinic=clinic)


@staff_page
def patient_register(request: HttpRequest) -> HttpResponse:
    clinic = current_clinic(request)
    if clinic is None:
        return pick_clinic_first(request)
    form = PatientForm(request.POST or None, clinic=clinic)
    if request.method == "POST" and (patient := form.submit(request.user)):
        messages.success(request, f"{patient.full_name} is registered.")
        return redirect("web:chart", patient_id=patient.pk)
    context = {"form": form, "nav": "patients", "title": f"Register a patient at {clinic.name}"}
    return render_page(request, "web/patients/form.html", context, clinic=clinic)


@staff_page
@transaction.atomic
def patient_edit(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    clinics = clinics_for_user(request.user).filter(organization_id=patient.organization_id)
    form = PatientEditForm(request.POST or None, instance=patient, clinics=clinics)
    if request.method == "POST" and form.submit(request.user):
        messages.success(request, "Patient details saved.")
        return redirect("web:chart", patient_id=patient.pk)
    context = {"form": form, "patient": patient, "nav": "patients", "title": f"Edit {patient.full_name}"}
    return render_page(request, "web/patients/form.html", context, clinic=current_clinic(request))


# --- Chart ---------------------------------------------------------------------------------------


def allowed_actions(user: Any, patient: Patient) -> dict[str, bool]:
    """Which buttons the chart offers; the services check the same permissions on every POST."""
    perms = {
        "edit": "patients.change_patient",
        "screen": "patients.add_redflagscreen",
        "review": "patients.review_redflagscreen",
        "test": "assessments.add_strengthtest",
        "questionnaire": "assessments.add_questionnaireresponse",
        "program": "programs.add_program",
        "session": "programs.add_trainingsession",
        "change_program": "programs.change_program",
        "discharge": "programs.discharge_program",
        "book": "scheduling.add_appointment",
    }
    return {action: user.has_perm(perm, patient) for action, perm in perms.items()}


def programs_with_moves(
    chart: charts.Chart, can: dict[str, bool], attendance: schedule.Attendance
) -> list[tuple[Any, list[tuple[str, str]], Appointment | None]]:
    """Every program, with the status buttons this user may press on it (none once it has ended) and
    its next appointment."""

    def allowed(move: str) -> bool:
        return can["discharge"] if move == "discharged" else can["change_program"]

    return [
        (
            program,
            [(move, MOVE_LABELS[move]) for move in moves_from(program) if allowed(move)],
            attendance.next_for(program),
        )
        for program in chart.programs
    ]


def book_next_panel(request: HttpRequest, chart: charts.Chart, can: dict[str, bool]) -> schedule.BookNext | None:
    """The finder's offers for the program named by `?book=` (where recording a session lands)."""
    asked = request.GET.get("book", "")
    program = next((p for p in chart.open_programs if str(p.pk) == asked and p.status in BOOKABLE), None)
    if program is None or not can["book"]:
        return None
    return schedule.book_next(program, now=timezone.now())


@staff_page
@transaction.atomic
def chart(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)  # 404 outside; the read event
    data = charts.chart(patient=patient)
    can = allowed_actions(request.user, patient)
    attendance = schedule.patient_appointments(patient=patient, now=timezone.now())
    context = {
        "patient": patient,
        "chart": data,
        "series": charts.chart_series(data),
        "can": can,
        "programs": programs_with_moves(data, can, attendance),
        "attendance": attendance,
        "book_next": book_next_panel(request, data, can),
        "reports_due": reports_due(data.programs, timezone.now()),  # the banner; one query
        "age": patient.age_on(timezone.localdate(timezone=patient.clinic.tzinfo)),
        # The latest reminders (one query, bounded): the full history is in the admin.
        "reminder_history": list(reminder_history(patient=patient)[:REMINDERS_SHOWN]),
        "nav": "patients",
    }
    clinic = current_clinic(request)
    return render_page(request, "web/chart/chart.html", context, clinic=clinic, local_to=patient.clinic)


@staff_page
@transaction.atomic
def session_log(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    rows = TrainingSession.objects.filter(patient=patient).order_by("-performed_at", "-created_at")
    page = Paginator(rows.values(*charts.SESSION_FIELDS), SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = [charts.SessionRow(values) for values in page.object_list]
    context = {"patient": patient, "page": page, "nav": "patients"}
    return render_page(
        request, "web/chart/session_log.html", context, clinic=current_clinic(request), local_to=patient.clinic
    )
