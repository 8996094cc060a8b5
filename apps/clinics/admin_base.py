"""What every SpineZone admin page shares: clinic scoping, 404 outside it, audited reads.

Non-superusers see, search, autocomplete and pick (in foreign-key fields) only rows of their
clinics; a row outside them is 404 on every per-object page (change, delete, history).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from rules.contrib.admin import ObjectPermissionsModelAdminMixin

from apps.audit import events
from apps.clinics.access import (
    administered_organization_ids,
    clinics_for_user,
    machines_for_user,
    restrict,
    visible_clinic_ids,
)
from apps.clinics.models import Clinic, Machine, Organization

# The clinics app's own rows come through the gate's lookups (its models know nothing of the gate);
# every other clinic-owned model answers `for_user` on its queryset.
GATE_LOOKUPS = {Clinic: clinics_for_user, Machine: machines_for_user}


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
        if related in GATE_LOOKUPS or hasattr(related._default_manager, "for_user"):
            kwargs["queryset"] = self.choices_for(db_field.name, related, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        if related in GATE_LOOKUPS:
            return GATE_LOOKUPS[related](request.user)
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

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False, **kwargs: Any) -> Any:
        if add:
            self._record_chosen_patient(request, context["adminform"].form)
        return super().render_change_form(request, context, add=add, **kwargs)

    def _record_chosen_patient(self, request: HttpRequest, form: Any) -> None:
        """An add form shown with a patient chosen (from `?patient=`, or again with its errors) shows that patient."""
        field = form.fields.get("patient")
        chosen = form.data.get("patient") if form.is_bound else form.initial.get("patient")
        if field is None or not chosen:
            return
        try:
            patient = field.queryset.filter(pk=getattr(chosen, "pk", chosen)).first()  # the field's scoped choices
        except (ValueError, ValidationError):
            return  # not an id: the form says so
        if patient is not None:
            events.record(action=events.Action.READ, obj=patient, actor=request.user)


# --- Admin add pages that save through a service ---------------------------------------------------


def refusal_text(error: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one line for an admin message."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "Your role does not allow this."


class ServiceForm(forms.ModelForm):
    """An admin add form whose save is one service call; what the service refuses is a form error.

    Django's admin validates the form, then calls `save_model`: a service refusing there would be a
    500. So the service is called as the last step of validation, in a savepoint of the transaction
    the admin opens for every add/change POST (`ModelAdmin.changeform_view`). A refusal rolls the
    savepoint back and becomes form errors (a ValidationError per field, unknown keys and a
    PermissionDenied on the form); a success IS the save, and `ServiceAdmin.save_form` hands the admin
    the row the service wrote.

    Not a dry run rolled back then repeated in `save_model`: the service would run twice, and a
    session or program saved by a colleague between the two calls would make the second call refuse
    after validation, a 500. The service is the single source of the rules, so it replaces model
    validation (`ModelForm._post_clean`) instead of following it: a model check failing after a
    successful call would leave the write committed behind an error page.
    """

    request: HttpRequest | None = None  # set on the form class by ServiceAdmin.get_form
    saved: Any = None

    def perform(self, actor: Any) -> Any:
        """Call the service with `self.cleaned_data`; return the row it wrote."""
        raise NotImplementedError

    def error_field(self, key: str) -> str | None:
        """The field that shows the service's error `key` (None: the form as a whole)."""
        return key if key in self.fields else None

    def _post_clean(self) -> None:
        if self._errors:
            return
        if self.request is None:
            raise ImproperlyConfigured("A ServiceForm comes from ServiceAdmin.get_form, which gives it the request.")
        try:
            with transaction.atomic():
                self.saved = self.perform(self.request.user)
        except ValidationError as error:
            self.add_service_errors(error)
        except PermissionDenied as error:
            self.add_error(None, refusal_text(error))

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            self.add_error(self.error_field(key), messages)


class ServiceAdmin:
    """ModelAdmin mixin: the add page is `add_form` (a ServiceForm) laid out by `add_fieldsets`.

    The service has written its rows once the form is valid, so an add page has no inlines (an
    invalid inline would re-show the page over a committed write), and `save_model` and `save_related`
    write nothing.
    """

    add_form: type[ServiceForm]
    add_fieldsets: list[tuple[str | None, dict[str, Any]]]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        form.request = request  # a new class per call (modelform_factory): nothing shared between requests
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else super().get_readonly_fields(request, obj)  # type: ignore[misc]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return [] if obj is None else super().get_inline_instances(request, obj)  # type: ignore[misc]

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if isinstance(form, ServiceForm):
            return form.saved
        return super().save_form(request, form, change)  # type: ignore[misc]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not isinstance(form, ServiceForm):
            super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if not isinstance(form, ServiceForm):
            super().save_related(request, form, formsets, change)  # type: ignore[misc]


class RecordAdmin(ServiceAdmin, PatientDataAdmin):
    """A row of a patient's record: added through its service, then read-only; never deleted here."""

    search_fields = ["patient__family_name", "=patient__mrn"]
    autocomplete_fields = ["patient"]
    list_per_page = 50

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
