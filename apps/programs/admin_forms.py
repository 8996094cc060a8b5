"""Admin add forms of the clinical engine: each saves through its service (ServiceForm).

Times are typed and shown on the wall clock of the clinic where the thing happened: a clinician in
Los Angeles types 10:00 for a 10:00 session, whatever zone the server runs in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape

from apps.assessments import services as assessment_services
from apps.assessments.models import Instrument, QuestionnaireResponse, StrengthTest
from apps.assessments.scoring import NDI_SECTIONS, ODI_SECTIONS, fmt
from apps.clinics.admin_base import ServiceForm
from apps.clinics.models import Clinic, Machine
from apps.programs import progression, schedule, services, sessions
from apps.programs.models import Program, TrainingSession

# --- Clinic time -----------------------------------------------------------------------------------


def clinic_time(moment: datetime | None, clinic: Clinic) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(clinic.tzinfo)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_time(field: str, description: str, clinic_of: Callable[[Any], Clinic] | None = None) -> Callable:
    """An admin column showing `field` in the clinic's time (the row's `clinic` unless `clinic_of` says)."""

    @admin.display(description=description, ordering=field)
    def show(modeladmin: Any, obj: Any) -> str:
        return clinic_time(getattr(obj, field), clinic_of(obj) if clinic_of else obj.clinic)

    return show


def wall_clock(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` as a naive wall time in `tz`: a form shows a naive initial value as it is."""
    return timezone.localtime(moment, tz).replace(tzinfo=None)


def at_clinic(typed: datetime, tz: ZoneInfo) -> datetime:
    """A time the form read in the server's zone, read again as the clinic's wall clock."""
    return schedule.localise(timezone.make_naive(typed), tz)


# --- Training session ------------------------------------------------------------------------------


def program_label(program: Program) -> str:
    return f"{program.patient} — {program.get_region_display()}, {program.get_status_display().lower()}"


def proposal_text(program: Program, proposal: progression.Proposal | None = None) -> str:
    load, reason = (proposal.load, proposal.reason) if proposal else (program.proposed_load, program.proposal_reason)
    if load is None:
        return f"No load proposed — {reason}" if reason else ""
    return f"Proposed: {fmt(load)} {program.get_load_unit_display()} — {reason}"


def proposal_now(program: Program, machine: Machine | None) -> tuple[progression.Proposal | None, str]:
    """What a session recorded now would be proposed (after a gap: 90 %, or a retest first)."""
    if machine is None:
        return None, proposal_text(program)
    try:
        proposal = sessions.session_proposal(program=program, machine=machine, performed_at=timezone.now())
    except ValidationError as refusal:
        return None, " ".join(message for messages in refusal.message_dict.values() for message in messages)
    return proposal, proposal_text(program, proposal)


