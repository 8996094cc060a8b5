from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    CREATE = "create", "Create"
    READ = "read", "Read"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class EventQuerySet(models.QuerySet["Event"]):
    def for_clinics(self, clinic_ids: frozenset[int] | None) -> EventQuerySet:
        """Events of these clinics; `None` means every clinic (a superuser)."""
        return self if clinic_ids is None else self.filter(clinic_id__in=clinic_ids)


class Event(models.Model):
    """One read or write of patient data: who, what, where from, when. Never clinical values.

    Foreign keys carry no database constraint and never cascade: an event outlives the rows it
    names, and the table is append-only, so nothing may null or delete it later.
    """

    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=8, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, help_text="Username or partner name at the time.")
    organization = models.ForeignKey(
        "clinics.Organization", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    clinic = models.ForeignKey(
        "clinics.Clinic", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    object_type = models.CharField(max_length=64, help_text="app_label.model of the row touched.")
    object_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, help_text="admin, ui, api, fhir, task or command.")
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

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
