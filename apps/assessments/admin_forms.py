"""Admin add forms of assessments: each saves through its service (ServiceForm).

The services announce the new row (apps.assessments.signals), so the patient's program follows
without this app knowing programs. Times are typed on the clinic's wall clock (apps.clinics.admin_time).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.assessments import services
from apps.assessments.models import Instrument, QuestionnaireResponse, StrengthTest
from apps.assessments.scoring import NDI_SECTIONS, ODI_SECTIONS
from apps.clinics.admin_base import ServiceForm
from apps.clinics.admin_time import at_clinic, performed_at_machine_clinic

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
    """An isometric test, recorded by `strength_test_record` (its signal updates the program)."""

    points = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"angle=torque in the machine's unit (ft·lbf lumbar, in·lbf cervical), e.g. {POINT_EXAMPLE}.",
    )

    class Meta:
        model = StrengthTest
        # Relations (patient, machine) come from the admin's fieldsets, built per request: their choices
        # depend on the user, and the scoped managers cannot be queried when this module loads.
        fields = [name for name in TEST_INPUTS if name not in ("patient", "machine")]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["performed_at"].help_text = "The local time of the machine's clinic."

    def clean_points(self) -> list[tuple[int, Decimal]]:
        return parse_points(self.cleaned_data["points"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        performed_at_machine_clinic(cleaned)
        return cleaned

    def perform(self, actor: Any) -> StrengthTest:
        given = {name: self.cleaned_data[name] for name in [*TEST_INPUTS, "points"]}
        return services.strength_test_record(actor=actor, **given)


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
        fields = ["instrument", "completed_at"]  # and patient (see StrengthTestAddForm.Meta)

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
        return services.questionnaire_record(
            actor=actor,
            patient=data["patient"],
            instrument=data["instrument"],
            completed_at=data["completed_at"],
            answers=self.answers,
        )
