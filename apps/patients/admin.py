from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.clinics.admin_base import PatientDataAdmin
from apps.patients import services
from apps.patients.models import Patient, RedFlagScreen
from apps.patients.selectors import mrn_in_use
from apps.patients.services import EDITABLE_FIELDS


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["clinic", *sorted(EDITABLE_FIELDS)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        clinic, mrn = cleaned.get("clinic"), cleaned.get("mrn")
        if clinic and mrn and mrn_in_use(organization_id=clinic.organization_id, mrn=mrn, exclude_id=self.instance.pk):
            self.add_error("mrn", "This MRN is already used in the organization.")
        return cleaned


@admin.register(Patient)
class PatientAdmin(PatientDataAdmin):
    form = PatientAdminForm
    clinic_field = "clinic"
    list_display = ["family_name", "given_name", "mrn", "birth_date", "clinic", "email_reminder_consent"]
    list_filter = ["clinic", "sex", "email_reminder_consent"]
    search_fields = ["family_name", "given_name", "=mrn", "email"]
    list_select_related = ["clinic"]
    list_per_page = 50
    readonly_fields = ["organization", "email_consent_changed_at", "unsubscribed_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["clinic", "mrn", "given_name", "family_name", "birth_date", "sex"]}),
        ("Body", {"fields": ["height_cm", "body_mass_kg"]}),
        (
            "Contact and reminders",
            {
                "fields": [
                    "email",
                    "phone",
                    "preferred_language",
                    "email_reminder_consent",
                    "email_consent_changed_at",
                    "unsubscribed_at",
                ]
            },
        ),
        ("Status", {"fields": ["deceased_on", "organization", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).not_deleted()

    def save_model(self, request: HttpRequest, obj: Patient, form: forms.ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data}
        clinic = form.cleaned_data["clinic"]
        if change:
            fresh = Patient.objects.get(pk=obj.pk)  # the row as stored: the form already changed `obj`
            saved = services.patient_update(actor=request.user, patient=fresh, clinic=clinic, **fields)
        else:
            saved = services.patient_create(actor=request.user, clinic=clinic, **fields)
        obj.pk, obj.organization_id = saved.pk, saved.organization_id

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list, dict, set, list]:
        # A soft delete removes no row, so the rows that PROTECT a patient (its red-flag screens)
        # must not block it, and the confirmation lists the patients alone.
        objs = list(objs)
        return [str(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request: HttpRequest, obj: Patient) -> None:
        services.patient_delete(actor=request.user, patient=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for patient in queryset:
            services.patient_delete(actor=request.user, patient=patient)
        messages.info(request, "Deleted patients are kept and can be restored by an administrator.")


@admin.register(RedFlagScreen)
class RedFlagScreenAdmin(PatientDataAdmin):
    list_display = ["patient", "region", "result", "screened_at", "screened_by", "review_outcome"]
    list_filter = ["result", "region", "review_outcome"]
    search_fields = ["patient__family_name", "=patient__mrn"]
    list_select_related = ["patient", "screened_by"]
    autocomplete_fields = ["patient"]
    readonly_fields = [
        "result",
        "patient",
        "clinic",
        "region",
        "answers",
        "screened_by",
        "screened_at",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [*readonly_fields, "review_outcome", "review_note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Screens are recorded item by item in the staff UI, where the form lists every question.
        return False

    def save_model(self, request: HttpRequest, obj: RedFlagScreen, form: forms.ModelForm, change: bool) -> None:
        fresh = RedFlagScreen.objects.select_related("patient").get(pk=obj.pk)
        services.red_flag_review_record(
            actor=request.user,
            screen=fresh,
            outcome=form.cleaned_data["review_outcome"],
            note=form.cleaned_data["review_note"],
        )
