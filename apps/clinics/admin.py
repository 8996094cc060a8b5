from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.models import Event
from apps.clinics.access import administered_clinic_ids, administered_organization_ids, restrict
from apps.clinics.admin_base import ClinicScopedAdmin, ScopedAdmin, organization_choices
from apps.clinics.models import Clinic, Machine, Membership, Organization, OrganizationAdmin


@admin.register(Organization)
class OrganizationModelAdmin(ScopedAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return restrict(queryset, administered_organization_ids(request.user), "id")


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_field = "id"
    list_display = ["name", "organization", "timezone", "quiet_hours_start", "quiet_hours_end", "is_active"]
    list_filter = ["is_active", "organization"]
    search_fields = ["name", "city"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "is_active"]}),
        ("Contact", {"fields": ["address_line", "city", "postal_code", "country", "phone"]}),
        (
            "Patient emails",
            {"fields": ["timezone", "quiet_hours_start", "quiet_hours_end", "email_display_name", "reply_to_email"]},
        ),
    ]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = organization_choices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Clinic | None = None) -> list[str]:
        # A clinic never moves to another organization: its patients and records would follow.
        return ["organization"] if obj is not None else []


class AdministeredClinicChoices:
    """Staff and machines are assigned only to clinics the user administers."""

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        if related is Clinic:
            return restrict(Clinic.objects.all(), administered_clinic_ids(request.user), "id")
        return super().choices_for(field_name, related, request)  # type: ignore[misc]


@admin.register(Machine)
class MachineAdmin(AdministeredClinicChoices, ClinicScopedAdmin):
    list_display = ["name", "kind", "clinic", "serial_number", "load_unit", "load_increment", "is_active"]
    list_filter = ["kind", "is_active", "clinic"]
    search_fields = ["name", "serial_number"]
    list_select_related = ["clinic"]


@admin.register(Membership)
class MembershipAdmin(AdministeredClinicChoices, ClinicScopedAdmin):
    list_display = ["user", "clinic", "role", "created_at"]
    list_filter = ["role", "clinic"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    list_select_related = ["user", "clinic"]
    autocomplete_fields = ["clinic"]

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        # Staff lists are for those who manage staff: clinic and organization admins.
        return restrict(queryset, administered_clinic_ids(request.user), "clinic")


@admin.register(OrganizationAdmin)
class OrganizationAdminModelAdmin(ScopedAdmin):
    list_display = ["user", "organization", "created_at"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email"]

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return restrict(queryset, administered_organization_ids(request.user), "organization")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = organization_choices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Event)
class EventAdmin(ScopedAdmin):
    """The audit trail, read-only, for those who administer the clinics it concerns.

    Registered here rather than in apps.audit: audit knows no other app, and scoping needs the gate.
    """

    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "clinic",
        "channel",
        "ip_address",
    ]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["=object_id", "actor_label", "=request_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["clinic"]
    show_full_result_count = False

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.for_clinics(administered_clinic_ids(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return request.user.has_perm("audit.view_event")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
