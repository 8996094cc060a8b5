"""Admin add forms of the clinical engine: programs and sessions, each saved through its service (ServiceForm).

Times are typed and shown on the wall clock of the clinic where the thing happened (apps.clinics.admin_time).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape

from apps.assessments.scoring import fmt
from apps.clinics.admin_base import ServiceForm
from apps.clinics.admin_time import clinic_time, performed_at_machine_clinic, wall_clock
from apps.clinics.models import Machine
from apps.programs import progression, services, sessions
from apps.programs.models import Program, TrainingSession

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
        performed_at_machine_clinic(cleaned)
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
