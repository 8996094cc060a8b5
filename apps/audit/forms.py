from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.audit.models import Action
from apps.audit.selectors import ReportFilters


class ReportForm(forms.Form):
    """The audit report's filters, read from the query string (all optional)."""

    patient = forms.UUIDField(required=False, label="Patient id")
    actor = forms.CharField(
        required=False, max_length=150, label="User or partner", help_text="A username, or partner:<name>."
    )
    clinic = forms.ModelChoiceField(queryset=None, required=False)  # the reader's clinics, given at init
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    since = forms.DateTimeField(
        required=False, label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, data: Any, *, clinics: QuerySet) -> None:
        super().__init__(data)
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
