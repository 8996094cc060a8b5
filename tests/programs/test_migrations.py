"""Data migrations of programs, run on a copy of the demo data."""

from __future__ import annotations

import importlib
from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.clinics.localtime import localise
from apps.programs import schedule, tasks
from apps.programs.models import Program

THRESHOLDS = importlib.import_module("apps.programs.migrations.0004_attendance_thresholds_as_instants")
FIELDS = {"overdue_at": schedule.OVERDUE, "lapse_at": schedule.LAPSED, "detrained_at": schedule.DETRAINED}


def old_midnight_rule(since: datetime, days: int, tz) -> datetime:
    """What 0003 stored: the first instant of local day `days + 1` after the last session."""
    return localise(datetime.combine(since.astimezone(tz).date() + timedelta(days=days + 1), time(0)), tz)


def state_apps(migration: str):
    return MigrationExecutor(connection).loader.project_state(("programs", migration)).apps


@pytest.fixture
def demo_with_old_thresholds(db):
    call_command("seed_demo", stdout=StringIO())
    # As the data stood at 0003: no program was in maintenance yet (0005 adds the phase).
    Program.objects.filter(phase="maintenance").update(phase="training", maintenance_started_at=None)
    programs = list(Program.objects.filter(started_at__isnull=False).select_related("clinic"))
    for program in programs:
        since = program.last_completed_at or program.started_at
        for field, days in THRESHOLDS.FIELDS.items():
            setattr(program, field, old_midnight_rule(since, days, program.clinic.tzinfo))
    Program.objects.bulk_update(programs, list(FIELDS))
    return programs


def test_it_moves_every_open_programs_thresholds_to_the_instants_of_the_rule(demo_with_old_thresholds):
    ended = {
        p.pk: (p.overdue_at, p.lapse_at) for p in demo_with_old_thresholds if p.status not in THRESHOLDS.OPEN_STARTED
    }

    THRESHOLDS.recompute_thresholds(state_apps("0004_attendance_thresholds_as_instants"), None)

    open_ones = Program.objects.filter(status__in=THRESHOLDS.OPEN_STARTED).select_related("clinic")
    assert open_ones.count() >= 30
    for program in open_ones:
        since = program.last_completed_at or program.started_at
        expected = schedule.attendance_thresholds(since, program.clinic.tzinfo)
        assert {field: getattr(program, field) for field in FIELDS} == {f: expected[s] for f, s in FIELDS.items()}
        assert (
            program.overdue_at.astimezone(program.clinic.tzinfo).time()
            == since.astimezone(program.clinic.tzinfo).time()
        )
    for pk, thresholds in ended.items():  # an ended program keeps what it had
        assert Program.objects.filter(pk=pk).values_list("overdue_at", "lapse_at").get() == thresholds


def test_after_it_the_attendance_job_brings_each_state_to_what_the_rule_says(demo_with_old_thresholds):
    THRESHOLDS.recompute_thresholds(state_apps("0004_attendance_thresholds_as_instants"), None)
    now = timezone.now()

    assert tasks.refresh_attendance(rounds_left=1) < tasks.BATCH_SIZE  # one batch holds them all

    for program in Program.objects.filter(status__in=("active", "lapsed")).select_related("clinic"):
        since = program.last_completed_at or program.started_at
        assert program.attendance == schedule.attendance_state(since, now, program.clinic.tzinfo), program.pk


def test_running_it_twice_changes_nothing(demo_with_old_thresholds):
    apps = state_apps("0004_attendance_thresholds_as_instants")
    THRESHOLDS.recompute_thresholds(apps, None)
    first = list(Program.objects.order_by("pk").values_list("pk", *FIELDS))

    THRESHOLDS.recompute_thresholds(apps, None)

    assert list(Program.objects.order_by("pk").values_list("pk", *FIELDS)) == first
