"""Forms of the staff UI whose save is one service call: patients, red-flag screens, programs.

The admin's `ServiceForm` idea (apps.clinics.admin_base), for plain views: fields check types and
ranges, then the service is called once inside a savepoint. A refusal rolls the savepoint back and
becomes form errors on the fields it names, so a bad POST writes nothing and shows why. The service
stays the one source of the rules: the forms never repeat a clinical check.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from apps.clinics.models import Clinic
from apps.patients import services as patient_services
from apps.patients.fields import EDITABLE_FIELDS
from apps.patients.models import Patient, RedFlagScreen, ReviewOutcome
from apps.patients.screening import ITEMS_BY_REGION
from apps.programs import maintenance
from apps.programs import services as program_services
from apps.programs.maintenance import program_maintain
from apps.programs.models import MAINTAIN, START, Program
from apps.programs.schedule import MAINTENANCE_DEFAULT_WEEKS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
REFUSED = "Your role at this clinic does not allow this."


class ServiceFormMixin:
    """`submit(actor)` validates, then calls `perform(actor)` once in a savepoint; returns its row or None."""

    def perform(self, actor: Any) -> Any:
        raise NotImplementedError

    def error_field(self, key: str) -> str | None:
        """The field that shows the service's error `key` (None: the form as a whole)."""
        return key if key in self.fields else None  # type: ignore[attr-defined]

    def submit(self, actor: Any) -> Any:
        if not self.is_valid():  # type: ignore[attr-defined]
            return None
        try:
            with transaction.atomic():
                return self.perform(actor)
        except ValidationError as error:
            self.add_service_errors(error)
        except PermissionDenied as error:
            self.add_error(None, str(error) or REFUSED)  # type: ignore[attr-defined]
        return None

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)  # type: ignore[attr-defined]
            return
        for key, messages in error.message_dict.items():
            self.add_error(self.error_field(key), messages)  # type: ignore[attr-defined]


class ServiceForm(ServiceFormMixin, forms.Form):
    pass


class ServiceModelForm(ServiceFormMixin, forms.ModelForm):
    """A ModelForm for its fields' labels and types only: the service, not the model, validates."""

    def _post_clean(self) -> None:
        pass


# --- Patients ------------------------------------------------------------------------------------

# Registration leaves out the date of death: it is recorded on the edit form.
REGISTRATION_FIELDS = [name for name in EDITABLE_FIELDS if name != "deceased_on"]


class PatientForm(ServiceModelForm):
    """Register a patient at the clinic the user is working in."""

    class Meta:
        model = Patient
        fields = REGISTRATION_FIELDS
        widgets = {"birth_date": DATE_INPUT}
        labels = {"height_cm": "Height (cm)", "body_mass_kg": "Body mass (kg)"}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["mrn"].widget.attrs["autocomplete"] = "off"

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def perform(self, actor: Any) -> Patient:
        return patient_services.patient_create(actor=actor, clinic=self.clinic, **self.changes())


class PatientEditForm(PatientForm):
    """Edit a patient; the home clinic can move among the user's clinics of the same organization."""

    class Meta(PatientForm.Meta):
        fields = list(EDITABLE_FIELDS)
        widgets = {"birth_date": DATE_INPUT, "deceased_on": DATE_INPUT}

    home_clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), empty_label=None, label="Home clinic")

    def __init__(self, *args: Any, clinics: QuerySet[Clinic], **kwargs: Any) -> None:
        super().__init__(*args, clinic=kwargs["instance"].clinic, **kwargs)
        self.fields["home_clinic"].queryset = clinics
        self.fields["home_clinic"].initial = self.instance.clinic_id

    def error_field(self, key: str) -> str | None:
        return "home_clinic" if key == "clinic" else super().error_field(key)

    def perform(self, actor: Any) -> Patient:
        clinic = self.cleaned_data["home_clinic"]
        return patient_services.patient_update(actor=actor, patient=self.instance, clinic=clinic, **self.changes())


# --- Red-flag screens ----------------------------------------------------------------------------

YES_NO = [("no", "No"), ("yes", "Yes")]


