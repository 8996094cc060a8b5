"""The outcomes report's two CSV downloads: the report's figures, and de-identified per-program rows.

Same readers and filters as the report page (apps.outcomes.report, apps.outcomes.forms): a clinic
outside the reader's is a 404; filters that are not valid, or that leave too few programs for rows,
are a 400 with a sentence and export nothing. Every export is audited (apps.outcomes.audit).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from apps.audit.models import Action
from apps.outcomes import audit, exports
from apps.outcomes.forms import Reading, read_report_query
from apps.outcomes.report import outcome_report, report_facts
from apps.web.pages import current_clinic, staff_page


def _reading(request: HttpRequest) -> tuple[Reading, HttpResponse | None]:
    """The query read as the page reads it, or the 400 that refuses filters that are not valid."""
    reading = read_report_query(request.user, request.GET, working=current_clinic(request))
    if reading.filters is None:
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in reading.form.errors.items())
        return reading, _refusal(f"The filters are not valid ({problems}). Nothing was exported.")
    return reading, None


def _refusal(sentence: str) -> HttpResponse:
    return HttpResponse(sentence, status=400, content_type="text/plain; charset=utf-8")


def _attachment(response: HttpResponse, name: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@staff_page
@transaction.atomic
def export_report(request: HttpRequest) -> HttpResponse:
    reading, refused = _reading(request)
    if refused is not None:
        return refused
    report = outcome_report(request.user, reading.filters, tz=reading.tz, clinics=reading.clinics)
    audit.record_report(action=Action.EXPORT, actor=request.user, clinics=report.clinics, path=request.get_full_path())
    body = "".join(exports.report_lines(report))
    return _attachment(HttpResponse(body, content_type="text/csv; charset=utf-8"), "outcomes-report")


@staff_page
def export_rows(request: HttpRequest) -> HttpResponse:
    reading, refused = _reading(request)
    if refused is not None:
        return refused
    facts, clinics = report_facts(request.user, reading.filters, tz=reading.tz, clinics=reading.clinics)
    try:
        exports.check_exportable(facts)
    except exports.TooFewToExport as error:
        return _refusal(str(error))
    lines = exports.row_lines(facts, clinics, actor=request.user)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    return _attachment(response, "outcomes-programs-deidentified")
