"""Partners and their tokens, for superusers and the admins of the partner's organization.

A token is issued through a form that shows its plaintext once, in a message; the hash is never shown.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.clinics.access import administered_organization_ids, restrict
from apps.clinics.admin_base import ScopedAdmin, ServiceAdmin, ServiceForm, organization_choices, refusal_text
from apps.clinics.models import Clinic
from apps.partners.models import Partner, PartnerToken, TokenScope
from apps.partners.services import partner_token_issue, partner_token_revoke


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ["organization", "name", "contact_email", "clinics", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        organization, clinics = data.get("organization"), data.get("clinics")
        if organization is not None and clinics is not None:
            foreign = [clinic.name for clinic in clinics if clinic.organization_id != organization.pk]
            if foreign:
                self.add_error("clinics", f"Not clinics of {organization}: {', '.join(foreign)}.")
        return data


@admin.register(Partner)
class PartnerAdmin(ScopedAdmin):
    form = PartnerForm
    list_display = ["name", "organization", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact_email"]
    filter_horizontal = ["clinics"]

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return restrict(queryset, administered_organization_ids(request.user), "organization")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = organization_choices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "clinics":
            kwargs["queryset"] = restrict(
                Clinic.objects.select_related("organization"),
                administered_organization_ids(request.user),
                "organization",
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TokenIssueForm(ServiceForm):
    days = forms.IntegerField(min_value=1, max_value=3 * 365, initial=365, help_text="Days until it expires.")

    class Meta:
        model = PartnerToken
        fields = ["partner", "name", "scope"]

    def perform(self, actor: Any) -> PartnerToken:
        token, self.plaintext = partner_token_issue(
            actor=actor,
            partner=self.cleaned_data["partner"],
            name=self.cleaned_data["name"],
            scope=self.cleaned_data["scope"],
            expires_at=timezone.now() + timedelta(days=self.cleaned_data["days"]),
        )
        return token


@admin.register(PartnerToken)
class PartnerTokenAdmin(ServiceAdmin, ScopedAdmin):
    add_form = TokenIssueForm
    add_fieldsets = [(None, {"fields": ["partner", "name", "scope", "days"]})]
    list_display = ["name", "partner", "prefix", "scope", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["scope"]
    list_select_related = ["partner"]
    search_fields = ["name", "prefix", "partner__name"]
    # The hash is never displayed, not even read-only.
    fields = ["partner", "name", "scope", "prefix", "created_at", "created_by", "expires_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return restrict(queryset, administered_organization_ids(request.user), "partner__organization")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "partner":
            kwargs["queryset"] = Partner.objects.for_user(request.user).filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "scope":
            kwargs["choices"] = TokenScope.choices
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def response_add(self, request: HttpRequest, obj: PartnerToken, post_url_continue: str | None = None) -> Any:
        form_plaintext = getattr(request, "_issued_token", None)
        if form_plaintext:
            self.message_user(
                request,
                f"Token issued: {form_plaintext} . Copy it now: it is shown only once and cannot be recovered.",
                messages.WARNING,
            )
        return super().response_add(request, obj, post_url_continue)

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if isinstance(form, TokenIssueForm):
            request._issued_token = form.plaintext  # type: ignore[attr-defined]
        return super().save_form(request, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: PartnerToken | None = None) -> bool:
        return False  # revoke instead: the row stays for the audit trail

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerToken]) -> None:
        revoked = 0
        for token in queryset.select_related("partner"):
            try:
                partner_token_revoke(actor=request.user, token=token)
                revoked += 1
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, refusal_text(error), messages.ERROR)
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
