"""Admin of reminders: a read-only list with counts by state per clinic, and each patient's history.

Scoped like every page of patient data (PatientDataAdmin: 404 outside the user's clinics, every
row shown recorded as a read, rows of deleted patients hidden). The sweep and the send task write
these rows; nobody edits them here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.clinics.admin_base import PatientDataAdmin
from apps.clinics.admin_time import local_time
from apps.patients.admin import PatientAdmin
from apps.patients.models import Patient
from apps.reminders import selectors
from apps.reminders.models import Reminder, ReminderState

COUNT_DAYS = 30
HISTORY_COLUMNS = [
    "kind",
    "due_local",
    "scheduled_local",
    "state",
    "cancel_reason",
    "attempts",
    "sent_local",
    "last_error",
]


class ReminderColumns:
    due_local = local_time("due_at", "due (clinic time)")
    scheduled_local = local_time("scheduled_for", "not before (clinic time)")
    sent_local = local_time("sent_at", "sent (clinic time)")


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reminder)
class ReminderAdmin(ReminderColumns, ReadOnly, PatientDataAdmin):
    list_display = [
        "patient",
        "kind",
        "due_local",
        "scheduled_local",
        "state",
        "attempts",
        "sent_local",
        "clinic",
        "appointment",
    ]
    list_filter = ["state", "kind", "clinic"]
    search_fields = ["patient__family_name", "=patient__mrn"]
    list_select_related = ["patient", "clinic", "appointment"]
    list_per_page = 50
    fields = [
        "patient",
        "program",
        "clinic",
        "appointment",
        "booked_appointment",
        "channel",
        *HISTORY_COLUMNS,
        "message_id",
        "enqueued_at",
        "lease_until",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        counts = selectors.reminder_counts_by_clinic(user=request.user, now=timezone.now(), days=COUNT_DAYS)
        states = ReminderState.choices
        rows = [(row.clinic, [row.counts[state] for state, _ in states], row.total) for row in counts]
        context = {"reminder_count_states": states, "reminder_count_rows": rows, "reminder_count_days": COUNT_DAYS}
        return super().changelist_view(request, {**(extra_context or {}), **context})


class ReminderHistoryInline(ReminderColumns, ReadOnly, admin.TabularInline):
    model = Reminder
    fk_name = "patient"
    verbose_name_plural = "Reminder history"
    fields = HISTORY_COLUMNS
    readonly_fields = HISTORY_COLUMNS
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("clinic").order_by("-due_at", "kind")


# The patients app must not import reminders (imports point clinics ← patients ← … ← reminders), so
# the history joins the patient page from this side: the same PatientAdmin, one inline more.
class PatientWithRemindersAdmin(PatientAdmin):
    inlines = [*PatientAdmin.inlines, ReminderHistoryInline]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # A patient being registered has no reminders: no empty history (nor its formset) on the add form.
        inlines = super().get_inline_instances(request, obj)
        return inlines if obj is not None else [i for i in inlines if not isinstance(i, ReminderHistoryInline)]


admin.site.unregister(Patient)
admin.site.register(Patient, PatientWithRemindersAdmin)
