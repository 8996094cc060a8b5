"""The outcomes app's answers to what programs and assessments announce: each keeps the facts of the
programs concerned current, in the writer's transaction (`facts.fact_refresh`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.assessments.signals import questionnaire_recorded, strength_test_recorded
from apps.outcomes import facts
from apps.programs.models import Program, TrainingSession
from apps.programs.signals import program_saved


@receiver(program_saved, sender=Program, dispatch_uid="outcomes.program_saved")
def _program_saved(*, program: Program, now: datetime, session: TrainingSession | None = None, **kwargs: Any) -> None:
    if session is not None:  # the save records this session and nothing else
        facts.fact_after_session(program=program, session=session, now=now)
    else:
        facts.fact_refresh(program=program, now=now)


@receiver(strength_test_recorded, sender=StrengthTest, dispatch_uid="outcomes.after_test")
def _strength_test_recorded(*, test: StrengthTest, **kwargs: Any) -> None:
    now = timezone.now()
    for program in facts.programs_of(test.patient_id, test.region):
        facts.fact_refresh(program=program, now=now)


@receiver(questionnaire_recorded, sender=QuestionnaireResponse, dispatch_uid="outcomes.after_questionnaire")
def _questionnaire_recorded(*, response: QuestionnaireResponse, **kwargs: Any) -> None:
    now = timezone.now()
    for program in facts.programs_of(response.patient_id):
        facts.fact_refresh(program=program, now=now)
