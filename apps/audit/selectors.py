"""The audit report: which events a reader may see, filtered. The admin and any UI page share it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from apps.audit.models import Event
from apps.clinics.access import administered_clinic_ids


@dataclass(frozen=True)
class ReportFilters:
    patient_id: uuid.UUID | None = None
    actor_label: str = ""  # a username, `partner:<name>`, or the name tried at a failed sign-in
    clinic_id: int | None = None
    action: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def report_clinic_ids(user: Any) -> frozenset[int] | None:
    """Clinics whose trail this user may read: those they administer (`None`: all, a superuser).

    Clinicians and partner tokens read none. Events that name no clinic (refused attempts, failed
    sign-ins, exports) are for superusers only: nothing ties them to one clinic's administrators.
    """
    if getattr(user, "is_partner", False):
        return frozenset()
    return administered_clinic_ids(user)


def events_for_reader(user: Any) -> QuerySet[Event]:
    return Event.objects.for_clinics(report_clinic_ids(user))


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


def event_report(*, user: Any, filters: ReportFilters) -> QuerySet[Event]:
    """The reader's events matching the filters, newest first."""
    return filter_events(events_for_reader(user), filters).order_by("-occurred_at", "-id")
