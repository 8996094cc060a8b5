"""Attendance thresholds become instants: the last completed session + 7, 14 and 28 days on the clinic's
wall clock (DOMAIN.md "Scheduling"), where they were the local midnight after day 7, 14 and 28.

The new instant is never later than the old one (same day's hour, not the next midnight), so no stored
attendance state is ahead of its threshold afterwards; the periodic attendance job advances the states
that are now due on its next tick, with their flags and audit events. The arithmetic is frozen here,
as a migration's must be: `apps.programs.schedule.attendance_thresholds` computes the same instants.
"""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations

OPEN_STARTED = ("active", "on_hold", "lapsed")
FIELDS = {"overdue_at": 7, "lapse_at": 14, "detrained_at": 28}
BATCH = 1000


def _add_local_days(moment, days, tz):
    wall = moment.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def recompute_thresholds(apps, schema_editor):
    Program = apps.get_model("programs", "Program")
    programs = Program.objects.filter(status__in=OPEN_STARTED, started_at__isnull=False).select_related("clinic")
    changed, zones = [], {}
    for program in programs.order_by("pk").iterator(chunk_size=BATCH):
        tz = zones.setdefault(program.clinic.timezone, ZoneInfo(program.clinic.timezone))
        since = program.last_completed_at or program.started_at
        for field, days in FIELDS.items():
            setattr(program, field, _add_local_days(since, days, tz))
        changed.append(program)
        if len(changed) == BATCH:
            Program.objects.bulk_update(changed, list(FIELDS))
            changed = []
    Program.objects.bulk_update(changed, list(FIELDS))


class Migration(migrations.Migration):
    dependencies = [("programs", "0003_board_indexes")]

    # Backwards keeps the new instants: the old midnight rule is the bug this migration fixes.
    operations = [migrations.RunPython(recompute_thresholds, migrations.RunPython.noop, elidable=True)]
