"""The report's figures from a queryset of facts, aggregated in the database.

Medians and quartiles come from value counts: the database groups the facts by each figure's value
(one decimal place: a few thousand distinct values for a million programs) and
`stats.counted_summary` takes the exact quartiles from the counts, so PostgreSQL and SQLite give the
same figures as `stats.summary_or_too_few` over the values, to the last digit. On PostgreSQL every
count is one pass of `GROUP BY GROUPING SETS`; elsewhere the same sets are a UNION ALL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connections
from django.db.models import Case, CharField, Count, F, QuerySet, Value, When

from apps.outcomes import stats
from apps.outcomes.models import OutcomeCurvePoint, OutcomeFact
from apps.outcomes.rules import DROPPED_OUT, IN_PROGRESS

Figure = stats.Summary | stats.TooFew
Share = stats.Rate | stats.TooFew
BAND_LABELS = {stats.UNDER_1: "under 1 a week", stats.ONE_TO_2: "1-2 a week", stats.TWO_PLUS: "2 or more a week"}
INSTRUMENTS = ("odi", "ndi")
CURVE_BIN = 4  # sessions per step of the strength curve: retests fall near session 12 and at discharge
SCATTER_MAX = 1500  # dots drawn at most; above it an even sample, the same one at every load

# The counts of each (clinic, adherence band) cell, from which every rate of the report is summed.
CELL_COUNTS = (
    ("n", "count(*)"),
    ("prom_known", "count(prom_important)"),
    ("prom_yes", "sum(case when prom_important then 1 else 0 end)"),
    ("nrs_known", "count(nrs_important)"),
    ("nrs_yes", "sum(case when nrs_important then 1 else 0 end)"),
    ("ended", f"sum(case when outcome_status <> '{IN_PROGRESS}' then 1 else 0 end)"),
    ("dropped", f"sum(case when outcome_status = '{DROPPED_OUT}' then 1 else 0 end)"),
    ("paired", "sum(case when strength_change_pct is not null and prom_change is not null then 1 else 0 end)"),
)
COLUMNS = (
    "clinic_id",
    "band",
    "prom_instrument",
    "strength_change_pct",
    "prom_change",
    "nrs_change",
    "adherence_pct",
    "sessions_completed",
    "dropout_week",
)
# The columns' types, for the NULLs of a UNION ALL branch (PostgreSQL and SQLite both read these).
NULL_TYPES = {
    "clinic_id": "INTEGER",
    "band": "TEXT",
    "prom_instrument": "TEXT",
    "sessions_completed": "INTEGER",
    "dropout_week": "INTEGER",
} | dict.fromkeys(("strength_change_pct", "prom_change", "nrs_change", "adherence_pct"), "NUMERIC")
# The grouping sets, by name: the cells, then a value count per figure (and per group where drawn).
SETS = {
    "cell": ("clinic_id", "band"),
    "strength_clinic": ("clinic_id", "strength_change_pct"),
    "strength_band": ("band", "strength_change_pct"),
    "prom": ("prom_instrument", "prom_change"),
    "nrs": ("nrs_change",),
    "adherence": ("adherence_pct",),
    "sessions": ("sessions_completed",),
    "dropout": ("dropout_week",),
}


def _mask(columns: tuple[str, ...]) -> int:
    """PostgreSQL's GROUPING(...) of a row of this set: a bit per column left out, the first highest."""
    width = len(COLUMNS)
    return sum(1 << (width - 1 - index) for index, name in enumerate(COLUMNS) if name not in columns)


SET_OF_MASK = {_mask(columns): name for name, columns in SETS.items()}
CELL_MASK = _mask(SETS["cell"])


@dataclass(frozen=True)
class Headline:
    n: int
    strength: Figure  # strength-index change, %
    prom: dict[str, Figure]  # ODI and NDI change, points (positive is better)
    nrs: Figure  # pain NRS change, points
    adherence: Figure  # % of prescribed sessions to date
    sessions: Figure  # sessions completed
    responders: Share  # clinically important gain in the primary PROM, of programs with both scores
    nrs_responders: Share
    dropout: Share  # dropped out, of programs that have ended


@dataclass(frozen=True)
class Group:
    key: Any
    label: str
    n: int
    shown: bool
    strength: Figure
    responders: Share


