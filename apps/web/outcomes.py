"""The outcomes report page: its filters, headline figures, five charts and the tables beside them.

The selector (apps.outcomes.report) decides who reads which clinics and applies the small-group
rule; this module only writes its figures as text and as plain numbers for `json_script`
(static/web/outcomes.js draws them). A figure that is too few is written "too few", with
"fewer than 10 programs" for its n: neither the page nor the chart data carries its exact n.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.audit.models import Action
from apps.outcomes import audit, stats
from apps.outcomes.aggregates import SCATTER_MAX, Figure, Group, Share
from apps.outcomes.forms import read_report_query
from apps.outcomes.report import Report, outcome_report
from apps.web.pages import current_clinic, render_page, staff_page

TENTH = Decimal("0.1")
FEWER = f"fewer than {stats.MIN_GROUP} programs"
DASH = "\N{EN DASH}"
INSTRUMENT_LABELS = {"odi": "ODI", "ndi": "NDI"}


@dataclass(frozen=True)
class Shown:
    """A figure as the page writes it; `too_few` replaces its value, spread and n."""

    too_few: bool
    value: str = ""  # "19.0 %"
    spread: str = ""  # "IQR 8.6-32.8" or "95 % CI 31.2-80.7" (an en dash: a range of negatives stays readable)
    n: str = FEWER  # "n = 12"
    bounds: str = ""  # the spread without its name, for a table whose column names it


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def _number(value: Decimal | None) -> float | None:
    """A figure for the chart data: one decimal place, as the tables write it."""
    return None if value is None else float(_tenth(value))


def _n(n: int) -> str:
    return f"n = {n}"


def show_summary(figure: Figure, unit: str = "") -> Shown:
    if not isinstance(figure, stats.Summary):
        return Shown(too_few=True)
    bounds = f"{_tenth(figure.q1)}{DASH}{_tenth(figure.q3)}"
    return Shown(False, f"{_tenth(figure.median)}{unit}", f"IQR {bounds}", _n(figure.n), bounds)


def show_rate(share: Share) -> Shown:
    if not isinstance(share, stats.Rate):
        return Shown(too_few=True)
    bounds = DASH.join(str(_tenth(value * 100)) for value in (share.low, share.high))
    return Shown(False, f"{_tenth(share.rate * 100)} %", f"95 % CI {bounds}", _n(share.n), bounds)


@dataclass(frozen=True)
class Tile:
    title: str
    figure: Shown


def headline_tiles(report: Report) -> list[Tile]:
    head = report.headline
    return [
        Tile("Strength-index change", show_summary(head.strength, " %")),
        Tile("ODI change (points, positive is better)", show_summary(head.prom["odi"])),
        Tile("NDI change (points, positive is better)", show_summary(head.prom["ndi"])),
        Tile("Pain NRS change (points)", show_summary(head.nrs)),
        Tile("Adherence (% of prescribed sessions)", show_summary(head.adherence, " %")),
        Tile("Sessions completed", show_summary(head.sessions)),
        Tile("Responders (ODI/NDI clinically important gain)", show_rate(head.responders)),
        Tile("Pain responders (NRS)", show_rate(head.nrs_responders)),
        Tile("Dropout (of programs that ended)", show_rate(head.dropout)),
    ]


@dataclass(frozen=True)
class GroupRow:
    label: str
    n: str
    strength: Shown
    responders: Shown


def group_rows(groups: list[Group]) -> list[GroupRow]:
    return [
        GroupRow(
            group.label,
            _n(group.n) if group.shown else FEWER,
            show_summary(group.strength, " %") if group.shown else Shown(too_few=True),
            show_rate(group.responders) if group.shown else Shown(too_few=True),
        )
        for group in groups
    ]


def _summary_data(figure: Figure) -> dict[str, Any]:
    if not isinstance(figure, stats.Summary):
        return {"median": None, "q1": None, "q3": None, "n": None}
    return {"median": _number(figure.median), "q1": _number(figure.q1), "q3": _number(figure.q3), "n": figure.n}


def _rate_data(share: Share) -> dict[str, Any]:
    if not isinstance(share, stats.Rate):
        return {"rate": None, "low": None, "high": None, "n": None}
    percent = {name: _number(getattr(share, name) * 100) for name in ("rate", "low", "high")}
    return percent | {"n": share.n}


def _group_data(group: Group) -> dict[str, Any]:
    strength = _summary_data(group.strength if group.shown else stats.TooFew(0))
    responders = _rate_data(group.responders if group.shown else stats.TooFew(0))
    return {"label": group.label, "strength": strength, "responders": responders}


def dropout_weeks(report: Report) -> list[tuple[int, Decimal]]:
    """(week, % dropped out) from the first week with a dropout to the last, a week without one at 0."""
    shares = {week.week: _tenth(week.share * 100) for week in report.dropout}
    if not shares:
        return []
    return [(week, shares.get(week, Decimal("0.0"))) for week in range(min(shares), max(shares) + 1)]


def chart_data(report: Report) -> dict[str, Any]:
    """The five charts' numbers (None where a figure is too few); no name, no id, no exact small n."""
    return {
        "curve": [{"label": item.label} | _summary_data(item.figure) for item in report.curve],
        "clinics": [_group_data(group) for group in report.by_clinic],
        "adherence": [_group_data(group) for group in report.by_adherence],
        "scatter": [
            [_number(point.strength_change_pct), _number(point.prom_change), INSTRUMENT_LABELS[point.instrument]]
            for point in report.scatter
        ],
        "dropout": [[week, float(share)] for week, share in dropout_weeks(report)],
    }


