"""Periodic program upkeep. Thin: select the rows that need work, call one service per row."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit.context import origin
from apps.programs.models import Program
from apps.programs.selectors import programs_due_for_refresh
from apps.programs.services import program_refresh

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # one program_refresh is a handful of queries: a batch takes seconds, far below the time limit
MAX_ROUNDS = 20  # at most 10,000 programs per beat tick; the next tick carries on


@shared_task(ignore_result=True)
def refresh_attendance(rounds_left: int = MAX_ROUNDS) -> int:
    """Overdue, lapsed and detrained as time passes: one batch, then re-queue while batches come back full.

    Safe to run twice or concurrently: a refreshed program leaves the selection, and program_refresh
    locks the row and changes nothing when there is nothing to change.
    """
    now = timezone.now()
    # The patient-record managers are scoped per clinic; the job works for every clinic, as SYSTEM.
    with scopes_disabled(), origin(request_id=uuid.uuid4().hex, ip_address=None, channel="task"):
        programs = programs_due_for_refresh(now=now, limit=BATCH_SIZE)
        for program in programs:
            _refresh(program, now)
    if len(programs) == BATCH_SIZE and rounds_left > 1:
        refresh_attendance.delay(rounds_left=rounds_left - 1)
    return len(programs)


def _refresh(program: Program, now: datetime) -> None:
    # One bad row must not stall every other clinic's attendance: log it and go on (it stays selected,
    # and the round limit keeps it from spinning the queue).
    try:
        program_refresh(program=program, now=now)
    except Exception:
        logger.exception("Attendance refresh failed for program %s", program.pk)