class RedFlagScreenForm(ServiceForm):
    """Every item of the region's screen, answered yes or no; any yes refers to a physician."""

    def __init__(self, *args: Any, patient: Patient, region: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient, self.region = patient, region
        for code, text in ITEMS_BY_REGION[region].items():
            self.fields[code] = forms.TypedChoiceField(
                label=text, choices=YES_NO, coerce=lambda answer: answer == "yes", widget=forms.RadioSelect
            )

    def error_field(self, key: str) -> str | None:
        return None if key == "answers" else super().error_field(key)

    def perform(self, actor: Any) -> RedFlagScreen:
        answers = {code: self.cleaned_data[code] for code in ITEMS_BY_REGION[self.region]}
        return patient_services.red_flag_screen_record(
            actor=actor, patient=self.patient, region=self.region, answers=answers
        )


class ScreenReviewForm(ServiceForm):
    outcome = forms.ChoiceField(choices=ReviewOutcome.choices, widget=forms.RadioSelect, label="Decision")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)

    def __init__(self, *args: Any, screen: RedFlagScreen, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.screen = screen

    def error_field(self, key: str) -> str | None:
        return "outcome" if key == "review_outcome" else super().error_field(key)

    def perform(self, actor: Any) -> RedFlagScreen:
        data = self.cleaned_data
        return patient_services.red_flag_screen_review(
            actor=actor, screen=self.screen, outcome=data["outcome"], note=data["note"]
        )


# --- Programs ------------------------------------------------------------------------------------

PRESCRIPTION = sorted(program_services.PRESCRIPTION_FIELDS)


class ProgramForm(ServiceModelForm):
    """A draft program; its start load comes from the baseline test unless one is given."""

    class Meta:
        model = Program
        fields = [
            "region",
            "sessions_per_week",
            "planned_weeks",
            "rep_min",
            "rep_max",
            "tul_min_s",
            "tul_max_s",
            "progression_step_pct",
            "min_rest_hours",
            "start_load",
            "start_load_override_reason",
        ]
        labels = {
            "tul_min_s": "Time under load, minimum (s)",
            "tul_max_s": "Time under load, maximum (s)",
            "progression_step_pct": "Progression step (%)",
            "start_load_override_reason": "Why this start load (when outside 40-80 % of the baseline peak)",
        }

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["start_load"].help_text = "Blank: 50 % of the baseline peak torque, in the machine's unit."

    def perform(self, actor: Any) -> Program:
        data = self.cleaned_data
        return program_services.program_create(
            actor=actor,
            patient=self.patient,
            region=data["region"],
            start_load=data["start_load"],
            start_load_override_reason=data["start_load_override_reason"],
            **{name: data[name] for name in PRESCRIPTION},
        )


INTERVAL_FIELD = "maintenance_interval_weeks"
INTERVAL_CHOICES = [(weeks, f"One session {label}") for weeks, label in maintenance.INTERVAL_CHOICES]


class ProgramMoveForm(ServiceForm):
    """A status move with its reason; completing into maintenance also asks for the interval."""

    reason = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    maintenance_interval_weeks = forms.TypedChoiceField(
        choices=INTERVAL_CHOICES, coerce=int, initial=MAINTENANCE_DEFAULT_WEEKS, label="Maintenance interval"
    )

    def __init__(self, *args: Any, program: Program, move: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.program, self.move = program, move
        if move != MAINTAIN:
            del self.fields[INTERVAL_FIELD]

    def error_field(self, key: str) -> str | None:
        return key if key == INTERVAL_FIELD and key in self.fields else None

    def perform(self, actor: Any) -> Program:
        if self.move == START:
            return program_services.program_start(actor=actor, program=self.program)
        reason = self.cleaned_data["reason"]
        if self.move == MAINTAIN:
            weeks = self.cleaned_data[INTERVAL_FIELD]
            return program_maintain(actor=actor, program=self.program, interval_weeks=weeks, reason=reason)
        return program_services.program_transition(actor=actor, program=self.program, status=self.move, reason=reason)
