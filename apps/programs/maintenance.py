"""Completing a program into maintenance (DOMAIN.md "Maintenance").

The same program row goes on at one session every 1-4 weeks: its loads, flags and sessions stay one
record, each session stores the phase it belonged to, and the progression rule keeps working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.assessments import selectors as assessment_selectors
from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError
from apps.programs import flags, schedule
from apps.programs.models import MAINTAIN, IllegalTransition, Phase, Program, moves_from
from apps.programs.services import gate, lock, save_audited
from apps.programs.timing import (
    attendance_since,
    retest_due_in_maintenance,
    set_due_dates,
    set_next_due,
    set_thresholds,
)

NOT_READY = "Only an active training program with a completed session can complete into maintenance."


def every_weeks(weeks: int) -> str:
    """A maintenance interval as staff say it: every week, every 2 weeks."""
    return "every week" if weeks == 1 else f"every {weeks} weeks"


# The intervals a form offers, from the rule's own range.
INTERVAL_CHOICES = [
    (weeks, every_weeks(weeks)) for weeks in range(schedule.MAINTENANCE_WEEKS[0], schedule.MAINTENANCE_WEEKS[1] + 1)
]


def _interval(value: object) -> int:
    low, high = schedule.MAINTENANCE_WEEKS
    try:
        return check.whole_number(value, "maintenance_interval_weeks", low, high)
    except RuleArgumentError:
        raise ValidationError({"maintenance_interval_weeks": f"Choose one session every {low}-{high} weeks."}) from None


def _last_tested_at(program: Program) -> datetime | None:
    test = assessment_selectors.latest_test(patient=program.patient, region=program.region)
    return test.performed_at if test and not test.is_familiarization else None


def _follow_attendance(program: Program, now: datetime, actor: Any) -> None:
    """The maintenance clock starts later than the training one: flags it no longer bears are resolved."""
    kept = flags.ATTENDANCE_FLAGS[program.attendance]
    gone = [kind for kind in flags.ATTENDANCE_KINDS if kind not in kept]
    done = "Moved to maintenance."
    flags.flags_resolve(program=program, kinds=gone, at=now, resolution=done, actor=actor)
    flags.attendance_flags(program=program, state=program.attendance, at=now, actor=actor)


@transaction.atomic
def program_maintain(
    *,
    actor: Any,
    program: Program,
    interval_weeks: object = schedule.MAINTENANCE_DEFAULT_WEEKS,
    reason: str = "",
    now: datetime | None = None,
) -> Program:
    """Complete the training phase into maintenance: next due = the last completed session + the interval."""
    gate(actor, program.patient, "programs.change_program", program)
    now = now or timezone.now()
    lock(program)
    if MAINTAIN not in moves_from(program):
        raise IllegalTransition({"status": NOT_READY})
    weeks = _interval(interval_weeks)
    program.phase, program.maintenance_interval_weeks, program.maintenance_started_at = Phase.MAINTENANCE, weeks, now
    program.status_reason = reason.strip()[:300] or f"Training completed: maintenance {every_weeks(weeks)}."
    set_next_due(program, program.last_completed_at)
    set_thresholds(program)
    set_due_dates(program, now)
    program.retest_due_at = retest_due_in_maintenance(program, _last_tested_at(program))
    program.attendance = schedule.attendance_state(attendance_since(program), now, program.clinic.tzinfo)
    save_audited(program, actor, now=now)
    _follow_attendance(program, now, actor)
    return program
