"""`manage.py reminders_due --dry-run`: what the reminder sweep would send now, changing nothing.

The dry run is the real sweep inside a transaction that is rolled back: it cannot disagree with what
beat's next tick would do. Its row locks and inserts live only until the rollback (a concurrent sweep
waits for it briefly), and nothing reaches the broker: it runs the sweep service alone, which never
enqueues (the tick's enqueueing is the task's, and happens only on commit).
Without --dry-run it runs one sweep for real, like a beat tick (cron in setups without beat).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit.context import origin
from apps.clinics.admin_time import clinic_time
from apps.reminders import rules, services, tasks
from apps.reminders.models import Reminder


class RolledBack(Exception):
    pass


class Command(BaseCommand):
    help = "Show the reminders the sweep would send now (--dry-run changes nothing), or run one sweep."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print what would be sent now; change nothing")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        now = timezone.now()
        with scopes_disabled(), origin(request_id=uuid.uuid4().hex, ip_address=None, channel="command"):
            if dry_run:
                self.dry_run(now)
            else:
                result = tasks.sweep_and_enqueue(now=now)
                self.summary(result, "Swept")

    def dry_run(self, now: Any) -> None:
        try:
            with transaction.atomic():
                result = services.reminders_sweep(now=now)
                rows = list(Reminder.objects.filter(pk__in=result.enqueued).select_related("clinic"))
                raise RolledBack
        except RolledBack:
            pass
        rows.sort(key=lambda row: (row.scheduled_for, str(row.pk)))
        for row in rows:
            self.stdout.write(self.line(row, now))
        self.summary(result, "Dry run, nothing changed:")

    def line(self, row: Reminder, now: Any) -> str:
        clinic = row.clinic
        quiet = rules.next_allowed_send(now, clinic.tzinfo, clinic.quiet_hours_start, clinic.quiet_hours_end) > now
        note = "  (quiet hours now: would wait)" if quiet else ""
        return (
            f"{row.pk}  {row.kind:<17}  {clinic.name}  due {clinic_time(row.due_at, clinic)}"
            f"  not before {clinic_time(row.scheduled_for, clinic)}  patient {row.patient_id}{note}"
        )

    def summary(self, result: services.SweepResult, heading: str) -> None:
        self.stdout.write(
            f"{heading} {len(result.enqueued)} to send, {result.materialised} new due, "
            f"{result.cancelled} cancelled, {result.recovered} recovered from lost workers."
        )
