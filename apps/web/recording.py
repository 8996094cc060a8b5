"""Recording pages: session, strength test, questionnaire, red-flag screen, program and its status.

Each page finds the patient through the gate (404 outside the user's clinics; the read event),
finds the program, machine or screen among that patient's rows only, binds its form on the wall
clock of the clinic concerned, and saves through the form's one service call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone

from apps.assessments.bands import band_label
from apps.assessments.models import Instrument
from apps.assessments.scoring import fmt
from apps.clinics.access import machines_for_user
from apps.clinics.models import Clinic, Machine
from apps.patients.models import Patient, RedFlagScreen, Region
from apps.patients.selectors import patient_get
from apps.programs import sessions
from apps.programs.models import MAINTAIN, MOVE_LABELS, Program, moves_from
from apps.programs.services import REGION_MACHINE_KIND
from apps.programs.timing import REGION_INSTRUMENT
from apps.web.forms import ProgramForm, ProgramMoveForm, RedFlagScreenForm, ScreenReviewForm
from apps.web.pages import book_next_on_chart, current_clinic, render_page, staff_page
from apps.web.recording_forms import (
    LOCAL_DATETIME,
    QuestionnaireForm,
    SessionForm,
    StrengthTestForm,
    live_score_rule,
)
from apps.web.templatetags.web import every_weeks


def _page(request: HttpRequest, template: str, context: dict[str, Any], local_to: Clinic) -> HttpResponse:
    context = {"nav": "patients", **context}
    return render_page(request, template, context, clinic=current_clinic(request), local_to=local_to)


def _to_chart(patient: Patient, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:chart", kwargs={"patient_id": patient.pk}) + anchor)


def _program(patient: Patient, program_id: Any) -> Program:
    """One of this patient's programs (the patient came through the gate): 404 for anyone else's."""
    return get_object_or_404(Program.objects.of_patient(patient).select_related("clinic"), pk=program_id)


def _open_programs(patient: Patient) -> list[Program]:
    return list(Program.objects.of_patient(patient).open().order_by("-created_at"))


def _machines(user: Any, patient: Patient) -> QuerySet[Machine]:
    """Active machines of the patient's organization at the clinics this user works in."""
    machines = machines_for_user(user).filter(is_active=True, clinic__organization_id=patient.organization_id)
    return machines.select_related("clinic").order_by("clinic__name", "kind", "name")


# --- Training session ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalShown:
    """The proposal a session at `at` would be recorded against, and whether it would be early."""

    load: Decimal | None
    unit: str
    action: str
    reason: str
    refusal: str  # why no session can be recorded now (retest required, new episode), or ""
    earliest: datetime | None
    early: bool


def proposal_shown(program: Program, machine: Machine | None, at: datetime) -> ProposalShown:
    unit, earliest = program.get_load_unit_display(), program.earliest_next_at
    early = earliest is not None and at < earliest
    if machine is None:
        return ProposalShown(None, unit, "", "", "No active machine of this kind at your clinics.", earliest, early)
    try:
        proposal = sessions.session_proposal(program=program, machine=machine, performed_at=at)
    except ValidationError as refusal:
        return ProposalShown(None, unit, "", "", " ".join(refusal.messages), earliest, early)
    return ProposalShown(proposal.load, unit, proposal.action, proposal.reason, "", earliest, early)


def session_machines(user: Any, patient: Patient, program: Program) -> QuerySet[Machine]:
    """Machines of the program's kind; those where the patient trains come first (the form's default)."""
    at_home = Case(When(clinic_id=program.clinic_id, then=Value(0)), default=Value(1))
    machines = _machines(user, patient).filter(kind=program.machine_kind)
    return machines.order_by(at_home, "clinic__name", "name")