class SessionAddForm(ServiceForm):
    """One set, recorded by `session_record`; the program's proposal is the load's initial value."""

    class Meta:
        model = TrainingSession
        # Relations (program, machine) come from the admin's fieldsets, built per request: their choices
        # depend on the user, and the scoped managers cannot be queried when this module loads.
        fields = [name for name in sessions.SESSION_INPUTS if name != "machine"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("rom_min_deg", "rom_max_deg"):
            self.fields[name].required = False
            self.fields[name].help_text = "Blank: the machine's full range of motion."
        self.fields["performed_at"].help_text = "The local time of the machine's clinic."
        self.fields["program"].label_from_instance = program_label
        self.program = self._chosen_program()
        if self.program is not None:
            self._show_proposal(self.program)

    def _chosen_program(self) -> Program | None:
        """The program picked (posted) or preselected (`?program=<uuid>`), among those offered."""
        value = self.data.get("program") if self.is_bound else self.initial.get("program")
        if not value:
            return None
        try:
            return self.fields["program"].queryset.filter(pk=getattr(value, "pk", value)).first()
        except (ValidationError, ValueError):
            return None

    def _show_proposal(self, program: Program) -> None:
        machines = self.fields["machine"].queryset.filter(kind=program.machine_kind)
        self.fields["machine"].queryset = machines
        only = list(machines[:2])
        proposal, text = proposal_now(program, only[0] if only else None)
        # The admin renders help text unescaped, and a reason can quote a clinician's words.
        self.fields["load"].help_text = escape(text)
        if program.earliest_next_at:
            earliest = clinic_time(program.earliest_next_at, program.clinic)
            rest = f"Needed before {earliest} ({program.min_rest_hours} h of rest)."
            self.fields["early_reason"].help_text = escape(rest)
        if self.is_bound:
            return
        self.initial.setdefault("load", proposal.load if proposal else program.proposed_load)
        self.initial.setdefault("performed_at", wall_clock(timezone.now(), program.clinic.tzinfo))
        if len(only) == 1:
            self.initial.setdefault("machine", only[0].pk)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        machine, performed_at = cleaned.get("machine"), cleaned.get("performed_at")
        if machine is not None and performed_at is not None:
            cleaned["performed_at"] = at_clinic(performed_at, machine.clinic.tzinfo)
        return cleaned

    def perform(self, actor: Any) -> TrainingSession:
        given = {name: self.cleaned_data[name] for name in sessions.SESSION_INPUTS}
        return sessions.session_record(actor=actor, program=self.cleaned_data["program"], now=timezone.now(), **given)


# --- Program ---------------------------------------------------------------------------------------

PRESCRIPTION = [
    "sessions_per_week",
    "planned_weeks",
    "rep_min",
    "rep_max",
    "tul_min_s",
    "tul_max_s",
    "progression_step_pct",
    "min_rest_hours",
]


class ProgramAddForm(ServiceForm):
    """A draft program, made by `program_create` (baseline: the patient's latest test of 28 days)."""

    class Meta:
        model = Program
        fields = ["region", *PRESCRIPTION, "start_load", "start_load_override_reason"]  # and patient

    def perform(self, actor: Any) -> Program:
        data = self.cleaned_data
        return services.program_create(
            actor=actor,
            patient=data["patient"],
            region=data["region"],
            start_load=data["start_load"],
            start_load_override_reason=data["start_load_override_reason"],
            **{name: data[name] for name in PRESCRIPTION},
        )


# --- Strength test ---------------------------------------------------------------------------------

TEST_INPUTS = ["patient", "machine", "performed_at", "rom_min_deg", "rom_max_deg", "pain_before", "pain_after"]
POINT = re.compile(r"(\d+)\s*=\s*([-+]?\d+(?:\.\d+)?)")
POINT_EXAMPLE = "72=150, 60=180, 48=200"


def parse_points(text: str) -> list[tuple[int, Decimal]]:
    """'72=150, 60=180' (angle=torque, separated by commas, semicolons or lines) as [(72, 150), (60, 180)]."""
    entries = [entry.strip() for entry in re.split(r"[,;\n]", text) if entry.strip()]
    if not entries:
        raise ValidationError(f"Give at least one point as angle=torque, e.g. {POINT_EXAMPLE}.")
    unreadable = [entry for entry in entries if not POINT.fullmatch(entry)]
    if unreadable:
        listed = ", ".join(f"“{entry}”" for entry in unreadable)
        raise ValidationError(f"Write each point as angle=torque, e.g. {POINT_EXAMPLE}; could not read {listed}.")
    matches = (POINT.fullmatch(entry) for entry in entries)
    return [(int(match[1]), Decimal(match[2])) for match in matches if match]


class StrengthTestAddForm(ServiceForm):
    """An isometric test, recorded by `assessments.services.strength_test_record` (its signal updates the program)."""

    points = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"angle=torque in the machine's unit (ft·lbf lumbar, in·lbf cervical), e.g. {POINT_EXAMPLE}.",
    )

    class Meta:
        model = StrengthTest
        fields = [name for name in TEST_INPUTS if name not in ("patient", "machine")]  # see SessionAddForm.Meta

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["performed_at"].help_text = "The local time of the machine's clinic."

    def clean_points(self) -> list[tuple[int, Decimal]]:
        return parse_points(self.cleaned_data["points"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        machine, performed_at = cleaned.get("machine"), cleaned.get("performed_at")
        if machine is not None and performed_at is not None:
            cleaned["performed_at"] = at_clinic(performed_at, machine.clinic.tzinfo)
        return cleaned

    def perform(self, actor: Any) -> StrengthTest:
        given = {name: self.cleaned_data[name] for name in [*TEST_INPUTS, "points"]}
        return assessment_services.strength_test_record(actor=actor, **given)


# --- Questionnaire ---------------------------------------------------------------------------------

SECTIONS = [f"section_{number}" for number in range(1, len(ODI_SECTIONS) + 1)]


def _section_field(number: int, odi: str, ndi: str) -> forms.IntegerField:
    return forms.IntegerField(label=f"Section {number}", required=False, help_text=f"ODI: {odi} · NDI: {ndi}")


# Ten section fields, declared on a class so that the admin's fieldsets can name them.
SectionScores = type(
    "SectionScores",
    (forms.Form,),
    {
        name: _section_field(number, odi, ndi)
        for number, (name, odi, ndi) in enumerate(zip(SECTIONS, ODI_SECTIONS, NDI_SECTIONS, strict=True), start=1)
    },
)


class QuestionnaireAddForm(ServiceForm, SectionScores):
    """ODI or NDI (ten section scores 0-5, blank when unanswered) or pain NRS (one rating 0-10)."""

    rating = forms.IntegerField(required=False, help_text="Pain NRS only: 0 (no pain) to 10.")

    class Meta:
        model = QuestionnaireResponse
        fields = ["instrument", "completed_at"]  # and patient (see SessionAddForm.Meta)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["completed_at"].help_text = "The local time of the patient's clinic."

    @property
    def is_nrs(self) -> bool:
        return self.cleaned_data.get("instrument") == Instrument.PAIN_NRS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        sections = [cleaned.get(name) for name in SECTIONS]
        if self.is_nrs and any(score is not None for score in sections):
            self.add_error(None, "Section scores are for ODI and NDI: leave them blank for a pain rating.")
        if not self.is_nrs and cleaned.get("rating") is not None:
            self.add_error("rating", "The rating is for the pain NRS: give section scores for ODI and NDI.")
        self.answers = cleaned.get("rating") if self.is_nrs else sections
        patient, completed_at = cleaned.get("patient"), cleaned.get("completed_at")
        if patient is not None and completed_at is not None:
            cleaned["completed_at"] = at_clinic(completed_at, patient.clinic.tzinfo)
        return cleaned

    def error_field(self, key: str) -> str | None:
        if key == "answers":
            return "rating" if self.is_nrs else None
        return super().error_field(key)

    def perform(self, actor: Any) -> QuestionnaireResponse:
        data = self.cleaned_data
        return assessment_services.questionnaire_record(
            actor=actor,
            patient=data["patient"],
            instrument=data["instrument"],
            completed_at=data["completed_at"],
            answers=self.answers,
        )
