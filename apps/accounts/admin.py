from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.clinics.admin_base import ScopedAdmin

# A staff member's address is the user's own email field, edited with the user. allauth's table of
# addresses (for email verification, which staff accounts made by admins do not use) stays out of
# the admin: it would be one more list of every clinic's staff.
admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(ScopedAdmin):
    """Who has which second factor, and removing a lost one (its owner enrols anew at sign-in).

    Never the secret: allauth's own admin shows and edits the `data` field, which holds the TOTP
    secret and the recovery codes' seed, enough to clone someone's second factor. Only superusers
    reach this page (no staff role is given permissions on allauth's models).
    """

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    search_fields = ("user__username",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        # Superusers only, and 404 for anyone else: Django's admin would answer 403 for an id that
        # exists and redirect for one that does not, telling staff which ids exist.
        return queryset if request.user.is_superuser else queryset.none()

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # rules' admin mixin would fall back to the change permission, which nobody has here.
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