@staff_page
@transaction.atomic
def session_new(request: HttpRequest, patient_id: Any, program_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    program = _program(patient, program_id)
    machines = session_machines(request.user, patient, program)
    with timezone.override(program.clinic.tzinfo):
        form = SessionForm(request.POST or None, program=program, machines=machines)
        if request.method == "POST" and form.submit(request.user):
            messages.success(request, "Session recorded.")
            return redirect(book_next_on_chart(program))
    machine, at = form.proposal_inputs()
    proposal = proposal_shown(program, machine, at)
    if not form.is_bound and proposal.load is not None:
        form.initial["load"] = fmt(proposal.load)  # 189, not 189.00
    context = {"patient": patient, "program": program, "form": form, "proposal": proposal}
    return _page(request, "web/record/session.html", context, program.clinic)


@staff_page
@transaction.atomic
def session_proposal(request: HttpRequest, patient_id: Any, program_id: Any) -> HttpResponse:
    """The proposal panel for the machine and time typed so far (htmx swaps it into the form)."""
    patient = patient_get(user=request.user, patient_id=patient_id)
    program = _program(patient, program_id)
    machine = session_machines(request.user, patient, program).filter(pk=_int(request.GET, "machine")).first()
    with timezone.override(program.clinic.tzinfo):
        at = _typed_moment(request.GET.get("performed_at", ""))
    context = {"program": program, "proposal": proposal_shown(program, machine, at)}
    return _page(request, "web/record/_proposal.html", context, program.clinic)


def _int(data: Any, key: str) -> int | None:
    value = data.get(key, "")
    return int(value) if value.isdigit() else None


def _typed_moment(text: str) -> datetime:
    """A datetime-local value on the active (clinic) time zone; now when it cannot be read."""
    try:
        return forms.DateTimeField(widget=LOCAL_DATETIME).clean(text)
    except ValidationError:
        return timezone.now()


# --- Strength test -------------------------------------------------------------------------------


def _test_machine(request: HttpRequest, patient: Patient, machines: QuerySet[Machine]) -> Machine | None:
    """The machine asked for (404 if it is not one of `machines`), else the open program's kind at home."""
    asked = request.POST.get("machine") or request.GET.get("machine")
    if asked:
        return get_object_or_404(machines, pk=asked if str(asked).isdigit() else None)
    programs = _open_programs(patient)
    kind = REGION_MACHINE_KIND[programs[0].region] if programs else None
    preferred = [m for m in machines if (kind is None or m.kind == kind) and m.clinic_id == patient.clinic_id]
    return preferred[0] if preferred else None


@staff_page
@transaction.atomic
def test_new(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    machines = _machines(request.user, patient)
    machine = _test_machine(request, patient, machines)
    if machine is None:
        context = {"patient": patient, "machines": machines}
        return _page(request, "web/record/test_machine.html", context, patient.clinic)
    with timezone.override(machine.clinic.tzinfo):
        form = StrengthTestForm(request.POST or None, patient=patient, machine=machine)
        if request.method == "POST" and (test := form.submit(request.user)):
            kind = "familiarisation test" if test.is_familiarization else "strength test"
            messages.success(request, f"The {kind} is recorded.")
            return _to_chart(patient, "#tests")
    context = {"patient": patient, "form": form, "machine": machine, "machines": machines}
    return _page(request, "web/record/strength_test.html", context, machine.clinic)


# --- Questionnaire -------------------------------------------------------------------------------


def _instrument(request: HttpRequest, patient: Patient) -> str:
    asked = request.GET.get("instrument", "")
    if asked in Instrument.values:
        return asked
    programs = _open_programs(patient)
    return REGION_INSTRUMENT[programs[0].region] if programs else Instrument.ODI


@staff_page
@transaction.atomic
def questionnaire_new(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    instrument = _instrument(request, patient)
    with timezone.override(patient.clinic.tzinfo):
        form = QuestionnaireForm(request.POST or None, patient=patient, instrument=instrument)
        if request.method == "POST" and (response := form.submit(request.user)):
            band = f" ({band_label(response.band)})" if response.band else ""
            messages.success(request, f"{response.get_instrument_display()} recorded: {response.score}{band}.")
            return _to_chart(patient, "#questionnaires")
    context = {
        "patient": patient,
        "form": form,
        "instrument": instrument,
        "instruments": Instrument.choices,
        "rule": None if instrument == Instrument.PAIN_NRS else live_score_rule(instrument),
    }
    return _page(request, "web/record/questionnaire.html", context, patient.clinic)


# --- Red-flag screen -----------------------------------------------------------------------------


@staff_page
@transaction.atomic
def screen_new(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    asked = request.GET.get("region", "")
    region = asked if asked in Region.values else next((p.region for p in _open_programs(patient)), Region.LUMBAR)
    form = RedFlagScreenForm(request.POST or None, patient=patient, region=region)
    if request.method == "POST" and (screen := form.submit(request.user)):
        outcome = "clear" if screen.result == "clear" else "positive: a physician must review it before training"
        messages.success(request, f"Red-flag screen recorded: {outcome}.")
        return _to_chart(patient, "#screens")
    context = {"patient": patient, "form": form, "region": region, "regions": Region.choices}
    return _page(request, "web/record/screen.html", context, patient.clinic)


@staff_page
@transaction.atomic
def screen_review(request: HttpRequest, patient_id: Any, screen_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    screen = RedFlagScreen.objects.filter(patient=patient, pk=screen_id).select_related("screened_by").first()
    if screen is None:
        raise Http404("No such screen.")
    form = ScreenReviewForm(request.POST or None, screen=screen)
    if request.method == "POST" and form.submit(request.user):
        messages.success(request, "Review recorded.")
        return _to_chart(patient, "#screens")
    context = {"patient": patient, "form": form, "screen": screen}
    return _page(request, "web/record/screen_review.html", context, patient.clinic)


# --- Programs ------------------------------------------------------------------------------------


@staff_page
@transaction.atomic
def program_new(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    form = ProgramForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.submit(request.user):
        messages.success(request, "Draft program created: start it when the patient is ready.")
        return _to_chart(patient, "#programs")
    return _page(request, "web/record/program.html", {"patient": patient, "form": form}, patient.clinic)


def _moved_message(program: Program, move: str) -> str:
    region = program.get_region_display().lower()
    if move == MAINTAIN:
        weeks = every_weeks(program.maintenance_interval_weeks)
        return f"{MOVE_LABELS[move]}: the {region} program is now in maintenance, one session {weeks}."
    return f"{MOVE_LABELS[move]}: the {region} program is updated."


@staff_page
@transaction.atomic
def program_move(request: HttpRequest, patient_id: Any, program_id: Any) -> HttpResponse:
    """Start, hold, resume, complete (or into maintenance), discharge or cancel: confirmed on its own page."""
    patient = patient_get(user=request.user, patient_id=patient_id)
    program = _program(patient, program_id)
    move = request.POST.get("move") or request.GET.get("move", "")
    if move not in moves_from(program):
        raise Http404("This program cannot make that move.")
    form = ProgramMoveForm(request.POST or None, program=program, move=move)
    if request.method == "POST" and (moved := form.submit(request.user)):
        messages.success(request, _moved_message(moved, move))
        return _to_chart(patient, "#programs")
    context = {"patient": patient, "program": program, "form": form, "move": move, "label": MOVE_LABELS[move]}
    return _page(request, "web/record/program_move.html", context, program.clinic)