@dataclass(frozen=True)
class CurveBin:
    first_session: int  # sessions completed before the retest: first_session to first_session + CURVE_BIN - 1
    figure: Figure

    @property
    def label(self) -> str:
        return f"{self.first_session}-{self.first_session + CURVE_BIN - 1}"


@dataclass(frozen=True)
class DropoutWeek:
    week: int
    dropped: int
    share: Decimal  # of the group's programs


@dataclass(frozen=True)
class ScatterPoint:
    strength_change_pct: Decimal
    prom_change: Decimal
    instrument: str


def to_decimal(value: Any) -> Decimal:
    # SQLite hands numeric columns back as float or int; their shortest repr is the stored decimal.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _banded(facts: QuerySet[OutcomeFact]) -> QuerySet[OutcomeFact]:
    whens = [When(sessions_per_week_done__lt=limit, then=Value(band)) for limit, band in stats.ADHERENCE_BANDS]
    return facts.annotate(band=Case(*whens, default=Value(stats.TWO_PLUS), output_field=CharField()))


def _inner_sql(facts: QuerySet[OutcomeFact]) -> tuple[str, tuple[Any, ...]]:
    return _banded(facts).values(*COLUMNS, "prom_important", "nrs_important", "outcome_status").query.sql_with_params()


def _grouping_sql(inner: str, vendor: str) -> tuple[str, int]:
    """The statement, and how many times it repeats the inner query's parameters.

    Made of this module's constants and the ORM's compiled query alone: every value is a parameter.
    """
    counts = ", ".join(f"{sql} AS {name}" for name, sql in CELL_COUNTS)
    if vendor == "postgresql":
        sets = ", ".join(f"({', '.join(columns)})" for columns in SETS.values())
        grouping = f"GROUPING({', '.join(COLUMNS)})"
        return f"SELECT {grouping}, {', '.join(COLUMNS)}, {counts} FROM ({inner}) f GROUP BY GROUPING SETS ({sets})", 1  # noqa: S608
    parts = []
    for columns in SETS.values():
        shown_columns = ", ".join(
            name if name in columns else f"CAST(NULL AS {NULL_TYPES[name]}) AS {name}" for name in COLUMNS
        )
        parts.append(
            f"SELECT {_mask(columns)}, {shown_columns}, {counts} FROM ({inner}) f GROUP BY {', '.join(columns)}"  # noqa: S608
        )
    return " UNION ALL ".join(parts), len(parts)


class Totals:
    """The rows of the grouping query, read into the report's figures."""

    def __init__(self, rows: list[tuple[Any, ...]]):
        self.cells: dict[tuple[int, str], dict[str, int]] = {}
        self.values: dict[tuple[str, Any], list[tuple[Decimal, int]]] = defaultdict(list)
        for row in rows:
            name = SET_OF_MASK[row[0]]
            record = dict(zip(COLUMNS, row[1 : 1 + len(COLUMNS)], strict=True))
            counts = dict(zip((name for name, _ in CELL_COUNTS), row[1 + len(COLUMNS) :], strict=True))
            if name == "cell":
                self.cells[record["clinic_id"], record["band"]] = {
                    key: int(value or 0) for key, value in counts.items()
                }
                continue
            value = record[SETS[name][-1]]
            if value is not None:
                group = record[SETS[name][0]] if len(SETS[name]) == 2 else None
                self.values[name, group].append((to_decimal(value), counts["n"]))

    def _sum(self, key: str, clinic: int | None = None, band: str | None = None) -> int:
        return sum(
            counts[key]
            for (cell_clinic, cell_band), counts in self.cells.items()
            if clinic in (None, cell_clinic) and band in (None, cell_band)
        )

    def _counts(self, name: str, groups: list[Any] | None = None) -> list[tuple[Decimal, int]]:
        return [pair for (set_name, group), pairs in self.values.items() if set_name == name for pair in pairs
                if groups is None or group in groups]  # fmt: skip

    @property
    def n(self) -> int:
        return self._sum("n")

    @property
    def paired(self) -> int:
        return self._sum("paired")

    def headline(self) -> Headline:
        n = self.n
        return Headline(
            n=n,
            strength=_figure(self._counts("strength_clinic"), n),
            prom={instrument: _figure(self._counts("prom", [instrument]), n) for instrument in INSTRUMENTS},
            nrs=_figure(self._counts("nrs"), n),
            adherence=_figure(self._counts("adherence"), n),
            sessions=_figure(self._counts("sessions"), n),
            responders=_share(self._sum("prom_yes"), self._sum("prom_known"), n),
            nrs_responders=_share(self._sum("nrs_yes"), self._sum("nrs_known"), n),
            dropout=_share(self._sum("dropped"), self._sum("ended"), n),
        )

    def group(self, key: tuple[str, Any], label: str) -> Group:
        kind, value = key
        where = {"clinic": value} if kind == "clinic" else {"band": value}
        n = self._sum("n", **where)
        strength = self._counts("strength_clinic" if kind == "clinic" else "strength_band", [value])
        return Group(
            key=value,
            label=label,
            n=n,
            shown=stats.shown(n),
            strength=_figure(strength, n),
            responders=_share(self._sum("prom_yes", **where), self._sum("prom_known", **where), n),
        )

    def dropout(self) -> list[DropoutWeek]:
        n = self.n
        if not stats.shown(n):
            return []
        return [
            DropoutWeek(int(week), dropped, Decimal(dropped) / n) for week, dropped in sorted(self._counts("dropout"))
        ]


