"""Periodic appointment upkeep. Thin: the service selects and changes the rows."""

from __future__ import annotations

import uuid

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit.context import origin
from apps.scheduling.visits import mark_no_shows


@shared_task(ignore_result=True)
def mark_no_show_appointments() -> int:
    """Booked appointments not checked in by start + grace become no-shows (safe to run twice at once)."""
    with scopes_disabled(), origin(request_id=uuid.uuid4().hex, ip_address=None, channel="task"):
        return mark_no_shows(now=timezone.now())
