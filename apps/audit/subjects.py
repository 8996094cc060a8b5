"""Where an audited row stands in the tenancy: the coordinates every audit event records.

A module of its own so that models (here and in every app) can name their subject without
importing the event helpers, which import the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subject:
    """The tenancy coordinates of an audited row."""

    organization_id: int | None
    clinic_id: int | None
    patient_id: Any | None
