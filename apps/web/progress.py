"""Progress reports for the referring physician: a patient's list, the issue page, a signed report
and its PDF.

Each page finds the patient through the gate (`patient_get`: 404 outside the user's clinics; the read
event) and the program or report among that patient's rows only, in the transaction that records
the reads. Issuing is the clinicians' (`progress.may_issue`): front desk and admins get 403 on the
issue page. A signed report shows its stored snapshot, never the records as they are now.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone

from apps.audit import events
from apps.outcomes import pdf, progress
from apps.outcomes.models import ProgressReport
from apps.patients.models import Patient
from apps.patients.selectors import patient_get
from apps.programs.models import Program
from apps.web.forms import ServiceForm
from apps.web.pages import current_clinic, render_page, staff_page


class IssueReportForm(ServiceForm):
    note = forms.CharField(
        label="Note to the referring physician",
        max_length=4000,
        widget=forms.Textarea({"rows": 6}),
        help_text="Your assessment and plan in a few sentences; it is signed with the figures above.",
        error_messages={"required": progress.NOTE_REQUIRED},
    )

    def __init__(self, *args: Any, program: Program, now: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.program, self.now = program, now

    def perform(self, actor: Any) -> ProgressReport:
        note = self.cleaned_data["note"]
        return progress.progress_report_issue(actor=actor, program=self.program, note=note, now=self.now)


def _page(request: HttpRequest, template: str, context: dict[str, Any], patient: Patient) -> HttpResponse:
    context = {"patient": patient, "nav": "patients", **context}
    return render_page(request, template, context, clinic=current_clinic(request), local_to=patient.clinic)


def _program(patient: Patient, program_id: Any) -> Program:
    programs = Program.objects.of_patient(patient).select_related("clinic", "patient", "patient__clinic")
    return get_object_or_404(programs, pk=program_id, started_at__isnull=False)


@staff_page
@transaction.atomic
def report_list(request: HttpRequest, patient_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    reports = list(progress.patient_reports(user=request.user, patient=patient))
    events.record_reads(objs=reports, actor=request.user)
    programs = list(Program.objects.of_patient(patient).filter(started_at__isnull=False).select_related("clinic"))
    context = {
        "reports": reports,
        "programs": programs,
        "due": {found.program.pk: found for found in progress.reports_due(programs, timezone.now())},
        "may_issue": progress.may_issue(request.user, patient),
    }
    return _page(request, "web/progress/list.html", context, patient)


@staff_page
@transaction.atomic
def report_new(request: HttpRequest, patient_id: Any, program_id: Any) -> HttpResponse:
    """The figures a report would sign now, and the note that issues it."""
    patient = patient_get(user=request.user, patient_id=patient_id)
    if not progress.may_issue(request.user, patient):
        raise PermissionDenied("Only the patient's clinicians issue progress reports.")
    program = _program(patient, program_id)
    now = timezone.now()
    form = IssueReportForm(request.POST or None, program=program, now=now)
    if request.method == "POST" and (report := form.submit(request.user)):
        messages.success(request, "Progress report signed.")
        return redirect("web:progress_report", patient_id=patient.pk, report_id=report.pk)
    context = {"program": program, "form": form, "content": progress.report_preview(program=program, now=now)}
    return _page(request, "web/progress/new.html", context, patient)


@staff_page
@transaction.atomic
def report_detail(request: HttpRequest, patient_id: Any, report_id: Any) -> HttpResponse:
    patient = patient_get(user=request.user, patient_id=patient_id)
    report = progress.report_get(user=request.user, patient=patient, report_id=report_id)
    context = {"report": report, "content": report.content}
    return _page(request, "web/progress/report.html", context, patient)


@staff_page
@transaction.atomic
def report_pdf(request: HttpRequest, patient_id: Any, report_id: Any) -> HttpResponse:
    """The signed report's PDF, as it was made at signing from the page's own markup and print stylesheet."""
    patient = patient_get(user=request.user, patient_id=patient_id)
    report = progress.report_get(user=request.user, patient=patient, report_id=report_id)
    response = HttpResponse(pdf.stored_or_rendered(report), content_type="application/pdf")
    name = f"progress-report-{re.sub(r'[^A-Za-z0-9-]', '-', patient.mrn)}-{report.signed_at:%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
