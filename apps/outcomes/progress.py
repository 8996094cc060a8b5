"""Progress reports for the referring physician: when one is due, issuing one, reading them.

- Due: `progress_rules.report_due` over the program row and its latest report (`report_due_for`);
  the today board asks the same question of a clinic's programs in one query (`programs_due_report`).
- Issuing signs it in one step (there is no draft row): the figures are composed from the records
  with the program row locked, stored as the report's snapshot with the note and the signer's name,
  role and time, and audited as a create in the same transaction. A program's newer report points
  at the one it supersedes; the older row is never touched (`models.ProgressReport`).
- Reads go through the tenancy gate: the patient first (`patient_get`: 404 outside the caller's
  clinics), then the report among that patient's rows only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.aggregates import Count
from django.db.models.functions import Coalesce
from django.http import Http404

from apps.audit import events
from apps.clinics.access import ORGANIZATION_ADMIN, roles_by_clinic
from apps.clinics.localtime import localise
from apps.clinics.models import Role
from apps.clinics.permissions import is_clinician
from apps.outcomes import pdf, progress_rules
from apps.outcomes.models import ProgressReport
from apps.outcomes.progress_content import report_content
from apps.patients.models import Patient
from apps.patients.selectors import access_patient
from apps.programs.models import Program, ProgramStatus

logger = logging.getLogger(__name__)
RUNNING = (ProgramStatus.ACTIVE, ProgramStatus.ON_HOLD, ProgramStatus.LAPSED)
ENDED = (ProgramStatus.COMPLETED, ProgramStatus.DISCHARGED)
# The board lists an outstanding discharge report for this long after the end; the chart banner
# says so for as long as it is outstanding. Without a bound, programs that ended before reports
# existed would fill the board for good.
DISCHARGE_ON_BOARD = timedelta(days=30)
NOTE_REQUIRED = "Write the note for the referring physician: a signed report without one says nothing."
NOT_STARTED = "A program that has not started has nothing to report yet."
ROLE_LABELS = {**dict(Role.choices), ORGANIZATION_ADMIN: "Organization admin"}


# --- Due -----------------------------------------------------------------------------------------


def latest_reports(programs: Iterable[Program]) -> dict[Any, ProgressReport]:
    """Each program's latest report, in one query."""
    ids = [program.pk for program in programs]
    rows = ProgressReport._base_manager.filter(program_id__in=ids).order_by("program_id", "-signed_at", "-created_at")
    latest: dict[Any, ProgressReport] = {}
    for report in rows:
        latest.setdefault(report.program_id, report)
    return latest


def report_due_for(program: Program, last: ProgressReport | None, now: datetime) -> progress_rules.ReportDue | None:
    """Whether the program owes its physician a report at `now` (None: a draft or cancelled one never does)."""
    if program.started_at is None or program.status not in (*RUNNING, *ENDED):
        return None
    return progress_rules.report_due(
        started_at=program.started_at,
        completed_sessions=program.completed_sessions,
        last_report_at=None if last is None else last.signed_at,
        sessions_at_last_report=0 if last is None else last.sessions_completed,
        ended_at=program.ended_at if program.status in ENDED else None,
        now=now,
        tz=program.clinic.tzinfo,
    )


REASONS = {
    progress_rules.SESSIONS: f"{progress_rules.EVERY_SESSIONS} sessions since the last report",
    progress_rules.DAYS: f"{progress_rules.EVERY_DAYS} days since the last report",
    progress_rules.DISCHARGE: "the program has ended: the discharge report",
}
FIRST_REASONS = {
    progress_rules.SESSIONS: f"{progress_rules.EVERY_SESSIONS} sessions since the start",
    progress_rules.DAYS: f"{progress_rules.EVERY_DAYS} days since the start",
}


def due_text(due: progress_rules.ReportDue, first: bool) -> str:
    """Why a report is due, as the banner and the board say it: "10 sessions since the last report"."""
    texts = {**REASONS, **FIRST_REASONS} if first else REASONS
    return " and ".join(texts[reason] for reason in due.reasons)


def annotated_due(program: Program, *, now: datetime, tz: ZoneInfo) -> progress_rules.ReportDue | None:
    """`report_due_for` of a row from `programs_due_report`, from its annotations (no query)."""
    return progress_rules.report_due(
        started_at=program.started_at,
        completed_sessions=program.completed_sessions,
        last_report_at=program.report_at,
        sessions_at_last_report=program.report_sessions,
        ended_at=program.ended_at if program.status in ENDED else None,
        now=now,
        tz=tz,
    )


@dataclass(frozen=True)
class DueReport:
    program: Program
    due: progress_rules.ReportDue
    text: str  # why, as the banner says it


def reports_due(programs: list[Program], now: datetime) -> list[DueReport]:
    """The programs among these that owe a report now, with why (the chart's banner): one query."""
    latest = latest_reports(programs)
    found = []
    for program in programs:
        last = latest.get(program.pk)
        due = report_due_for(program, last, now)
        if due is not None and due.due:
            found.append(DueReport(program, due, due_text(due, first=last is None)))
    return found


