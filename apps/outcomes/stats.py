"""Outcome statistics as pure functions: medians with quartiles, Wilson intervals, small groups, bands.

DOMAIN.md "Outcomes": summaries are medians with interquartile ranges; rates carry a 95 % Wilson
interval and their n; a group of fewer than MIN_GROUP programs shows "too few" instead of any figure.
Numbers are `decimal.Decimal` throughout and nothing is rounded: the quartiles are exact (the data's
own digits plus at most two), the Wilson bounds are taken at the default context's 28 significant
digits. Round them only for display. Values may be int, float (read through its shortest repr) or
Decimal, never text, a bool, NaN or an infinity; an argument a rule cannot mean raises
RuleArgumentError naming it (apps.clinics.arguments). No ORM, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from apps.clinics import arguments as check

MIN_GROUP = 10  # fewer programs than this and a group shows "too few" (no patient can be read out)
TOO_FEW = "too few"
Z_95 = Decimal("1.959963984540054")  # the standard normal's 97.5th percentile: a two-sided 95 % interval

UNDER_1, ONE_TO_2, TWO_PLUS = "under_1", "1_to_2", "2_plus"
ADHERENCE_BANDS = ((Decimal(1), UNDER_1), (Decimal(2), ONE_TO_2))  # (upper bound, exclusive; band)
MAX_AGE = 120
TOP_AGE_BAND = 90  # HIPAA safe harbour: every age over 89 is the one group "90+"
AGE_BAND_YEARS = 5


@dataclass(frozen=True)
class Summary:
    n: int
    median: Decimal
    q1: Decimal  # 25th percentile, linear interpolation (see quartiles)
    q3: Decimal  # 75th percentile


@dataclass(frozen=True)
class Interval:
    low: Decimal  # both in [0, 1]
    high: Decimal


@dataclass(frozen=True)
class Rate:
    n: int
    successes: int
    rate: Decimal  # successes / n, unrounded, in [0, 1]
    low: Decimal  # the 95 % Wilson interval around it
    high: Decimal


@dataclass(frozen=True)
class TooFew:
    """What a group of fewer than MIN_GROUP programs shows in place of any figure."""

    n: int

    def __str__(self) -> str:
        return TOO_FEW


# --- Summaries --------------------------------------------------------------------------------------


def _sorted_values(values: Sequence[object]) -> list[Decimal]:
    check.sequence_of(values, "values", "numbers")
    return sorted(check.number(value, "A value in values", from_text=False) for value in values)


def _quantile(ordered: Sequence[Decimal], quarter: int) -> Decimal:
    """The `quarter`/4 quantile: position (n - 1) x quarter / 4 of the sorted data, interpolated linearly."""
    index, remainder = divmod((len(ordered) - 1) * quarter, 4)
    if remainder == 0:
        return ordered[index]
    # The same sum as statistics.quantiles(method="inclusive"): one division, by 4, exact in Decimal.
    return (ordered[index] * (4 - remainder) + ordered[index + 1] * remainder) / 4


def median(values: Sequence[object]) -> Decimal | None:
    """The middle value, or the mean of the middle two; None for no values."""
    ordered = _sorted_values(values)
    return _quantile(ordered, 2) if ordered else None


def quartiles(values: Sequence[object]) -> Summary | None:
    """n, median and quartiles by linear interpolation between order statistics; None for no values.

    The "inclusive" method (Hyndman & Fan type 7): the p-quantile of the sorted x[0..n-1] lies at
    position h = (n - 1) x p, and is x[⌊h⌋] + (h - ⌊h⌋) x (x[⌊h⌋ + 1] - x[⌊h⌋]). It is numpy's default,
    Excel's QUARTILE.INC and statistics.quantiles(method="inclusive"); one value is its own quartiles.
    """
    ordered = _sorted_values(values)
    return _summary(ordered) if ordered else None


def _summary(ordered: Sequence[Decimal]) -> Summary:
    return Summary(len(ordered), _quantile(ordered, 2), _quantile(ordered, 1), _quantile(ordered, 3))


def _sorted_counts(counts: Sequence[object]) -> list[tuple[Decimal, int]]:
    check.sequence_of(counts, "counts", "(value, how many) pairs")
    merged: dict[Decimal, int] = {}
    for item in counts:
        value, times = check.pair(item, "A pair in counts", "(value, how many)")
        key = check.number(value, "A value in counts", from_text=False)
        merged[key] = merged.get(key, 0) + check.whole_number(times, "A count in counts", 1)
    return sorted(merged.items())


def _counted_quantile(ordered: Sequence[tuple[Decimal, int]], n: int, quarter: int) -> Decimal:
    """_quantile over the data the (value, how many) pairs stand for, without expanding them."""
    index, remainder = divmod((n - 1) * quarter, 4)
    below, low, high = 0, None, None
    for value, times in ordered:  # the values at order positions `index` and `index + 1`
        if low is None and index < below + times:
            low = value
        if index + 1 < below + times:
            high = value
            break
        below += times
    if remainder == 0 or high is None:
        return low
    return (low * (4 - remainder) + high * remainder) / 4


def counted_summary(counts: Sequence[object]) -> Summary | TooFew:
    """summary_or_too_few of the data given as (value, how many) pairs, as a GROUP BY value counts them.

    The same figures as expanding the pairs and calling summary_or_too_few: a database groups
    millions of values into a few thousand distinct ones, and the quartiles stay exact.
    """
    ordered = _sorted_counts(counts)
    n = sum(times for _, times in ordered)
    if not shown(n):
        return TooFew(n)
    return Summary(n, *(_counted_quantile(ordered, n, quarter) for quarter in (2, 1, 3)))


# --- Rates ------------------------------------------------------------------------------------------


def _counts(successes: object, n: object) -> tuple[int, int]:
    total = check.whole_number(n, "n", 0)
    return check.whole_number(successes, "successes", 0, total), total


def wilson(successes: int, n: int, z: Decimal = Z_95) -> Interval | None:
    """The Wilson score interval for successes out of n (95 % with the default z); None when n is 0.

    centre = (s + z²/2) / (n + z²), half-width = z / (n + z²) x √(s(n - s)/n + z²/4), both bounds
    clipped to [0, 1]. At s = 0 the low bound is exactly 0 and at s = n the high bound exactly 1 (what
    the formula gives without the square root's rounding). With no trials there is no rate to bound.
    """
    s, total = _counts(successes, n)
    z = check.positive(z, "z")
    if total == 0:
        return None
    z2 = z * z
    denominator = Decimal(total) + z2
    centre = (s + z2 / 2) / denominator
    half = z / denominator * (Decimal(s * (total - s)) / total + z2 / 4).sqrt()
    low = Decimal(0) if s == 0 else max(Decimal(0), centre - half)
    high = Decimal(1) if s == total else min(Decimal(1), centre + half)
    return Interval(low, high)


def rate(successes: int, n: int) -> Rate | None:
    """successes / n with its 95 % Wilson interval; None when n is 0."""
    interval = wilson(successes, n)
    if interval is None:
        return None
    return Rate(n, successes, Decimal(successes) / n, interval.low, interval.high)


# --- The small-group rule ---------------------------------------------------------------------------


def shown(n: int) -> bool:
    """Whether a group of n programs may show figures: n >= MIN_GROUP."""
    return check.whole_number(n, "n", 0) >= MIN_GROUP


def summary_or_too_few(values: Sequence[object]) -> Summary | TooFew:
    """The values' Summary, or TooFew(n) when there are fewer than MIN_GROUP of them (none included)."""
    ordered = _sorted_values(values)
    return _summary(ordered) if shown(len(ordered)) else TooFew(len(ordered))


def rate_or_too_few(successes: int, n: int) -> Rate | TooFew:
    """The Rate, or TooFew(n) when n is below MIN_GROUP (n = 0 included)."""
    _counts(successes, n)
    found = rate(successes, n) if shown(n) else None
    return found if found is not None else TooFew(n)


def hidden_groups(sizes: Sequence[object]) -> frozenset[int]:
    """Which groups of a breakdown show "too few" (their indexes), when the breakdown's total is shown.

    Every group under MIN_GROUP; and, when the programs so hidden number fewer than MIN_GROUP (one
    hidden clinic of 3 beside a shown total), the smallest shown groups too until they reach it,
    so that the total minus the shown groups never reads out a group that is too small. Empty
    groups have nothing to read out and are never picked to make up the number.
    """
    check.sequence_of(sizes, "sizes", "group sizes")
    counted = [check.whole_number(size, "A size in sizes", 0) for size in sizes]
    hidden = {index for index, size in enumerate(counted) if not shown(size)}
    covered = sum(counted[index] for index in hidden)
    for index in sorted(set(range(len(counted))) - hidden, key=lambda index: (counted[index], index)):
        if covered == 0 or covered >= MIN_GROUP:
            break
        hidden.add(index)
        covered += counted[index]
    return frozenset(hidden)


# --- Bands ------------------------------------------------------------------------------------------


def adherence_band(sessions_per_week: Decimal) -> str:
    """under_1 (below 1 session a week), 1_to_2 (1 up to but not including 2) or 2_plus."""
    value = check.number(sessions_per_week, "sessions_per_week", 0, from_text=False)
    return next((band for limit, band in ADHERENCE_BANDS if value < limit), TWO_PLUS)


def age_band(age_years: int) -> str:
    """The 5-year band of a whole age 0-120, as "40-44"; every age of 90 or more is "90+"."""
    age = check.whole_number(age_years, "age_years", 0, MAX_AGE)
    if age >= TOP_AGE_BAND:
        return f"{TOP_AGE_BAND}+"
    low = age - age % AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"
