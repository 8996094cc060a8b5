"""The audit report: read-only, scoped to the clinics the reader administers, exportable as CSV.

It lives with the gate rather than in apps.audit, which every app uses and which therefore knows
none of them: the trail is scoped like any clinic-owned row (a clinic admin sees their clinics'
events, 404 outside them), so the report is built on the gate's admin base. Registered by
`apps/clinics/admin.py`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from apps.audit import events
from apps.audit.exports import csv_response
from apps.audit.forms import ReportForm
from apps.audit.models import Action, Event
from apps.audit.selectors import event_report, filter_events
from apps.clinics.access import report_clinic_ids, restrict
from apps.clinics.admin_base import ScopedAdmin
from apps.clinics.models import Clinic

REPORT_PARAMS = frozenset(ReportForm.base_fields)


class ReportChangeList(ChangeList):
    """The changelist filtered by the report form, whose fields are not model lookups."""

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        lookups = super().get_filters_params(params)
        return {name: value for name, value in lookups.items() if name not in REPORT_PARAMS}

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        events_shown = super().get_queryset(request, exclude_parameters)
        filters = self.model_admin.report_form(request).filters()
        return events_shown.none() if filters is None else filter_events(events_shown, filters)


@admin.register(Event)
class EventAdmin(ScopedAdmin):
    change_list_template = "admin/audit/event/report.html"
    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "channel",
        "object_type",
        "object_id",
        "clinic_id",
        "patient_id",
        "ip_address",
    ]
    list_per_page = 100
    show_full_result_count = False  # a COUNT(*) over the whole trail on every page view
    ordering = ["-occurred_at", "-id"]
    readonly_fields = [field.name for field in Event._meta.fields]

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.for_clinics(report_clinic_ids(request.user))

    def report_form(self, request: HttpRequest) -> ReportForm:
        clinics = restrict(Clinic.objects.order_by("name"), report_clinic_ids(request.user), "id")
        return ReportForm(request.GET, clinics=clinics)

    # Clinic admins, organization admins and superusers read it (apps.clinics.permissions); nobody writes it.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("audit.view_event")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ReportChangeList

    # The trail names patients: every event shown is itself recorded as read, like a patient's row.
    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        event = super().get_object(request, object_id, from_field)
        events.record(action=Action.READ, obj=event, actor=request.user)
        return event

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        export = reverse("admin:audit_event_export")
        context = {
            "report_form": self.report_form(request),
            "export_url": f"{export}?{request.GET.urlencode()}" if request.GET else export,
            **(extra_context or {}),
        }
        response = super().changelist_view(request, context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            shown = [event for event in changelist.result_list if event.patient_id]
            events.record_reads(objs=shown, actor=request.user)
        return response

    def get_urls(self) -> list[URLPattern]:
        export = path("export.csv", self.admin_site.admin_view(self.export_view), name="audit_event_export")
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = self.report_form(request).filters()
        if filters is None:
            return HttpResponseBadRequest("A filter of the audit report is invalid; correct it on the report page.")
        # Recorded before the first byte leaves: a client that stops reading has still exported.
        events.record_export(actor=request.user, path=request.get_full_path())
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        return csv_response(
            event_report(clinic_ids=report_clinic_ids(request.user), filters=filters), f"audit-events-{stamp}.csv"
        )
