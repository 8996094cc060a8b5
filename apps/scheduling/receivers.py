"""The scheduling app's answers to what the programs app announces (apps.programs.signals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from apps.programs.models import Program, ProgramStatus
from apps.programs.signals import program_status_changed
from apps.scheduling import visits

# A program that stops training frees the machines its future appointments hold. A lapsed program
# keeps them: its patient is booked to come back.
FREES_MACHINES = frozenset(
    {ProgramStatus.ON_HOLD, ProgramStatus.COMPLETED, ProgramStatus.DISCHARGED, ProgramStatus.CANCELLED}
)


@receiver(program_status_changed, sender=Program, dispatch_uid="scheduling.after_program_status")
def _program_status_changed(*, program: Program, actor: Any, now: datetime, **kwargs: Any) -> None:
    if program.status in FREES_MACHINES:
        visits.cancel_for_program(program=program, actor=actor, now=now)
