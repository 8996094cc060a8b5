"""FHIR search pages: a keyset page, newest first, over one or more tables; its resources; its audit.

A search type reads one or more `Source`s (Observation: strength tests and questionnaire scores). Each
source gives its COUNT and its next `count + 1` rows after the cursor; the page is the newest `count` of
all of them, and `total` the sum of the counts. The parameters are parsed in `apps.fhir.views`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from apps.audit import events
from apps.fhir.mapping import Json


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
