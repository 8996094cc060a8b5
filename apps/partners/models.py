from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.audit.subjects import Subject

TOKEN_LIFETIME = timedelta(days=365)


class PartnerQuerySet(models.QuerySet["Partner"]):
    def for_user(self, user: Any) -> PartnerQuerySet:
        from apps.clinics.access import administered_organization_ids, restrict

        return restrict(self, administered_organization_ids(user), "organization")


class Partner(models.Model):
    """A partner system (an EHR, billing, an outcome registry): one API identity of an organization."""

    organization = models.ForeignKey("clinics.Organization", on_delete=models.PROTECT, related_name="partners")
    name = models.CharField(max_length=100, help_text="Shown in the audit trail as partner:<name>.")
    contact_email = models.EmailField(help_text="Who to tell when a token expires or is revoked.")
    clinics = models.ManyToManyField(
        "clinics.Clinic", related_name="partners", blank=True, help_text="The clinics whose data it may use."
    )
    is_active = models.BooleanField(default=True, help_text="Untick to refuse every token of this partner.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PartnerQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="partner_name_unique_in_organization"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.organization_id, clinic_id=None, patient_id=None)


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


def default_expiry() -> Any:
    return timezone.now() + TOKEN_LIFETIME


class PartnerTokenQuerySet(models.QuerySet["PartnerToken"]):
    def for_user(self, user: Any) -> PartnerTokenQuerySet:
        from apps.clinics.access import administered_organization_ids, restrict

        return restrict(self, administered_organization_ids(user), "partner__organization")


class PartnerToken(models.Model):
    """A bearer token of a partner. Only a hash of it is stored: a database dump yields no usable token.

    The token is `sz_<prefix>_<secret>`. The prefix finds the row (and names the token in logs);
    the secret is 32 random bytes, so the token is a SHA-256 preimage problem of 256 bits: a fast
    hash is safe here, unlike for passwords, which are short and guessable and need a slow one.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'EHR production'.")
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the whole token, hex.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    expires_at = models.DateTimeField(default=default_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PartnerTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="token_expires_later"),
            models.CheckConstraint(condition=~Q(secret_hash=""), name="token_hash_required"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (sz_{self.prefix}_…)"

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.partner.organization_id, clinic_id=None, patient_id=None)

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE

    def refusal(self, now: Any) -> str | None:
        """Why this token cannot be used right now, or None."""
        if self.revoked_at is not None:
            return "This token has been revoked."
        if self.expires_at <= now:
            return "This token has expired."
        if not self.partner.is_active:
            return "This partner has been deactivated."
        return None
