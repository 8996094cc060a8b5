"""The outcomes report's two CSV downloads: the report's figures, and de-identified per-program rows.

Same readers and filters as the report page (apps.outcomes.report, apps.outcomes.forms): a clinic
outside the reader's is a 404; filters that are not valid, or that leave too few programs for rows,
are a 400 with a sentence and export nothing. Every export is audited (apps.outcomes.audit).
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from apps.audit.models import Action
from apps.outcomes import audit, exports
from apps.outcomes.forms import ReportFilterForm
from apps.outcomes.report import (
    Filters,
    may_read_outcomes,
    outcome_report,
    reader_clinics,
    report_facts,
    report_zone,
)
from apps.web.pages import current_clinic, staff_page


def _filters(request: HttpRequest) -> tuple[Filters | None, tzinfo, HttpResponse | None]:
    """The query's filters and the zone their dates are read in, or the 400 that refuses them."""
    if not may_read_outcomes(request.user):
        raise Http404("No outcomes to report.")
    clinics = reader_clinics(request.user)
    form = ReportFilterForm(request.GET, clinics=clinics)
    if form.unknown_clinic():
        raise Http404("No such clinic.")
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return None, UTC, _refusal(f"The filters are not valid ({problems}). Nothing was exported.")
    filters = form.filters()
    return filters, report_zone(filters, clinics, current_clinic(request)), None


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
    filters, zone, refused = _filters(request)
    if refused is not None:
        return refused
    report = outcome_report(request.user, filters, tz=zone)
    audit.record_report(action=Action.EXPORT, actor=request.user, clinics=report.clinics, path=request.get_full_path())
    body = "".join(exports.report_lines(report))
    return _attachment(HttpResponse(body, content_type="text/csv; charset=utf-8"), "outcomes-report")


@staff_page
def export_rows(request: HttpRequest) -> HttpResponse:
    filters, zone, refused = _filters(request)
    if refused is not None:
        return refused
    facts, clinics = report_facts(request.user, filters, tz=zone)
    try:
        exports.check_exportable(facts)
    except exports.TooFewToExport as error:
        return _refusal(str(error))
    lines = exports.row_lines(facts, clinics, actor=request.user)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    return _attachment(response, "outcomes-programs-deidentified")
