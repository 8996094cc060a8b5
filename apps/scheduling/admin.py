"""The clinic calendar settings in the admin: a clinic admin edits their clinics' hours, closures and numbers.

Every member of staff of the clinic may read them; a calendar of another clinic is 404. Every write
goes through `services` (audited); overlapping ranges of one weekday are a form error.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from rules.contrib.admin import ObjectPermissionsTabularInline

from apps.clinics.access import administered_clinic_ids, restrict
from apps.clinics.admin_base import ClinicScopedAdmin, ServiceAdmin, ServiceForm
from apps.clinics.models import Clinic
from apps.scheduling import services
from apps.scheduling.models import ClinicCalendar, Closure, OpeningHours, overlap_problems

SETTINGS = ["slot_minutes", "booking_horizon_days", "late_cancel_hours", "no_show_grace_minutes", "supervisor_capacity"]


class OpeningHoursFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        ranges = [
            (form.cleaned_data["weekday"], form.cleaned_data["opens_at"], form.cleaned_data["closes_at"])
            for form in self.forms
            if form.is_valid() and form.cleaned_data and not self._should_delete_form(form)
        ]
        problems = overlap_problems(ranges)
        if problems:
            raise ValidationError(problems)


class CalendarRowInline(ObjectPermissionsTabularInline):
    """Rows of a calendar: may be added where the calendar itself may be changed."""

    extra = 1

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        codename = f"{self.opts.app_label}.add_{self.opts.model_name}"
        return obj is not None and request.user.has_perm(codename, obj)


class OpeningHoursInline(CalendarRowInline):
    model = OpeningHours
    formset = OpeningHoursFormSet
    fields = ["weekday", "opens_at", "closes_at"]


class ClosureInline(CalendarRowInline):
    model = Closure
    fields = ["date", "reason"]


class CalendarAddForm(ServiceForm):
    class Meta:
        model = ClinicCalendar
        fields = ["clinic", *SETTINGS]

    def perform(self, actor: Any) -> ClinicCalendar:
        data = self.cleaned_data
        return services.calendar_create(actor=actor, clinic=data["clinic"], **{name: data[name] for name in SETTINGS})


@admin.register(ClinicCalendar)
class ClinicCalendarAdmin(ServiceAdmin, ClinicScopedAdmin):
    list_display = ["clinic", *SETTINGS, "updated_at"]
    list_select_related = ["clinic"]
    search_fields = ["clinic__name"]
    fields = ["clinic", *SETTINGS]
    inlines = [OpeningHoursInline, ClosureInline]
    add_form = CalendarAddForm
    add_fieldsets = [(None, {"fields": ["clinic", *SETTINGS]})]

    def get_readonly_fields(self, request: HttpRequest, obj: ClinicCalendar | None = None) -> Any:
        return () if obj is None else ("clinic",)  # a calendar never moves to another clinic

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        if related is Clinic:  # the clinics this user administers that have no calendar yet
            unset = Clinic.objects.filter(calendar__isnull=True)
            return restrict(unset, administered_clinic_ids(request.user), "id")
        return super().choices_for(field_name, related, request)

    def save_model(self, request: HttpRequest, obj: ClinicCalendar, form: Any, change: bool) -> None:
        if isinstance(form, ServiceForm) or not form.changed_data:
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.calendar_update(actor=request.user, calendar=obj, **changes)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        saved = formset.save(commit=False)  # collects the deleted rows too, without deleting them
        if saved or formset.deleted_objects:
            services.calendar_rows_save(
                actor=request.user, calendar=form.instance, saved=saved, deleted=formset.deleted_objects
            )

    def delete_model(self, request: HttpRequest, obj: ClinicCalendar) -> None:
        services.calendar_delete(actor=request.user, calendar=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for calendar in queryset.select_related("clinic"):
            services.calendar_delete(actor=request.user, calendar=calendar)

    def response_add(self, request: HttpRequest, obj: ClinicCalendar, post_url_continue: str | None = None) -> Any:
        if IS_POPUP_VAR in request.POST or "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request, f"{obj} opens Monday to Friday, 08:00-18:00, until you change the hours here.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:scheduling_cliniccalendar_change", args=[obj.pk]))


from apps.scheduling import admin_appointments  # noqa: E402,F401  (registers the appointment admin)
