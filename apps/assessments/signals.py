"""What the assessments app announces to the apps above it, which it cannot import.

Sent inside the recording transaction, after the row is written and before its audit event: a
receiver that locks rows (apps.programs locks the patient's open program) takes its locks before
the transaction's first audit event, the lock order every writer keeps (see apps.programs.services).
"""

from __future__ import annotations

from django.dispatch import Signal

# test: the StrengthTest just written; actor: who recorded it.
strength_test_recorded = Signal()
# response: the QuestionnaireResponse just written; actor: who recorded it.
questionnaire_recorded = Signal()
