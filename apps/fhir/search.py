"""FHIR search: its parameters, and a keyset page, newest first, over one or more tables; its resources; its audit.

A search type reads one or more `Source`s (Observation: strength tests and questionnaire scores). Each
source gives its COUNT and its next `count + 1` rows after the cursor; the page is the newest `count` of
all of them, and `total` the sum of the counts. The parameters (`_count`, `_page`, `_lastUpdated`,
`patient`) are parsed here too, each into what `search_page` takes.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
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
COMMON_PARAMS = frozenset({"_count", "_page", "_format"})
LAST_UPDATED_PREFIXES = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
DATE_PREFIXES = ("eq", "gt", "ge", "lt", "le")


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


def each(builder: Callable[[Any], Json]) -> Callable[[list[Any]], list[Json]]:
    """A `Source.build` for resources built from their row alone."""
    return lambda rows: [builder(row) for row in rows]


@dataclass(frozen=True)
class Page:
    """A search's page: the rows shown with the source of each, the total of matches, the next cursor."""

    total: int
    shown: list[tuple[Source, Any]]  # newest first
    after: tuple[datetime, uuid.UUID] | None  # the cursor of the next page, if there is one


def search_page(
    sources: Iterable[Source],
    user: Any,
    *,
    condition: Q,
    patient_id: Any,
    cursor: tuple[datetime, uuid.UUID] | None,
    count: int,
) -> Page:
    """The newest `count` rows of all the sources after `cursor`; `total` counts every match."""
    total = 0
    candidates: list[tuple[datetime, uuid.UUID, Source, Any]] = []
    for source in sources:
        rows = source.rows(user).filter(condition)
        if patient_id is not None and source.patient_field:
            rows = rows.filter(**{source.patient_field: patient_id})
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
    """A date parameter (`date=ge2026-12-01&date=lt2026-12-08`): each value a prefix (eq if none) and a
    date (that UTC day, as the range it spans) or an instant with a zone; repeatable, ANDed."""
    condition = Q()
    for value in values:
        prefix, rest = (value[:2], value[2:]) if value[:2] in DATE_PREFIXES else ("eq", value)
        low = _instant(rest)
        if low is None:
            raise invalid(f"{param}={value!r}: not an instant with a time zone, nor a date.", param)
        high = low + timedelta(days=1) if "T" not in rest else low
        condition &= _date_range(field, prefix, low, high, whole_day="T" not in rest)
    return condition


def _date_range(field: str, prefix: str, low: datetime, high: datetime, *, whole_day: bool) -> Q:
    """The instants of `field` a prefix picks from [low, high) (a day) or at low (an instant)."""
    if prefix == "eq":
        return Q(**{f"{field}__gte": low, f"{field}__lt": high}) if whole_day else Q(**{field: low})
    if prefix == "gt":
        return Q(**{f"{field}__gte": high}) if whole_day else Q(**{f"{field}__gt": low})
    if prefix == "ge":
        return Q(**{f"{field}__gte": low})
    if prefix == "lt":
        return Q(**{f"{field}__lt": low})
    return Q(**{f"{field}__lt": high}) if whole_day else Q(**{f"{field}__lte": low})


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
    try:
        count = int(value)
    except ValueError:
        raise invalid(f"_count={value!r}: not a whole number.", "_count") from None
    if count < 1:
        raise invalid("_count must be at least 1.", "_count")
    return min(count, MAX_COUNT)


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
