"""The outcomes report as CSV, and the de-identified per-program rows behind it.

The report CSV holds the figures the page shows, in one long table (section, group, measure and the
figure's n, median and quartiles or rate and 95 % interval); a group too small shows "too few" and
no n. The rows CSV is one line per program with no name, MRN, date of birth, contact or id: a row
number and a code that is random per export (rows of two exports cannot be joined), ages in 5-year
bands, months instead of dates. Fewer than MIN_GROUP programs: no rows at all (`TooFewToExport`).
Both are audited: the report per clinic, the rows per program, each chunk before it leaves.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from apps.audit.context import current_origin, origin
from apps.clinics.models import Clinic
from apps.outcomes import audit, stats
from apps.outcomes.aggregates import Figure, Group, Share
from apps.outcomes.models import OutcomeFact
from apps.outcomes.report import Report

CHUNK = 2000  # program rows per query, audit insert and piece of the response
FEWER = f"fewer than {stats.MIN_GROUP}"
PERCENT = Decimal("0.1")
REPORT_COLUMNS = ("section", "group", "measure", "n", "median", "q1", "q3", "rate_pct", "ci_low_pct", "ci_high_pct")
ROW_COLUMNS = (
    *("row", "export_code", "clinic", "region", "sex", "age_band", "start_month", "end_month"),
    *("outcome_status", "program_status", "weeks_in_program", "sessions_completed", "sessions_prescribed"),
    *("adherence_pct", "sessions_per_week_done", "strength_baseline", "strength_latest", "strength_change_pct"),
    *("prom_instrument", "prom_baseline", "prom_latest", "prom_change", "prom_important"),
    *("nrs_baseline", "nrs_latest", "nrs_change", "nrs_important", "dropout_week"),
)
DESCRIBED = ROW_COLUMNS[3:6]  # region, sex, age band: then the two months
FACT_COLUMNS = ROW_COLUMNS[8:]


class TooFewToExport(ValueError):
    """The filters leave fewer than MIN_GROUP programs: their rows could single a patient out."""


class _Line:
    def write(self, value: str) -> str:
        return value


def _writer() -> Any:
    return csv.writer(_Line(), lineterminator="\r\n")


def _round(value: Decimal, places: Decimal = PERCENT) -> str:
    return str(value.quantize(places, rounding=ROUND_HALF_UP))


def _figure_cells(figure: Figure | Share) -> list[str]:
    if isinstance(figure, stats.TooFew):
        return [FEWER, stats.TOO_FEW, "", "", "", "", ""]
    if isinstance(figure, stats.Summary):
        return [str(figure.n), _round(figure.median), _round(figure.q1), _round(figure.q3), "", "", ""]
    return [str(figure.n), "", "", "", *(_round(value * 100) for value in (figure.rate, figure.low, figure.high))]


def report_lines(report: Report) -> Iterator[str]:
    """The report's figures, one CSV line each (the header first)."""
    write = _writer().writerow
    yield write(REPORT_COLUMNS)
    head = report.headline
    overall = [
        ("strength_change_pct", head.strength),
        *((f"{instrument}_change", figure) for instrument, figure in head.prom.items()),
        ("nrs_change", head.nrs),
        ("adherence_pct", head.adherence),
        ("sessions_completed", head.sessions),
        ("responders", head.responders),
        ("nrs_responders", head.nrs_responders),
        ("dropout", head.dropout),
    ]
    programs = str(head.n) if stats.shown(head.n) else FEWER
    yield write(["all", "all", "programs", programs, "", "", "", "", "", ""])
    for measure, figure in overall:
        yield write(["all", "all", measure, *_figure_cells(figure)])
    for section, groups in (("clinic", report.by_clinic), ("adherence", report.by_adherence)):
        for group in groups:
            yield from _group_lines(write, section, group)
    for point in report.curve:
        yield write(["strength_curve", f"sessions {point.label}", "strength_change_pct", *_figure_cells(point.figure)])
    for week in report.dropout:
        share = _round(week.share * 100)
        yield write(["dropout_by_week", f"week {week.week}", "dropped_out", str(head.n), "", "", "", share, "", ""])


def _group_lines(write: Any, section: str, group: Group) -> Iterator[str]:
    yield write([section, group.label, "strength_change_pct", *_figure_cells(group.strength)])
    yield write([section, group.label, "responders", *_figure_cells(group.responders)])


# --- De-identified rows -------------------------------------------------------------------------------


def _month(moment: datetime | None, clinic: Clinic) -> str:
    return "" if moment is None else moment.astimezone(clinic.tzinfo).strftime("%Y-%m")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def row_lines(facts: QuerySet[OutcomeFact], clinics: list[Clinic], *, actor: Any) -> Iterator[str]:
    """The CSV of the programs' de-identified rows, streamed CHUNK at a time, each chunk audited first.

    Raises TooFewToExport before anything is read when the facts number fewer than MIN_GROUP (the
    caller checks `facts.count()` through `check_exportable` and answers with a sentence).
    """
    # The request's origin, read now: the response streams after the view (and its context) returned.
    return _row_lines(facts, {clinic.pk: clinic for clinic in clinics}, actor, current_origin())


def _row_lines(facts: QuerySet[OutcomeFact], by_id: dict[int, Clinic], actor: Any, where_from: Any) -> Iterator[str]:
    salt = secrets.token_bytes(16)  # this export's own: its codes match no other export's
    write = _writer().writerow
    yield write(ROW_COLUMNS)
    columns = ("pk", "organization_id", "clinic_id", "patient_id", "started_at", "ended_at", *DESCRIBED, *FACT_COLUMNS)
    rows, last, number = facts.order_by("pk"), None, 0
    while True:
        page = rows if last is None else rows.filter(pk__gt=last)
        with origin(where_from.request_id, where_from.ip_address, where_from.channel), transaction.atomic():
            chunk = list(page.values_list(*columns)[:CHUNK])
            audit.record_rows_exported(actor=actor, rows=[row[:4] for row in chunk])
        if not chunk:
            return
        lines = []
        for program, _org, clinic_id, _patient, started_at, ended_at, *figures in chunk:
            number += 1
            clinic = by_id[clinic_id]
            code = hmac.new(salt, str(program).encode(), hashlib.sha256).hexdigest()[:12]
            months = (_month(started_at, clinic), _month(ended_at, clinic))
            lines.append(write([number, code, clinic.name, *(_cell(value) for value in figures[:3]), *months,
                                *(_cell(value) for value in figures[3:])]))  # fmt: skip
        yield "".join(lines)
        last = chunk[-1][0]


def check_exportable(facts: QuerySet[OutcomeFact]) -> int:
    """The number of programs to export, or TooFewToExport when it is under MIN_GROUP."""
    n = facts.count()
    if not stats.shown(n):
        raise TooFewToExport(
            f"The filters leave fewer than {stats.MIN_GROUP} programs: widen them to export de-identified rows."
        )
    return n
