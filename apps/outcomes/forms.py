"""The report's filters as a form: one reading of the query string for the page, its exports and the API.

Bound to `request.GET`. A value the form cannot mean (an unknown status, a date that is no date,
`since` after `until`) is a field error: the page shows it, the API answers 400 with it, an export
refuses. A clinic outside the reader's is not among the choices; the views make it a 404 before the
form sees it (`unknown_clinic`), so a probe cannot tell another clinic from no clinic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from django import forms
from django.http import Http404

from apps.clinics.models import Clinic
from apps.outcomes.models import OUTCOME_CHOICES
from apps.outcomes.report import AGE_BANDS, ENDED, STARTED, Filters, reader_clinics, report_zone
from apps.patients.models import Region, Sex

ANY = [("", "Any")]
PERIOD_CHOICES = [(STARTED, "Program start"), (ENDED, "Program end")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportFilterForm(forms.Form):
    clinic = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Clinic")
    region = forms.ChoiceField(required=False, choices=ANY + list(Region.choices))
    period = forms.ChoiceField(required=False, choices=PERIOD_CHOICES, label="Period of")
    since = forms.DateField(required=False, widget=DATE_INPUT, label="From")
    until = forms.DateField(required=False, widget=DATE_INPUT, label="To", help_text="Both dates included.")
    status = forms.ChoiceField(required=False, choices=ANY + OUTCOME_CHOICES, label="Outcome")
    age_band = forms.ChoiceField(required=False, choices=ANY + [(band, band) for band in AGE_BANDS], label="Age")
    sex = forms.ChoiceField(required=False, choices=ANY + list(Sex.choices))

    def __init__(self, data: Any, *, clinics: list[Clinic], **kwargs: Any):
        super().__init__(data, **kwargs)
        self.fields["clinic"].choices = [("", "All my clinics" if len(clinics) > 1 else "My clinic")] + [
            (clinic.pk, clinic.name) for clinic in clinics
        ]
        self.clinic_ids = {clinic.pk for clinic in clinics}

    def unknown_clinic(self) -> bool:
        """Whether the query names a clinic that is not among the reader's (a 404, not a form error)."""
        value = self.data.get("clinic") or ""
        return bool(value) and not (value.isdigit() and int(value) in self.clinic_ids)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the period must not be before its start.")
        return cleaned

    def filters(self) -> Filters:
        """The valid form's Filters (call after is_valid())."""
        values = {name: value or None for name, value in self.cleaned_data.items()}
        values["period"] = values["period"] or STARTED
        return Filters(**values)


@dataclass(frozen=True)
class Reading:
    """A staff request's reading of the report's query: the reader's clinics, the bound form, and the
    filters with the zone their dates are local to (None while the form has errors)."""

    clinics: list[Clinic]
    form: ReportFilterForm
    filters: Filters | None
    tz: tzinfo


def read_report_query(user: Any, data: Any, *, working: Clinic | None) -> Reading:
    """The opening steps of the report page and its exports: 404 when the user reads no outcomes or
    the query names a clinic not theirs; otherwise the form, valid or not."""
    clinics = reader_clinics(user)
    if not clinics:
        raise Http404("No outcomes to report.")
    form = ReportFilterForm(data, clinics=clinics)
    if form.unknown_clinic():
        raise Http404("No such clinic.")
    if not form.is_valid():
        return Reading(clinics, form, None, UTC)
    filters = form.filters()
    return Reading(clinics, form, filters, report_zone(filters, clinics, working))