def _figure(counts: list[tuple[Decimal, int]], group_n: int) -> Figure:
    if not stats.shown(group_n):
        return stats.TooFew(group_n)
    return stats.counted_summary(counts)


def _share(successes: int, n: int, group_n: int) -> Share:
    if not stats.shown(group_n):
        return stats.TooFew(group_n)
    return stats.rate_or_too_few(successes, n)


def grouped_rows(facts: QuerySet[OutcomeFact]) -> list[tuple[Any, ...]]:
    """One statement: the (clinic, band) cells' counts and the value counts of every figure, as rows of
    (grouping mask, *COLUMNS, *CELL_COUNTS), the shape `Totals` reads and `rollups` stores."""
    inner, params = _inner_sql(facts)
    connection = connections[facts.db]
    sql, repeats = _grouping_sql(inner, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params * repeats)
        return cursor.fetchall()


def grouped(facts: QuerySet[OutcomeFact]) -> Totals:
    return Totals(grouped_rows(facts))


def hide_small(groups: list[Group]) -> list[Group]:
    """The groups of a breakdown with `stats.hidden_groups` applied: a hidden group's figures are TooFew."""
    hidden = stats.hidden_groups([group.n for group in groups])
    return [
        Group(group.key, group.label, group.n, False, stats.TooFew(group.n), stats.TooFew(group.n))
        if index in hidden
        else group
        for index, group in enumerate(groups)
    ]


def curve_rows(facts: QuerySet[OutcomeFact]) -> list[tuple[int, Any, int]]:
    """The retests' strength-index changes counted by (bin of CURVE_BIN sessions, change)."""
    return list(
        OutcomeCurvePoint.objects.filter(program__in=facts.values("pk"), change_pct__isnull=False)
        .annotate(bin=F("session_number") / CURVE_BIN)
        .values_list("bin", "change_pct")
        .annotate(n=Count("pk"))
        .order_by()
    )


def curve(facts: QuerySet[OutcomeFact]) -> list[CurveBin]:
    return curve_bins(curve_rows(facts))


def curve_bins(rows: Iterable[tuple[int, Any, int]]) -> list[CurveBin]:
    """The strength-index change at retests, by sessions completed before them, in bins of CURVE_BIN."""
    bins: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    for number, change, n in rows:
        bins[int(number)].append((to_decimal(change), n))
    return [
        CurveBin(number * CURVE_BIN, _figure(counts, sum(n for _, n in counts)))
        for number, counts in sorted(bins.items())
    ]


def scatter(facts: QuerySet[OutcomeFact], paired: int) -> list[ScatterPoint]:
    """One dot per program with both changes (`paired` of them), no names; above SCATTER_MAX, a sample.

    Program ids are random (UUID4), so the programs whose id falls in the lowest SCATTER_MAX/paired
    of the id range are an even sample, read off the primary key's index, the same one every time.
    """
    both = facts.filter(strength_change_pct__isnull=False, prom_change__isnull=False)
    if paired > SCATTER_MAX:
        both = both.filter(pk__lt=UUID(int=(1 << 128) * SCATTER_MAX // paired))
    rows = both.order_by("pk").values_list("strength_change_pct", "prom_change", "prom_instrument")[:SCATTER_MAX]
    return [ScatterPoint(to_decimal(strength), to_decimal(prom), instrument) for strength, prom, instrument in rows]
