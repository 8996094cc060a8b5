"""The programs app's answers to what the assessments app announces (apps.assessments.signals).

Each receiver only hands the new row to a service; the rules stay in the services.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.assessments.signals import questionnaire_recorded, strength_test_recorded
from apps.programs import services


@receiver(strength_test_recorded, sender=StrengthTest, dispatch_uid="programs.after_test")
def _strength_test_recorded(*, test: StrengthTest, actor: Any, **kwargs: Any) -> None:
    services.program_after_test(test=test, actor=actor)


@receiver(questionnaire_recorded, sender=QuestionnaireResponse, dispatch_uid="programs.after_questionnaire")
def _questionnaire_recorded(*, response: QuestionnaireResponse, actor: Any, **kwargs: Any) -> None:
    services.programs_after_questionnaire(response=response, actor=actor)
