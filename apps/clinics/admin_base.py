"""What every SpineZone admin page shares: clinic scoping, 404 outside it, audited reads.

Non-superusers see, search, autocomplete and pick (in foreign-key fields) only rows of their
clinics; a row outside them is 404 on every per-object page (change, delete, history).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from rules.contrib.admin import ObjectPermissionsModelAdminMixin

from apps.audit import events
from apps.clinics.access import administered_organization_ids, restrict, visible_clinic_ids
from apps.clinics.models import Organization


def holds_patient_data(obj: Any) -> bool:
    subject = getattr(obj, "audit_subject", None)
    return subject is not None and subject().patient_id is not None


class AuditedAutocompleteView(AutocompleteJsonView):
    """Autocomplete answers show patients' names: each one shown is recorded as a read."""

    def get_context_data(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(*args, **kwargs)
        shown = list(context["object_list"])
        context["object_list"] = shown
        events.record_reads(objs=[obj for obj in shown if holds_patient_data(obj)], actor=self.request.user)
        return context


class SpineZoneAdminSite(admin.AdminSite):
    site_header = "SpineZone administration"
    site_title = "SpineZone"
    index_title = "Clinic configuration and records"

    def autocomplete_view(self, request: HttpRequest) -> Any:
        return AuditedAutocompleteView.as_view(admin_site=self)(request)


def _scoped_list_filter(model: Any, entry: Any) -> Any:
    """A related-field filter named by its path offers only values found in the rows in scope.

    Django's default related filter lists every row of the related model: every clinic of every
    organization would be named in the sidebar of a clinic-scoped list.
    """
    if isinstance(entry, str) and get_fields_from_path(model, entry)[-1].is_relation:
        return (entry, admin.RelatedOnlyFieldListFilter)
    return entry


def _users_for(user: Any) -> QuerySet:
    """Users a staff member may pick: colleagues at their clinics.

    Accounts not yet assigned anywhere belong to no clinic, so only an organization admin (who
    onboards staff) is offered them; a clinic admin never sees usernames beyond their clinics.
    """
    users = get_user_model().objects.filter(is_active=True)
    clinic_ids = visible_clinic_ids(user)
    if clinic_ids is None:
        return users
    offered = Q(memberships__clinic_id__in=clinic_ids)
    if administered_organization_ids(user):
        offered |= Q(memberships__isnull=True, organization_admins__isnull=True, is_superuser=False)
    return users.filter(offered).distinct()


def organization_choices(user: Any) -> QuerySet:
    return restrict(Organization.objects.all(), administered_organization_ids(user), "id")


class ScopedAdmin(ObjectPermissionsModelAdminMixin, admin.ModelAdmin):
    """Rows come from `scope()`; a row outside it is 404 (Django's admin would redirect)."""

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope(request, super().get_queryset(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such record in your clinics.")
        return obj

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [_scoped_list_filter(self.model, entry) for entry in super().get_list_filter(request)]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.remote_field.model is get_user_model():
            kwargs["queryset"] = _users_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ClinicScopedAdmin(ScopedAdmin):
    clinic_field = "clinic"  # path from this model to the Clinic that owns the row

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return restrict(queryset, visible_clinic_ids(request.user), self.clinic_field)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.remote_field.model
        if hasattr(related._default_manager, "for_user"):
            kwargs["queryset"] = self.choices_for(db_field.name, related, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        return related._default_manager.for_user(request.user)


class PatientDataAdmin(ClinicScopedAdmin):
    """Admin of rows holding patient data: every row shown is recorded as a read.

    Rows of a soft-deleted patient leave the admin with the patient.
    """

    clinic_field = "patient__clinic"
    deleted_field = "patient__deleted_at"

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return super().scope(request, queryset).filter(**{f"{self.deleted_field}__isnull": True})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        events.record(action=events.Action.READ, obj=obj, actor=request.user)
        return obj

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            events.record_reads(objs=changelist.result_list, actor=request.user)
        return response
