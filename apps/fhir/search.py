"""FHIR search: its parameters, and a keyset page, newest first, over one or more tables; its resources; its audit.

A search type reads one or more `Source`s (Observation: strength tests and questionnaire scores). Each
source gives its COUNT and its next `count + 1` rows after the cursor; the page is the newest `count` of
all of them, and `total` the sum of the counts. A parameter narrows every source of its type (the type's
`filters`) or each source its own way (`Source.filters`: Observation's `date` is a test's `performed_at`,
a score's `completed_at`), so each source has its condition. The common parameters (`_count`, `_page`,
`_summary`, `_lastUpdated`, `patient`) and the date values are parsed here too, each into what
`search_page` takes; tokens and strings are `apps.fhir.matching`'s.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from apps.api.filters import MAX_OFFSET
from apps.audit import events
from apps.fhir.errors import FhirError, invalid
from apps.fhir.mapping import Json
from apps.patients.selectors import patient_list

DEFAULT_COUNT = 20
MAX_COUNT = 100
COMMON_PARAMS = frozenset({"_count", "_page", "_format", "_summary"})
LAST_UPDATED_PREFIXES = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
DATE_PREFIXES = ("eq", "ne", "gt", "ge", "lt", "le")
# A date value of year, month or day precision (FHIR dates: YYYY, YYYY-MM, YYYY-MM-DD).
PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+", re.ASCII)

Filters = Mapping[str, Callable[[list[str]], Q]]  # parameter name (with its modifier) → its values → a condition


@dataclass(frozen=True)
class Source:
    """One table a search reads: its rows, newest first by `order`, and how the rows shown become resources.

    `build` takes this source's rows of the page, in page order, and returns their resources in the same
    order: a source loads what its resources need for all its rows at once (a strength test's curve).
    """

    rows: Callable[[Any], QuerySet]
    order: str
    build: Callable[[list[Any]], list[Json]]
    patient_field: str | None = "patient_id"
    filters: Filters = field(default_factory=dict, compare=False)  # this source's own reading of parameters


def each(builder: Callable[[Any], Json]) -> Callable[[list[Any]], list[Json]]:
    """A `Source.build` for resources built from their row alone."""
    return lambda rows: [builder(row) for row in rows]


@dataclass(frozen=True)
class Page:
    """A search's page: the rows shown with the source of each, the total of matches, the next cursor."""

    total: int
    shown: list[tuple[Source, Any]]  # newest first
    after: tuple[datetime, uuid.UUID] | None  # the cursor of the next page, if there is one


def narrowing(filters: Filters, params: Any) -> Q:
    """The condition of every parameter of `filters` the query gives (each its values, ANDed)."""
    condition = Q()
    for name, narrow in filters.items():
        if name in params:
            condition &= narrow(params.getlist(name))
    return condition


def _matching(source: Source, user: Any, condition: Q, patient_id: Any) -> QuerySet:
    rows = source.rows(user).filter(condition)
    if patient_id is not None and source.patient_field:
        rows = rows.filter(**{source.patient_field: patient_id})
    return rows


def search_total(conditions: Mapping[Source, Q], user: Any, *, patient_id: Any) -> int:
    """The number of matches of every source (`_summary=count`): one COUNT each, no rows read."""
    return sum(_matching(source, user, condition, patient_id).count() for source, condition in conditions.items())


def search_page(
    conditions: Mapping[Source, Q],
    user: Any,
    *,
    patient_id: Any,
    cursor: tuple[datetime, uuid.UUID] | None,
    count: int,
) -> Page:
    """The newest `count` rows of all the sources (each narrowed by its condition) after `cursor`;
    `total` counts every match."""
    total = 0
    candidates: list[tuple[datetime, uuid.UUID, Source, Any]] = []
    for source, condition in conditions.items():
        rows = _matching(source, user, condition, patient_id)
        total += rows.count()
        if cursor is not None:
            moment, pk = cursor
            rows = rows.filter(Q(**{f"{source.order}__lt": moment}) | Q(**{source.order: moment, "pk__lt": pk}))
        candidates += [
            (getattr(row, source.order), row.pk, source, row)
            for row in rows.order_by(f"-{source.order}", "-pk")[: count + 1]
        ]
    candidates.sort(key=lambda item: (item[0], item[1]), reverse=True)
    shown = candidates[:count]
    after = (shown[-1][0], shown[-1][1]) if len(candidates) > count else None
    return Page(total=total, shown=[(source, row) for _moment, _pk, source, row in shown], after=after)


def _by_source(page: Page) -> dict[Source, list[Any]]:
    grouped: dict[Source, list[Any]] = {}
    for source, row in page.shown:
        grouped.setdefault(source, []).append(row)
    return grouped


def page_resources(page: Page) -> list[Json]:
    """The page's resources, newest first: each source builds all its rows at once."""
    built = {source: iter(source.build(rows)) for source, rows in _by_source(page).items()}
    return [next(built[source]) for source, _row in page.shown]


def record_page_reads(page: Page, actor: Any) -> None:
    """One read event per resource shown, naming its patient, clinic and organization.

    Through the row path (no Event object per row): one INSERT, whichever tables the page shows.
    """
    rows = [row for _source, row in page.shown]
    events.record_reads(objs=rows, actor=actor)


# --- Parameters ----------------------------------------------------------------------------------


def last_updated_filter(values: list[str]) -> Q:
    condition = Q()
    for value in values:
        prefix, rest = value[:2], value[2:]
        if prefix not in LAST_UPDATED_PREFIXES:
            raise invalid(f"_lastUpdated={value!r}: use a prefix gt, ge, lt or le.", "_lastUpdated")
        instant = _instant(rest)
        if instant is None:
            raise invalid(f"_lastUpdated={value!r}: not an instant with a time zone, nor a date.", "_lastUpdated")
        condition &= Q(**{f"updated_at__{LAST_UPDATED_PREFIXES[prefix]}": instant})
    return condition


def date_filter(field: str, values: list[str], param: str) -> Q:
    """A date parameter on an instant (`date=ge2026-12-01&date=lt2026-12-08`): each value a prefix (eq
    if none) and a year, month or day (the UTC range it spans) or an instant with a zone (that point);
    repeatable, ANDed."""
    condition = Q()
    for value in values:
        prefix, low, high, whole = _date_value(value, param)
        condition &= _date_range(field, prefix, low, high, whole=whole)
    return condition


def day_filter(field: str, values: list[str], param: str) -> Q:
    """A date parameter on a date (`birthdate=ge1980`): a year, month or day only, as the days it spans."""
    condition = Q()
    for value in values:
        prefix, low, high, whole = _date_value(value, param)
        if not whole:
            raise invalid(f"{param}={value!r}: a date (YYYY, YYYY-MM or YYYY-MM-DD), not an instant.", param)
        condition &= _date_range(field, prefix, low.date(), high.date(), whole=True)
    return condition


def period_filter(start: str, end: str, values: list[str], param: str) -> Q:
    """A date parameter on a period from `start` to `end` (no `end`: still going), with R4's range rules:
    `eq` the period lies within the value's range, `ne` it does not, `gt`/`ge` some of it is after (or at)
    the value, `lt`/`le` some of it before (or at). A row without a start has no period: never matched."""
    condition = Q(**{f"{start}__isnull": False})
    for value in values:
        prefix, low, high, whole = _date_value(value, param)
        condition &= _period_range(start, end, prefix, low, high, whole=whole)
    return condition


def _date_value(value: str, param: str) -> tuple[str, datetime, datetime, bool]:
    """(prefix, low, high, whole): a span [low, high) of whole days, or the instant low == high."""
    prefix, rest = (value[:2], value[2:]) if value[:2] in DATE_PREFIXES else ("eq", value)
    span = _span(rest)
    if span is None:
        wanted = f"a prefix ({', '.join(DATE_PREFIXES)}) and a date or an instant with a time zone"
        raise invalid(f"{param}={value!r}: not {wanted}.", param)
    return (prefix, *span)


def _span(text: str) -> tuple[datetime, datetime, bool] | None:
    if "T" in text:
        moment = _instant(text)
        return (moment, moment, False) if moment is not None else None
    match = PARTIAL_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) if part else None for part in match.groups())
    try:
        if day is not None:
            low = date(year, month, day)
            high = low + timedelta(days=1)
        elif month is not None:
            low = date(year, month, 1)
            high = date(year + month // 12, month % 12 + 1, 1)
        else:
            low, high = date(year, 1, 1), date(year + 1, 1, 1)
    except (ValueError, OverflowError):  # no such day, month 13, year 0 or past 9999
        return None
    return datetime.combine(low, time.min, tzinfo=UTC), datetime.combine(high, time.min, tzinfo=UTC), True


def _date_range(field: str, prefix: str, low: Any, high: Any, *, whole: bool) -> Q:
    """The values of `field` (points in time) a prefix picks from [low, high) (whole days) or at low (an instant)."""
    if prefix == "ne":
        return ~_date_range(field, "eq", low, high, whole=whole)
    if prefix == "eq":
        return Q(**{f"{field}__gte": low, f"{field}__lt": high}) if whole else Q(**{field: low})
    if prefix == "gt":
        return Q(**{f"{field}__gte": high}) if whole else Q(**{f"{field}__gt": low})
    if prefix == "ge":
        return Q(**{f"{field}__gte": low})
    if prefix == "lt":
        return Q(**{f"{field}__lt": low})
    return Q(**{f"{field}__lt": high}) if whole else Q(**{f"{field}__lte": low})


def _period_range(start: str, end: str, prefix: str, low: datetime, high: datetime, *, whole: bool) -> Q:
    still_going = Q(**{f"{end}__isnull": True})
    if prefix in ("eq", "ne"):
        inside = Q(**{f"{start}__gte": low, f"{end}__lt": high}) if whole else Q(**{start: low, end: low})
        return inside if prefix == "eq" else ~inside
    if prefix == "gt":
        return still_going | Q(**{f"{end}__gte": high} if whole else {f"{end}__gt": low})
    if prefix == "ge":
        return still_going | Q(**{f"{end}__gte": low})
    if prefix == "lt":
        return Q(**{f"{start}__lt": low})
    return Q(**{f"{start}__lt": high} if whole else {f"{start}__lte": low})


def _instant(text: str) -> datetime | None:
    try:
        if "T" not in text:
            day = parse_date(text)
            return datetime.combine(day, time.min, tzinfo=UTC) if day is not None else None
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None or abs(moment.utcoffset()) > MAX_OFFSET:
        return None  # PostgreSQL holds offsets up to ±15:59 only; no zone uses more than ±14:00
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # a year-1 time west of UTC is before any instant the database holds
        return None


def page_size(value: str | None) -> int:
    """`_count`: the number of resources a page shows."""
    if value is None:
        return DEFAULT_COUNT
    if WHOLE_NUMBER.fullmatch(value) is None:  # int() would take " 5", "1_0" and other digits than 0-9
        raise invalid(f"_count={value!r}: not a whole number.", "_count")
    count = int(value)
    if count < 1:
        raise invalid("_count must be at least 1.", "_count")
    return min(count, MAX_COUNT)


def summary_count(value: str | None) -> bool:
    """`_summary`: `count` asks for the total alone (no entries); `false` (the default) for the resources."""
    if value is None or value == "false":
        return False
    if value == "count":
        return True
    raise invalid(f"_summary={value!r}: only count (and false, the default) are served.", "_summary")


def encode_cursor(moment: datetime, pk: uuid.UUID) -> str:
    raw = json.dumps({"t": moment.isoformat(), "id": str(pk)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        moment = datetime.fromisoformat(data["t"])
        pk = uuid.UUID(data["id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise invalid("_page is not a page this server handed out.", "_page") from None
    if moment.tzinfo is None:
        raise invalid("_page is not a page this server handed out.", "_page")
    return moment, pk


def encode_offset(offset: int) -> str:
    """The cursor of a listing's next page (a small table, in a fixed order): how many rows come before it."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_offset(value: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        offset = None
    if type(offset) is not int or offset < 0:
        raise invalid("_page is not a page this server handed out.", "_page")
    return offset


def patient_of(user: Any, value: str) -> uuid.UUID:
    """`patient=<id>` or `patient=Patient/<id>`: the patient's id if visible, else 404 like its read.

    Through the same gate as the read (`patient_list`), reading only whether the row is there.
    """
    try:
        key = uuid.UUID(value.removeprefix("Patient/"))
    except ValueError:
        key = None
    if key is None or not patient_list(user=user).filter(pk=key).exists():
        raise FhirError(404, "not-found", f"patient={value!r}: no such patient.", ["patient"])
    return key
