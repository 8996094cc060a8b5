"""Reads of a patient's assessments.

Every function takes a patient the caller already got through the gate
(`apps.patients.selectors.access_patient`); the scoped managers are the second wall.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db.models import Max, QuerySet, prefetch_related_objects

from apps.assessments import scoring
from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestQuerySet
from apps.assessments.scoring import Improvement, StrengthComparison
from apps.patients.models import Patient

FIRST = ("performed_at", "created_at")
LAST = ("-performed_at", "-created_at")


def _tests(patient: Patient, region: str) -> StrengthTestQuerySet:
    return StrengthTest.objects.of_patient(patient).filter(region=region)


def _responses(patient: Patient, instrument: str) -> QuerySet[QuestionnaireResponse]:
    return QuestionnaireResponse.objects.of_patient(patient).filter(instrument=instrument)


def baseline_test(*, patient: Patient, region: str) -> StrengthTest | None:
    """The first test after familiarisation, with its points."""
    return _tests(patient, region).baselines().order_by(*FIRST).prefetch_related("points").first()


def latest_test(*, patient: Patient, region: str) -> StrengthTest | None:
    """The most recent test, familiarisation included, with its points."""
    return _tests(patient, region).order_by(*LAST).prefetch_related("points").first()


def tests_since(*, patient: Patient, region: str, since: datetime) -> QuerySet[StrengthTest]:
    """Tests performed at or after `since`, newest first (the model's order), with their points."""
    return _tests(patient, region).filter(performed_at__gte=since).order_by(*LAST).prefetch_related("points")


def strength_progress(*, patient: Patient, region: str) -> StrengthComparison | None:
    """The latest test against the baseline, over the angles both share; None until there is a retest.

    A familiarisation test is never compared: it measures learning the machine, not strength.
    """
    tests = _tests(patient, region).baselines()
    baseline, latest = tests.order_by(*FIRST).first(), tests.order_by(*LAST).first()
    if baseline is None or latest is None or latest.pk == baseline.pk:
        return None
    prefetch_related_objects([baseline, latest], "points")
    return scoring.compare_tests(baseline.curve(), latest.curve())


def baseline_response(*, patient: Patient, instrument: str) -> QuestionnaireResponse | None:
    return _responses(patient, instrument).order_by("completed_at", "created_at").first()


def latest_response(*, patient: Patient, instrument: str) -> QuestionnaireResponse | None:
    return _responses(patient, instrument).order_by("-completed_at", "-created_at").first()


def score_progress(*, patient: Patient, instrument: str) -> Improvement | None:
    """Change from the first response to the latest, with clinically important improvement; None until two."""
    baseline = baseline_response(patient=patient, instrument=instrument)
    latest = latest_response(patient=patient, instrument=instrument)
    if baseline is None or latest is None or latest.pk == baseline.pk:
        return None
    return scoring.improvement(instrument, baseline.score, latest.score)


def last_response_at(*, patient: Patient, instrument_in: Collection[str]) -> datetime | None:
    responses = QuestionnaireResponse.objects.of_patient(patient).filter(instrument__in=list(instrument_in))
    return responses.aggregate(last=Max("completed_at"))["last"]
