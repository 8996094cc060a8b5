"""Admin of flags: open and resolved, by the rules; resolving one is an action that calls flag_resolve.

Scoped like every page of patient data (PatientDataAdmin); nothing is added, edited or deleted here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.clinics.admin_base import PatientDataAdmin, refusal_text
from apps.clinics.admin_time import local_time
from apps.programs import flags
from apps.programs.models import Flag


class FlagStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("open", "resolved"):
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


class ResolveActionForm(helpers.ActionForm):
    resolution = forms.CharField(required=False, max_length=300, label="Resolution")


@admin.register(Flag)
class FlagAdmin(PatientDataAdmin):
    """Flags open and close by the rules; a clinical review closes a pain or load flag, a physician a red flag."""

    list_display = ["kind", "patient", "opened_local", "reason", "is_open", "resolved_local", "resolution"]
    list_filter = [FlagStateFilter, "kind"]
    list_select_related = ["patient__clinic"]
    search_fields = ["patient__family_name", "=patient__mrn"]
    list_per_page = 50
    action_form = ResolveActionForm
    actions = ["resolve"]
    fields = ["kind", "patient", "program", "opened_local", "reason", "resolved_local", "resolution"]
    readonly_fields = fields
    opened_local = local_time("opened_at", "opened", clinic_of=lambda flag: flag.patient.clinic)
    resolved_local = local_time("resolved_at", "resolved", clinic_of=lambda flag: flag.patient.clinic)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        return False

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(flags.REVIEW_PERM)

    @admin.display(description="open", boolean=True)
    def is_open(self, flag: Flag) -> bool:
        return flag.resolved_at is None

    @admin.action(description="Resolve the selected flags (say what was decided)", permissions=["resolve"])
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        resolution, resolved = request.POST.get("resolution", ""), 0
        for flag in queryset.select_related("patient"):
            try:
                flags.flag_resolve(actor=request.user, flag=flag, resolution=resolution)
            except (ValidationError, PermissionDenied) as error:
                label = f"{flag.get_kind_display()}, {flag.patient}"
                self.message_user(request, f"{label}: {refusal_text(error)}", messages.ERROR)
            else:
                resolved += 1
        if resolved:
            self.message_user(request, f"Resolved {resolved} flag(s).", messages.SUCCESS)
