"""Admin of assessments: strength tests and questionnaires.

Scoped by clinic like every page of patient data (RecordAdmin: 404 outside the user's clinics,
every row shown recorded as a read, rows of deleted patients hidden). Rows are written by the
services only: the add pages are ServiceForms, a recorded row is read-only, nothing is deleted here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from apps.assessments.admin_forms import SECTIONS, QuestionnaireAddForm, StrengthTestAddForm
from apps.assessments.bands import BAND_LABELS, band_label
from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.assessments.scoring import NDI_SECTIONS, ODI_SECTIONS, fmt
from apps.clinics.access import machines_for_user
from apps.clinics.admin_base import RecordAdmin
from apps.clinics.admin_time import local_time
from apps.clinics.models import Machine


@admin.register(StrengthTest)
class StrengthTestAdmin(RecordAdmin):
    add_form = StrengthTestAddForm
    add_fieldsets = [
        (None, {"fields": ["patient", "machine", "performed_at"]}),
        ("Range of motion reached and pain", {"fields": ["rom_min_deg", "rom_max_deg", "pain_before", "pain_after"]}),
        ("Torque per angle", {"fields": ["points"]}),
    ]
    list_display = [
        "patient",
        "region",
        "performed_local",
        "is_familiarization",
        "machine",
        "peak_torque_nm",
        "strength_index_nm_deg",
    ]
    list_filter = ["region", "is_familiarization"]
    list_select_related = ["patient", "clinic", "machine__clinic"]
    fieldsets = [
        (None, {"fields": ["patient", "region", "performed_local", "is_familiarization", "machine", "recorded_by"]}),
        ("Result", {"fields": ["rom", "pain_before", "pain_after", "peak_torque_nm", "strength_index_nm_deg"]}),
        ("Torque per angle", {"fields": ["points_table"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    performed_local = local_time("performed_at", "performed (clinic time)")

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        if related is Machine:
            return machines_for_user(request.user).filter(is_active=True).select_related("clinic")
        return super().choices_for(field_name, related, request)

    @admin.display(description="range of motion reached")
    def rom(self, test: StrengthTest) -> str:
        return f"{test.rom_min_deg}-{test.rom_max_deg}°"

    @admin.display(description="points")
    def points_table(self, test: StrengthTest) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}°</td><td>{} {}</td><td>{} N·m</td></tr>",
            ((p.angle_deg, fmt(p.torque), p.get_unit_display(), fmt(p.torque_nm)) for p in test.points.all()),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            "Angle",
            "Torque as captured",
            "Torque (N·m)",
            rows,
        )


class BandFilter(admin.SimpleListFilter):
    """Bands by their labels: the stored code (bed_bound) is not for reading."""

    title = "band"
    parameter_name = "band"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(BAND_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(band=self.value()) if self.value() else queryset


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(RecordAdmin):
    add_form = QuestionnaireAddForm
    add_fieldsets = [
        (None, {"fields": ["patient", "instrument", "completed_at"]}),
        ("ODI or NDI: section scores 0-5, blank when not answered", {"fields": SECTIONS}),
        ("Pain NRS", {"fields": ["rating"]}),
    ]
    list_display = ["patient", "instrument", "completed_local", "score", "percent", "band_shown", "answered"]
    list_filter = ["instrument", BandFilter]
    list_select_related = ["patient", "clinic"]
    fieldsets = [
        (None, {"fields": ["patient", "instrument", "completed_local", "clinic", "recorded_by"]}),
        ("Score", {"fields": ["score", "percent", "band_shown", "answered", "answers_table"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    completed_local = local_time("completed_at", "completed (clinic time)")

    @admin.display(description="band", ordering="band")
    def band_shown(self, response: QuestionnaireResponse) -> str:
        return band_label(response.band) or "—"

    @admin.display(description="answers")
    def answers_table(self, response: QuestionnaireResponse) -> str:
        titles = {"odi": ODI_SECTIONS, "ndi": NDI_SECTIONS}.get(response.instrument, ("rating",))
        rows = (
            (title, "—" if answer is None else answer) for title, answer in zip(titles, response.answers, strict=True)
        )
        return format_html("<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows))
