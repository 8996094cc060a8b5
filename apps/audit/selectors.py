"""The audit report's filters over the trail. Which clinics a reader may see is the gate's answer
(`apps.clinics.access.report_clinic_ids`), passed in: the audit app knows no app above it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from apps.audit.models import Event


@dataclass(frozen=True)
class ReportFilters:
    patient_id: uuid.UUID | None = None
    actor_label: str = ""  # a username, `partner:<name>`, or the name tried at a failed sign-in
    clinic_id: int | None = None
    action: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def filter_events(events: QuerySet[Event], filters: ReportFilters) -> QuerySet[Event]:
    lookups = {
        "patient_id": filters.patient_id,
        "actor_label": filters.actor_label or None,
        "clinic_id": filters.clinic_id,
        "action": filters.action or None,
        "occurred_at__gte": filters.since,
        "occurred_at__lt": filters.until,
    }
    return events.filter(**{lookup: value for lookup, value in lookups.items() if value is not None})


def event_report(*, clinic_ids: frozenset[int] | None, filters: ReportFilters) -> QuerySet[Event]:
    """Events of these clinics (`None`: all) matching the filters, newest first."""
    return filter_events(Event.objects.for_clinics(clinic_ids), filters).order_by("-occurred_at", "-id")
