"""Band labels: every band the scores can give reads as words, bed-bound with its hyphen (DOMAIN.md, "Scores")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.assessments import scoring
from apps.assessments.admin import BandFilter, QuestionnaireResponseAdmin
from apps.assessments.bands import BAND_LABELS, band_label
from apps.assessments.models import QuestionnaireResponse
from tests import factories


def every_band(band_of, top: int) -> set[str]:
    """The band of every score a questionnaire can give, in steps of 0.1."""
    return {band_of(Decimal(tenths) / 10) for tenths in range(top * 10 + 1)}


def test_every_odi_and_ndi_band_has_a_label_without_an_underscore():
    given = every_band(scoring.odi_band, 100) | every_band(scoring.ndi_band, 50)
    assert given == set(BAND_LABELS)
    assert all("_" not in label for label in BAND_LABELS.values())


@pytest.mark.parametrize(
    ("code", "label"),
    [("bed_bound", "bed-bound"), ("crippled", "crippled"), ("complete", "complete"), ("", ""), (None, "")],
)
def test_a_band_code_reads_as_its_label(code, label):
    assert band_label(code) == label


def test_an_unknown_code_still_shows_no_underscore():
    assert band_label("very_severe") == "very severe"


@pytest.mark.django_db
def test_the_admin_shows_and_filters_bands_by_their_labels(patient_a):
    response = factories.QuestionnaireResponseFactory(patient=patient_a, answers=[5] * 10)
    admin = QuestionnaireResponseAdmin(QuestionnaireResponse, None)
    assert admin.band_shown(response) == "bed-bound"
    assert "band" not in admin.list_display
    assert "band" not in admin.readonly_fields
    assert ("bed_bound", "bed-bound") in BandFilter.lookups(None, None, admin)
