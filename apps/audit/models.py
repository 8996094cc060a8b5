from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.audit.subjects import Subject


class Action(models.TextChoices):
    CREATE = "create", "Create"
    READ = "read", "Read"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    # Refused attempts: a 401/403/404 on a patient-data URL, and a failed sign-in.
    DENIED = "denied", "Denied"
    LOGIN_FAILED = "login_failed", "Login failed"
    # The audit report exported as CSV.
    EXPORT = "export", "Export"


class EventQuerySet(models.QuerySet["Event"]):
    def for_clinics(self, clinic_ids: frozenset[int] | None) -> EventQuerySet:
        """Events of these clinics; `None` means every clinic (a superuser)."""
        return self if clinic_ids is None else self.filter(clinic_id__in=clinic_ids)


class Event(models.Model):
    """One read or write of patient data: who, what, where from, when. Never clinical values.

    Foreign keys carry no database constraint and never cascade: an event outlives the rows it
    names, and the table is append-only, so nothing may null or delete it later.

    On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE, and another chains every new row
    to the one before (`seq`, `hash`; see `apps.audit.chain` and migration 0002). Both stay empty on
    SQLite, the embedded demo, which has no tamper evidence.
    """

    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16, choices=Action.choices)
    # No single-column indexes on the foreign keys: every index is paid for on every INSERT of this hot
    # table. The composite indexes below lead with actor, clinic and patient and serve their lookups;
    # nothing looks events up by organization alone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, help_text="Username or partner name at the time.")
    organization = models.ForeignKey(
        "clinics.Organization",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    clinic = models.ForeignKey(
        "clinics.Clinic", null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    object_type = models.CharField(max_length=64, help_text="app_label.model of the row touched.")
    object_id = models.CharField(max_length=255, help_text="The row's id, or the path of a refused request.")
    channel = models.CharField(max_length=16, help_text="admin, ui, api, fhir, task or command.")
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Set by the database, never by the application: position in the chain (1, 2, ... without gaps)
    # and SHA-256 over the previous event's hash and this event's fields.
    seq = models.BigIntegerField(null=True, unique=True, editable=False)
    hash = models.CharField(max_length=64, db_default="", editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # "Who has seen this patient's record": the chart's access list and the audit report.
            models.Index(fields=["patient", "-occurred_at"], name="audit_event_patient_idx"),
            # The audit report filtered by clinic and time range.
            models.Index(fields=["clinic", "-occurred_at"], name="audit_event_clinic_idx"),
            # The audit report filtered by user.
            models.Index(fields=["actor", "-occurred_at"], name="audit_event_actor_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
        )

    def audit_subject(self) -> Subject:
        """Reading the trail is audited too: an event names a patient, who it concerns."""
        return Subject(organization_id=self.organization_id, clinic_id=self.clinic_id, patient_id=self.patient_id)
