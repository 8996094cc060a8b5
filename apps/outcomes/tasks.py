"""Outcome facts upkeep. Every write keeps its program's facts current; only the figures that move with
time (weeks in the program, sessions prescribed to date, adherence) age while nothing is written.
This job brings the running programs' figures to today, oldest first, a bounded batch per round.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit.context import origin
from apps.outcomes import facts, rollups, rules
from apps.outcomes.models import OutcomeFact

STALE = timedelta(days=1)  # a running program's figures may be this old
BATCH_SIZE = 2_000  # a round computes this many programs (facts_rebuild commits every facts.BATCH)
MAX_ROUNDS = 10  # at most 20,000 programs per beat tick; the next tick carries on


@shared_task(ignore_result=True)
def catch_up_outcome_facts(rounds_left: int = MAX_ROUNDS) -> int:
    """Safe to run twice or concurrently: a program brought up to date leaves the selection, and each
    facts row is written under its program's lock."""
    now = timezone.now()
    with scopes_disabled(), origin(request_id=uuid.uuid4().hex, ip_address=None, channel="task"):
        ids = list(
            OutcomeFact._base_manager.filter(outcome_status=rules.IN_PROGRESS, as_of__lt=now - STALE)
            .order_by("as_of")
            .values_list("program_id", flat=True)[:BATCH_SIZE]
        )
        done = facts.facts_rebuild(now=now, program_ids=ids) if ids else 0
    if len(ids) == BATCH_SIZE and rounds_left > 1:
        catch_up_outcome_facts.delay(rounds_left=rounds_left - 1)
    return done


@shared_task(ignore_result=True)
def refresh_outcome_rollups() -> dict[int, int]:
    """Count the large networks' reports ahead (apps.outcomes.rollups). Safe to run twice or
    concurrently: a refresh skips an organization another one holds."""
    with scopes_disabled():
        return rollups.refresh_all(now=timezone.now())
