"""Audit events of the outcomes report: who read or exported which clinics' figures, with which filters.

The report shows no patient, so a read of it names the clinics it covers, one event each (object
`outcomes.report`, the request path with its query string as the object id). A de-identified export
carries one row per program: each is an export event naming the program's patient, so a patient's
access history shows every file their figures left in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from apps.audit import events
from apps.audit.models import Action, Event
from apps.audit.subjects import Subject
from apps.clinics.models import Clinic

REPORT = "outcomes.report"
FACT = "outcomes.outcomefact"
_ID_LENGTH = Event._meta.get_field("object_id").max_length


def record_report(*, action: Action, actor: Any, clinics: Sequence[Clinic], path: str) -> int:
    """One event per clinic the report (or its aggregate CSV) covered."""
    object_id = path[:_ID_LENGTH]
    rows = [(object_id, Subject(clinic.organization_id, clinic.pk, None)) for clinic in clinics]
    return events.record_row_events(action=action, object_type=REPORT, rows=rows, actor=actor)


def record_rows_exported(*, actor: Any, rows: Iterable[tuple[Any, int, int, Any]]) -> int:
    """An export event per program row: (program id, organization id, clinic id, patient id)."""
    subjects = [(program, Subject(organization, clinic, patient)) for program, organization, clinic, patient in rows]
    return events.record_row_events(action=Action.EXPORT, object_type=FACT, rows=subjects, actor=actor)
