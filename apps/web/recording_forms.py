"""Forms that record at the machine: a training session, a strength test, a questionnaire.

Times are typed on the wall clock of the clinic (the view activates its time zone while the form
is bound, validated and rendered), so a trainer in Chicago types 10:00 for a 10:00 session.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from apps.assessments import scoring
from apps.assessments import services as assessment_services
from apps.assessments.bands import band_label
from apps.assessments.models import Instrument, QuestionnaireResponse, StrengthTest
from apps.clinics.models import Machine
from apps.patients.models import Patient
from apps.programs import sessions
from apps.programs.models import Program, SessionStatus, TrainingSession
from apps.web.forms import ServiceForm

LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
NUMBER = {"inputmode": "numeric"}


def pain_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=10, widget=forms.NumberInput(attrs=NUMBER))


def moment_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, widget=LOCAL_DATETIME, initial=timezone.now)


def machine_label(machine: Machine) -> str:
    return f"{machine.name} · {machine.clinic.name} (serial {machine.serial_number})"


# --- Training session ----------------------------------------------------------------------------


class SessionForm(ServiceForm):
    """One set to momentary failure, recorded by `session_record` against the proposal in force."""

    machine = forms.ModelChoiceField(queryset=Machine.objects.none(), empty_label=None)
    performed_at = moment_field("Performed at (clinic time)")
    status = forms.ChoiceField(choices=SessionStatus.choices, initial=SessionStatus.COMPLETED)
    load = forms.DecimalField(min_value=0, max_digits=7, decimal_places=2)
    override_reason = forms.CharField(
        max_length=300, required=False, label="Why a load other than the proposal", widget=forms.Textarea({"rows": 2})
    )
    reps = forms.IntegerField(min_value=0, max_value=50, widget=forms.NumberInput(attrs=NUMBER))
    time_under_load_s = forms.IntegerField(
        label="Time under load (s)", min_value=0, max_value=300, widget=forms.NumberInput(attrs=NUMBER)
    )
    reached_failure = forms.BooleanField(required=False, initial=True, label="Reached momentary failure")
    rom_min_deg = forms.IntegerField(label="ROM from (°)", min_value=0, required=False)
    rom_max_deg = forms.IntegerField(label="ROM to (°)", min_value=0, required=False)
    pain_before = pain_field("Pain before (0-10)")
    pain_after = pain_field("Pain after (0-10)")
    early_reason = forms.CharField(
        max_length=300, required=False, label="Why before the rest window ends", widget=forms.Textarea({"rows": 2})
    )
    adverse_event = forms.BooleanField(required=False, label="Adverse event")
    adverse_event_note = forms.CharField(max_length=500, required=False, label="What happened")
    red_flag_reported = forms.BooleanField(required=False, label="New red-flag symptoms reported (stops training)")

    def __init__(self, *args: Any, program: Program, machines: QuerySet[Machine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.program = program
        self.fields["machine"].queryset = machines
        self.fields["machine"].label_from_instance = machine_label
        self.default_machine = next(iter(machines), None)
        if self.default_machine is not None:
            self.fields["machine"].initial = self.default_machine.pk
            self._fit_to(self.default_machine)

    def _fit_to(self, machine: Machine) -> None:
        """Input hints from the machine (the service checks the same limits)."""
        self.fields["load"].label = f"Load ({machine.get_load_unit_display()})"
        self.fields["load"].widget.attrs.update(step=machine.load_increment, max=machine.max_load, inputmode="decimal")
        for name in ("rom_min_deg", "rom_max_deg"):
            self.fields[name].widget.attrs.update(min=machine.rom_min_deg, max=machine.rom_max_deg)
            self.fields[
                name
            ].help_text = f"Blank: the machine's full range ({machine.rom_min_deg}-{machine.rom_max_deg}°)."

    def proposal_inputs(self) -> tuple[Machine | None, datetime]:
        """The machine and time the proposal panel shows: what was posted if it was valid, else the defaults."""
        posted = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return posted.get("machine") or self.default_machine, posted.get("performed_at") or timezone.now()

    def perform(self, actor: Any) -> TrainingSession:
        given = {name: self.cleaned_data[name] for name in sessions.SESSION_INPUTS}
        return sessions.session_record(actor=actor, program=self.program, now=timezone.now(), **given)


# --- Strength test -------------------------------------------------------------------------------


def angle_field_name(angle: int) -> str:
    return f"torque_{angle}"


class StrengthTestForm(ServiceForm):
    """Torque at each of the machine's standard angles; an angle left blank was not reached."""

    performed_at = moment_field("Performed at (clinic time)")
    rom_min_deg = forms.IntegerField(label="ROM reached: flexion end (°)", min_value=0)
    rom_max_deg = forms.IntegerField(label="ROM reached: extension end (°)", min_value=0)
    pain_before = pain_field("Pain before (0-10)")
    pain_after = pain_field("Pain after (0-10)")

    def __init__(self, *args: Any, patient: Patient, machine: Machine, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient, self.machine = patient, machine
        self.fields["pain_before"].required = self.fields["pain_after"].required = False
        self.fields["rom_min_deg"].initial, self.fields["rom_max_deg"].initial = (
            machine.rom_min_deg,
            machine.rom_max_deg,
        )
        unit = machine.get_load_unit_display()
        for angle in machine.test_angles:
            self.fields[angle_field_name(angle)] = forms.DecimalField(
                label=f"{angle}°",
                help_text=unit,
                required=False,
                min_value=0,
                max_digits=8,
                decimal_places=2,
                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any", "data-angle": angle}),
            )

    def angle_fields(self) -> list[forms.BoundField]:
        return [self[angle_field_name(angle)] for angle in self.machine.test_angles]

    def points(self) -> list[tuple[int, Decimal]]:
        values = ((angle, self.cleaned_data.get(angle_field_name(angle))) for angle in self.machine.test_angles)
        return [(angle, torque) for angle, torque in values if torque is not None]

    def perform(self, actor: Any) -> StrengthTest:
        data = self.cleaned_data
        return assessment_services.strength_test_record(
            actor=actor,
            patient=self.patient,
            machine=self.machine,
            performed_at=data["performed_at"],
            rom_min_deg=data["rom_min_deg"],
            rom_max_deg=data["rom_max_deg"],
            points=self.points(),
            pain_before=data["pain_before"],
            pain_after=data["pain_after"],
        )


# --- Questionnaires ------------------------------------------------------------------------------

SECTION_TITLES = {Instrument.ODI: scoring.ODI_SECTIONS, Instrument.NDI: scoring.NDI_SECTIONS}
SECTION_CHOICES = [("", "Not answered"), *((str(score), str(score)) for score in range(6))]
RATING_CHOICES = [(str(rating), str(rating)) for rating in range(11)]


def section_field_name(number: int) -> str:
    return f"section_{number}"


def live_score_rule(instrument: str) -> dict[str, Any]:
    """The constants `static/web/forms.js` scores with, taken from apps.assessments.scoring, with
    each band as its label: the browser shows the band, it never sees a code."""
    _, highest = scoring.SCORE_RANGES[instrument]
    if instrument == Instrument.ODI:
        bands, top = scoring.ODI_BANDS, scoring.odi_band(highest)
    else:
        bands, top = scoring.NDI_BANDS, scoring.ndi_band(highest)
    return {
        "instrument": instrument,
        "minAnswered": scoring.MIN_ANSWERED,
        "bands": [[limit, band_label(name)] for limit, name in bands],
        "topBand": band_label(top),
    }


class QuestionnaireForm(ServiceForm):
    """ODI or NDI section by section (0-5, or not answered), or a pain rating 0-10."""

    completed_at = moment_field("Completed at (clinic time)")

    def __init__(self, *args: Any, patient: Patient, instrument: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient, self.instrument = patient, instrument
        if instrument == Instrument.PAIN_NRS:
            self.fields["rating"] = forms.TypedChoiceField(
                label="Pain now (0 = no pain, 10 = worst imaginable)",
                choices=RATING_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
            )
            return
        for number, title in enumerate(SECTION_TITLES[instrument], start=1):
            self.fields[section_field_name(number)] = forms.TypedChoiceField(
                label=f"{number}. {title.capitalize()}",
                choices=SECTION_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )

    def section_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("section_")]

    def answers(self) -> list[int | None] | int:
        if self.instrument == Instrument.PAIN_NRS:
            return self.cleaned_data["rating"]
        return [self.cleaned_data[name] for name in self.fields if name.startswith("section_")]

    def error_field(self, key: str) -> str | None:
        if key == "answers":
            return "rating" if self.instrument == Instrument.PAIN_NRS else None
        return super().error_field(key)

    def perform(self, actor: Any) -> QuestionnaireResponse:
        return assessment_services.questionnaire_record(
            actor=actor,
            patient=self.patient,
            instrument=self.instrument,
            answers=self.answers(),
            completed_at=self.cleaned_data["completed_at"],
        )
