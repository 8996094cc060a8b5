"""DiagnosticReport: a signed progress report for the referring physician, with its PDF as presentedForm."""

from __future__ import annotations

import base64
import hashlib

from apps.fhir import codes
from apps.fhir.resources.base import Json, checked, compact, concept, iso, reference
from apps.outcomes.models import ProgressReport
from apps.outcomes.pdf import stored_or_rendered

REPORT_STATUS = ("registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled")


def pdf_attachment(pdf: bytes, title: str, created: str | None) -> Json:
    """An Attachment holding the PDF itself, with its size and SHA-1 (R4's Attachment.hash)."""
    return {
        "contentType": "application/pdf",
        "language": "en",
        "data": base64.b64encode(pdf).decode("ascii"),
        "size": len(pdf),
        "hash": base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()).decode("ascii"),
        "title": title,
        "creation": created,
    }


def diagnostic_report_resource(report: ProgressReport) -> Json:
    """The signed report: final, for the patient, based on the program's CarePlan, over its period.

    A later report of the program supersedes it: that one names it in `extension`
    (`codes.SUPERSEDES_EXTENSION`), and both stay final, as they were signed. The clinician's note is
    the conclusion; the figures are in the PDF, the document stored at signing.
    """
    signed = iso(report.signed_at)
    title = f"Progress report {report.signed_at:%Y-%m-%d}"
    supersedes = (
        [{"url": codes.SUPERSEDES_EXTENSION, "valueReference": reference("DiagnosticReport", report.supersedes_id)}]
        if report.supersedes_id
        else None
    )
    return compact(
        {
            "resourceType": "DiagnosticReport",
            "id": str(report.pk),
            "meta": {"lastUpdated": signed},
            "extension": supersedes,
            "basedOn": [reference("CarePlan", report.program_id)],
            "status": checked("final", REPORT_STATUS, "DiagnosticReport.status"),
            "category": [concept(codes.DIAGNOSTIC_SERVICE_SECTION, "PHY", "Physician")],
            "code": concept(codes.LOINC, codes.PROGRESS_NOTE, codes.PROGRESS_NOTE_DISPLAY, text="Progress report"),
            "subject": reference("Patient", report.patient_id),
            "effectivePeriod": {"start": iso(report.period_start), "end": iso(report.period_end)},
            "issued": signed,
            "performer": [{"display": f"{report.signed_by_name} ({report.signed_by_role})"}],
            "conclusion": report.note,
            "presentedForm": [pdf_attachment(stored_or_rendered(report), f"{title}.pdf", signed)],
        }
    )
