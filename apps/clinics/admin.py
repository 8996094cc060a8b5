from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from apps.clinics import admin_audit  # noqa: F401  (registers the audit report)
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


class StaffUserAdmin(ScopedAdmin, UserAdmin):
    """Django's user admin, scoped: a clinic admin sees the staff of the clinics they administer.

    A user outside that scope is 404, like a row of another clinic; Django's own user admin would
    answer 403 for an account that exists and redirect for one that does not, which tells a
    curious member of staff which account ids exist.
    """

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        clinic_ids = administered_clinic_ids(request.user)
        if clinic_ids is None:
            return queryset
        organization_ids = administered_organization_ids(request.user) or frozenset()
        staff = Q(memberships__clinic_id__in=clinic_ids) | Q(pk=request.user.pk)
        staff |= Q(organization_admins__organization_id__in=organization_ids)
        return queryset.filter(staff).distinct()


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffUserAdmin)
