from __future__ import annotations

from typing import Any

from django import forms

from apps.audit.models import Action
from apps.audit.selectors import ReportFilters, report_clinic_ids
from apps.clinics.access import restrict
from apps.clinics.models import Clinic


class ReportForm(forms.Form):
    """The audit report's filters, read from the query string (all optional)."""

    patient = forms.UUIDField(required=False, label="Patient id")
    actor = forms.CharField(
        required=False, max_length=150, label="User or partner", help_text="A username, or partner:<name>."
    )
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), required=False)
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    since = forms.DateTimeField(
        required=False, label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        clinics = restrict(Clinic.objects.order_by("name"), report_clinic_ids(user), "id")
        self.fields["clinic"].queryset = clinics  # type: ignore[attr-defined]

    def filters(self) -> ReportFilters | None:
        """The filters, or None when one of them is invalid (an unknown clinic, a malformed id)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return ReportFilters(
            patient_id=data["patient"],
            actor_label=data["actor"].strip(),
            clinic_id=data["clinic"].pk if data["clinic"] else None,
            action=data["action"],
            since=data["since"],
            until=data["until"],
        )