def _days_ago(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """`now` minus `days` on the clinic's wall clock: a reference at or before it is `days` old."""
    return localise(now.astimezone(tz).replace(tzinfo=None) - timedelta(days=days), tz)


def programs_due_report(programs: QuerySet[Program], *, now: datetime, tz: ZoneInfo) -> QuerySet[Program]:
    """`report_due_for` as one query over one clinic's programs (`tz` is that clinic's), each row with
    `report_at` (its latest report, or None) and `due_total` (how many rows match, for the board's count).

    The same thresholds as the rule: 10 sessions since the last report, 30 wall-clock days since it (or
    the start), or an ended program without a report since its end (listed for DISCHARGE_ON_BOARD).
    """
    last = ProgressReport._base_manager.filter(program=OuterRef("pk")).order_by("-signed_at", "-created_at")
    annotated = programs.filter(started_at__isnull=False).annotate(
        report_at=Subquery(last.values("signed_at")[:1]),
        report_sessions=Coalesce(Subquery(last.values("sessions_completed")[:1]), Value(0)),
    )
    every = progress_rules.EVERY_SESSIONS
    running = Q(status__in=RUNNING) & (
        Q(completed_sessions__gte=F("report_sessions") + every)
        | Q(report_at__lte=_days_ago(now, progress_rules.EVERY_DAYS, tz))
        | Q(report_at__isnull=True, started_at__lte=_days_ago(now, progress_rules.EVERY_DAYS, tz))
    )
    ended = Q(status__in=ENDED, ended_at__lte=now, ended_at__gt=now - DISCHARGE_ON_BOARD) & (
        Q(report_at__isnull=True) | Q(report_at__lt=F("ended_at"))
    )
    return annotated.filter(running | ended).annotate(due_total=Window(Count("pk")))


# --- Issuing -------------------------------------------------------------------------------------


def may_issue(user: Any, patient: Patient) -> bool:
    """Clinical roles of the patient's clinic sign reports; front desk and admins do not."""
    return bool(is_clinician(user, patient))


def signer_role(user: Any, patient: Patient) -> str:
    if getattr(user, "is_superuser", False) and patient.clinic_id not in roles_by_clinic(user):
        return "Superuser"
    role = roles_by_clinic(user).get(patient.clinic_id, "")
    return ROLE_LABELS.get(role, role)


def _locked(program: Program) -> Program:
    # Sessions and status changes rewrite the program row under this lock; holding it while the
    # figures are read keeps the snapshot to one state, and serialises two reports of one program.
    rows = Program._base_manager.select_for_update(of=("self",)).select_related("patient", "clinic")
    return rows.get(pk=program.pk)


def period_start(program: Program, previous: ProgressReport | None) -> datetime:
    return program.started_at if previous is None else previous.signed_at


def report_preview(*, program: Program, now: datetime) -> dict[str, Any]:
    """The figures a report issued now would sign (the issue page shows them)."""
    previous = latest_reports([program]).get(program.pk)
    return report_content(program=program, now=now, period_start=period_start(program, previous))


@transaction.atomic
def progress_report_issue(*, actor: Any, program: Program, note: str, now: datetime) -> ProgressReport:
    """Sign the program's progress report as of `now`, superseding its latest one; audited."""
    access_patient(user=actor, patient_id=program.patient_id)  # 404 outside the actor's clinics
    program = _locked(program)
    if not may_issue(actor, program.patient):
        raise PermissionDenied("Only the patient's clinicians sign progress reports.")
    text = (note or "").strip()
    if not text:
        raise ValidationError({"note": NOTE_REQUIRED})
    if program.started_at is None:
        raise ValidationError(NOT_STARTED)
    previous = latest_reports([program]).get(program.pk)
    start = period_start(program, previous)
    report = ProgressReport(
        patient=program.patient,
        program=program,
        clinic=program.clinic,
        organization_id=program.patient.organization_id,
        period_start=start,
        period_end=now,
        sessions_completed=program.completed_sessions,
        content=report_content(program=program, now=now, period_start=start),
        note=text,
        signed_by=actor,
        signed_by_name=(actor.get_full_name() or actor.get_username())[:300],
        signed_by_role=signer_role(actor, program.patient),
        signed_at=now,
        supersedes=previous,
    )
    # The figures as they will read back from the database, then the PDF of exactly those: the
    # document signed is stored with them and never made again.
    report.content = json.loads(json.dumps(report.content, cls=DjangoJSONEncoder))
    report.pdf = _signed_pdf(report)
    report.save()
    events.record(action=events.Action.CREATE, obj=report, actor=actor)
    return report


def _signed_pdf(report: ProgressReport) -> bytes | None:
    try:
        return pdf.report_document(report)
    except OSError:  # WeasyPrint without Pango: the report is signed, its PDF made when first asked for
        logger.warning("progress report %s signed without its PDF: the PDF libraries are missing", report.pk)
        return None


# --- Reading -------------------------------------------------------------------------------------


def patient_reports(*, user: Any, patient: Patient) -> QuerySet[ProgressReport]:
    """A patient's reports, newest first (the patient came through the gate)."""
    rows = ProgressReport.objects.for_user(user).filter(patient=patient)
    return rows.select_related("patient", "program", "superseded_by").order_by("-signed_at", "-created_at")


def report_get(*, user: Any, patient: Patient, report_id: Any) -> ProgressReport:
    """One of this patient's reports, recorded as read: 404 for anyone else's."""
    report = patient_reports(user=user, patient=patient).filter(pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    events.record(action=events.Action.READ, obj=report, actor=user)
    return report
