from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.clinics.admin_base import PatientDataAdmin
from apps.patients import services
from apps.patients.fields import EDITABLE_FIELDS
from apps.patients.models import Patient, RedFlagScreen, ReviewOutcome, ScreenResult


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["clinic", *EDITABLE_FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        clinic, mrn = cleaned.get("clinic"), cleaned.get("mrn")
        if clinic and mrn:
            problem = services.patient_mrn_problem(
                organization_id=clinic.organization_id, mrn=mrn, exclude_id=self.instance.pk
            )
            if problem:
                self.add_error("mrn", problem)
        stored = self.initial_patient
        if clinic and stored is not None:
            problem = services.patient_move_problem(patient=stored, clinic=clinic)
            if problem:
                self.add_error("clinic", problem)
        return cleaned

    @property
    def initial_patient(self) -> Patient | None:
        """The patient as stored (the form changes `instance` while it validates)."""
        if self.instance._state.adding:
            return None
        if not hasattr(self, "_initial_patient"):
            self._initial_patient = Patient.objects.get(pk=self.instance.pk)
        return self._initial_patient


@admin.register(Patient)
class PatientAdmin(PatientDataAdmin):
    form = PatientAdminForm
    clinic_field = "clinic"
    deleted_field = "deleted_at"
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

    def save_model(self, request: HttpRequest, obj: Patient, form: forms.ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data}
        clinic = form.cleaned_data["clinic"]
        if change:
            saved = services.patient_update(actor=request.user, patient=form.initial_patient, clinic=clinic, **fields)
        else:
            saved = services.patient_create(actor=request.user, clinic=clinic, **fields)
        obj.pk, obj.organization_id = saved.pk, saved.organization_id

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list, dict, set, list]:
        # A soft delete removes no row, so the rows that PROTECT a patient (its red-flag screens)
        # must not block it, and the confirmation lists the patients alone. Each patient still needs
        # the delete permission at its own clinic: one refusal refuses the whole action.
        objs = list(objs)
        refused = {self.opts.verbose_name} if any(not self.has_delete_permission(request, o) for o in objs) else set()
        return [str(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, refused, []

    def delete_model(self, request: HttpRequest, obj: Patient) -> None:
        services.patient_delete(actor=request.user, patient=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for patient in queryset:
            services.patient_delete(actor=request.user, patient=patient)
        messages.info(request, "Deleted patients leave every list; their records are kept.")


class RedFlagReviewForm(forms.ModelForm):
    review_outcome = forms.ChoiceField(choices=ReviewOutcome.choices)

    class Meta:
        model = RedFlagScreen
        fields = ["review_outcome", "review_note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        problem = services.screen_review_problem(screen=self.instance, outcome=cleaned.get("review_outcome", ""))
        if problem:
            self.add_error("review_outcome", problem)
        return cleaned


@admin.register(RedFlagScreen)
class RedFlagScreenAdmin(PatientDataAdmin):
    form = RedFlagReviewForm
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

    def has_change_permission(self, request: HttpRequest, obj: RedFlagScreen | None = None) -> bool:
        # The only change is a physician's review, once, of a screen that referred.
        if obj is not None and (obj.result != ScreenResult.REFER or obj.reviewed_at is not None):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: RedFlagScreen, form: forms.ModelForm, change: bool) -> None:
        services.red_flag_screen_review(
            actor=request.user,
            screen=obj,
            outcome=form.cleaned_data["review_outcome"],
            note=form.cleaned_data["review_note"],
        )