@dataclass(frozen=True)
class ChartFrame:
    """One chart of the page and the table of its numbers beside it (templates/web/outcomes/_chart.html)."""

    id: str
    key: str  # the chart outcomes.js draws into the canvas, from #outcomes-data
    caption: str
    aria_label: str
    drawn: bool  # whether there is anything to draw; else `empty` says why not
    empty: str
    table_id: str
    columns: tuple[str, ...]
    rows: str  # the template of the table's rows
    table_caption: str = ""


def chart_frames(report: Report, charts: dict[str, Any], programs: int) -> list[ChartFrame]:
    scatter_n = _n(len(report.scatter)) + (", an even sample" if len(report.scatter) >= SCATTER_MAX else "")
    return [
        ChartFrame(
            "curve", "curve",
            "Strength-index change by sessions completed before the retest: median and interquartile band",
            "Median strength-index change by session: see the table", bool(report.curve),
            "No retest yet among these programs.", "curve-table",
            ("Sessions", "Median change", "IQR", "n"), "web/outcomes/rows/curve.html",
        ),
        ChartFrame(
            "by-clinic", "clinics",
            "Responders per clinic (clinically important ODI/NDI gain), with the 95 % Wilson interval",
            "Responder rate per clinic: see the table", True, "", "clinics-table",
            ("Clinic", "Responders", "95 % CI", "n"), "web/outcomes/rows/clinics.html",
        ),
        ChartFrame(
            "scatter", "scatter",
            f"ODI/NDI change against strength-index change, one dot per program ({scatter_n}); "
            "a positive ODI/NDI change is an improvement",
            "PROM change against strength change, one dot per program: see the summary", bool(charts["scatter"]),
            "No program has both a strength retest and a repeated ODI/NDI yet.", "scatter-summary",
            ("Measure", "Median", "IQR", "n"), "web/outcomes/rows/scatter.html",
            "The same programs, summarised (the dots are listed in the de-identified CSV)",
        ),
        ChartFrame(
            "by-adherence", "adherence",
            "Outcome by adherence band (sessions a week): responder rate with its 95 % interval, "
            "and median strength-index change",
            "Outcome by adherence band: see the table", True, "", "adherence-table",
            ("Sessions a week", "Responders", "Median strength change", "n"), "web/outcomes/rows/adherence.html",
        ),
        ChartFrame(
            "dropout", "dropout",
            f"Dropout by week of the program: share of the {programs} programs that dropped out in each week",
            "Share dropped out per week: see the table", bool(report.dropout), "No program dropped out.",
            "dropout-table", ("Week", "Dropped out", "n"), "web/outcomes/rows/dropout.html",
        ),
    ]  # fmt: skip


def report_context(report: Report, tz: tzinfo) -> dict[str, Any]:
    query = urlencode(report.filters.as_query())
    counted = report.counted_at and timezone.localtime(report.counted_at, tz)
    charts = chart_data(report)
    return {
        "report": report,
        "counted_at": counted and f"{counted:%d %b %Y, %H:%M} {counted.tzname()}",
        "tiles": headline_tiles(report),
        "n": _n(report.headline.n) if stats.shown(report.headline.n) else FEWER,
        "shown": stats.shown(report.headline.n),
        "programs": report.headline.n,
        "curve_rows": [(item.label, show_summary(item.figure, " %")) for item in report.curve],
        "clinic_rows": group_rows(report.by_clinic),
        "adherence_rows": group_rows(report.by_adherence),
        "dropout_rows": [(week, f"{share} %") for week, share in dropout_weeks(report)],
        "scatter_n": _n(len(report.scatter)),
        "charts": charts,
        "chart_frames": chart_frames(report, charts, report.headline.n),
        "query": query,
    }


@staff_page
@transaction.atomic
def outcomes_report(request: HttpRequest) -> HttpResponse:
    """The report of the reader's clinics (or the one filtered); a clinic outside theirs is 404."""
    working = current_clinic(request)
    reading = read_report_query(request.user, request.GET, working=working)
    context: dict[str, Any] = {"form": reading.form, "nav": "outcomes"}
    if reading.filters is not None:
        report = outcome_report(request.user, reading.filters, tz=reading.tz, clinics=reading.clinics)
        audit.record_report(
            action=Action.READ, actor=request.user, clinics=report.clinics, path=request.get_full_path()
        )
        context |= report_context(report, reading.tz)
    return render_page(request, "web/outcomes/report.html", context, clinic=working)
