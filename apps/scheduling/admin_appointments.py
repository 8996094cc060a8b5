"""Appointments in the admin: staff read them (each row shown is an audited read) and act on them.

Booking happens in the staff UI's day and week views, where the finder offers the free slots; the
admin lists, filters and shows appointments and moves them (check in, no-show, cancel) through the
services in `visits`, which apply the rules and audit the change. Nothing is edited in a form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.clinics.admin_base import PatientDataAdmin, refusal_text
from apps.clinics.admin_time import local_time
from apps.scheduling import visits
from apps.scheduling.models import Appointment


class AppointmentActionForm(helpers.ActionForm):
    cancel_reason = forms.CharField(required=False, max_length=300, label="Reason (to cancel)")


def _act(modeladmin: AppointmentAdmin, request: HttpRequest, queryset: QuerySet, move: Any, done: str) -> None:
    moved = 0
    for appointment in queryset.select_related("patient", "clinic", "program"):
        try:
            move(appointment)
            moved += 1
        except (ValidationError, PermissionDenied) as error:
            modeladmin.message_user(request, f"{appointment}: {refusal_text(error)}", messages.ERROR)
    if moved:
        modeladmin.message_user(request, f"{done}: {moved} appointment(s).", messages.SUCCESS)


@admin.action(description="Check in the selected appointments", permissions=["change"])
def check_in_selected(modeladmin: AppointmentAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _act(
        modeladmin,
        request,
        queryset,
        lambda a: visits.appointment_check_in(actor=request.user, appointment=a),
        "Checked in",
    )


@admin.action(description="Mark the selected appointments as no-shows", permissions=["change"])
def no_show_selected(modeladmin: AppointmentAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _act(
        modeladmin,
        request,
        queryset,
        lambda a: visits.appointment_no_show(actor=request.user, appointment=a),
        "No-show",
    )


@admin.action(description="Cancel the selected appointments (give a reason)", permissions=["change"])
def cancel_selected(modeladmin: AppointmentAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    reason = request.POST.get("cancel_reason", "")
    _act(
        modeladmin,
        request,
        queryset,
        lambda a: visits.appointment_cancel(actor=request.user, appointment=a, reason=reason),
        "Cancelled",
    )


@admin.register(Appointment)
class AppointmentAdmin(PatientDataAdmin):
    list_display = ["starts_local", "patient", "machine", "state", "booked_via", "cancelled_late", "clinic"]
    list_filter = ["state", "booked_via", "cancelled_late", "clinic"]
    list_select_related = ["patient", "machine", "clinic"]
    search_fields = ["patient__family_name", "=patient__mrn"]
    date_hierarchy = "starts_at"
    list_per_page = 50
    action_form = AppointmentActionForm
    actions = [check_in_selected, no_show_selected, cancel_selected]
    fieldsets = [
        (None, {"fields": ["patient", "program", "clinic", "machine", "supervisor", "state"]}),
        ("Time (clinic time)", {"fields": ["starts_local", "ends_local", "checked_in_local"]}),
        ("Booking", {"fields": ["booked_via", "booked_by", "early_reason", "created_local"]}),
        ("Cancellation", {"fields": ["cancelled_local", "cancel_reason", "cancelled_late"]}),
        ("Session", {"fields": ["session", "sequence"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)

    starts_local = local_time("starts_at", "starts")
    ends_local = local_time("ends_at", "ends")
    checked_in_local = local_time("checked_in_at", "checked in")
    created_local = local_time("created_at", "booked at")
    cancelled_local = local_time("cancelled_at", "cancelled at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # booked in the day and week views, where the finder offers free slots

    def has_change_permission(self, request: HttpRequest, obj: Appointment | None = None) -> bool:
        return obj is None and super().has_change_permission(request)  # the actions only

    def has_delete_permission(self, request: HttpRequest, obj: Appointment | None = None) -> bool:
        return False  # cancelled, never deleted: attendance counts it
