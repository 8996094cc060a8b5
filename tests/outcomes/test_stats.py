"""Outcome statistics: medians and quartiles, Wilson intervals, the small-group rule, bands; hand-computed."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.clinics.arguments import RuleArgumentError
from apps.outcomes import stats
from apps.outcomes.stats import Interval, Rate, Summary, TooFew

Z = D("1.959963984540054")
Z2 = Z * Z  # 3.841458820694124...
CLOSE = D("1e-25")  # the Wilson bounds go through a square root at 28 significant digits


# --- Median -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3, 1, 2], D(2)),  # odd: sorted 1 2 3, the middle one
        ([4, 1, 3, 2], D("2.5")),  # even: sorted 1 2 3 4, (2 + 3) / 2
        ([7], D(7)),  # one value is its own median
        ([0.1, 0.2], D("0.15")),  # floats read through their repr: (0.1 + 0.2) / 2 exactly, not 0.15000000000000002
        ([D("-1.5"), D(10), D(2)], D(2)),
    ],
)
def test_median(values, expected):
    assert stats.median(values) == expected
    assert stats.median(values) == statistics.median(D(repr(v)) if isinstance(v, float) else D(v) for v in values)


def test_the_median_of_nothing_is_none():
    assert stats.median([]) is None
    assert stats.median(()) is None


# --- Quartiles (linear interpolation: position h = (n - 1) x p of the sorted data) -------------------


def test_quartiles_of_one_to_ten():
    # q1: h = 9 x 0.25 = 2.25 -> x[2] + 0.25 x (x[3] - x[2]) = 3 + 0.25 = 3.25
    # median: h = 4.5 -> 5 + 0.5 x (6 - 5) = 5.5;  q3: h = 6.75 -> 7 + 0.75 x (8 - 7) = 7.75
    values = list(range(10, 0, -1))  # unsorted on purpose
    assert stats.quartiles(values) == Summary(n=10, median=D("5.5"), q1=D("3.25"), q3=D("7.75"))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # h = 3 x 0.25 = 0.75 -> 1 + 0.75 = 1.75; h = 1.5 -> 2.5; h = 2.25 -> 3 + 0.25 = 3.25
        ([1, 2, 3, 4], Summary(4, D("2.5"), D("1.75"), D("3.25"))),
        # sorted 0 1 4 10: h = 0.75 -> 0 + 0.75 x 1 = 0.75; h = 1.5 -> 1 + 0.5 x 3 = 2.5; h = 2.25 -> 4 + 0.25 x 6 = 5.5
        ([10, 0, 4, 1], Summary(4, D("2.5"), D("0.75"), D("5.5"))),
        ([5, 5], Summary(2, D(5), D(5), D(5))),
    ],
)
def test_quartiles_of_short_lists(values, expected):
    assert stats.quartiles(values) == expected


@pytest.mark.parametrize(
    "values",
    [
        list(range(1, 11)),
        [1, 2, 3, 4],
        [10, 0, 4, 1],
        [D("12.5"), D("3.1"), D("40"), D("7.25"), D("0"), D("18.75"), D("9")],
        [0.1, 0.7, 0.3],
    ],
)
def test_quartiles_agree_with_statistics_quantiles_inclusive(values):
    decimals = [D(repr(v)) if isinstance(v, float) else D(v) for v in values]
    q1, middle, q3 = statistics.quantiles(decimals, n=4, method="inclusive")
    assert stats.quartiles(values) == Summary(len(values), middle, q1, q3)


def test_one_value_is_its_own_quartiles():
    # statistics.quantiles refuses a single value (before Python 3.13); type 7 gives h = 0 for every p.
    assert stats.quartiles([D("42.5")]) == Summary(1, D("42.5"), D("42.5"), D("42.5"))


def test_quartiles_of_nothing_are_none():
    assert stats.quartiles([]) is None


# --- Wilson ------------------------------------------------------------------------------------------


def closed_form(successes: int, n: int) -> tuple[D, D]:
    """Wilson (1927) as usually printed, in p-hat form: (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = D(successes) / n
    centre = p + Z2 / (2 * n)
    spread = Z * (p * (1 - p) / n + Z2 / (4 * n * n)).sqrt()
    scale = 1 + Z2 / n
    return max(D(0), (centre - spread) / scale), min(D(1), (centre + spread) / scale)


def float_form(successes: int, n: int) -> tuple[float, float]:
    p, z = successes / n, 1.959963984540054
    centre, spread = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


@pytest.mark.parametrize(
    ("successes", "n", "published"),
    [
        # 95 % Wilson intervals to 4 places: 81/263 is the worked example of Newcombe (1998, Stat Med 17:857);
        # the others as Wilson calculators print them.
        (0, 10, ("0", "0.2775")),
        (10, 10, ("0.7225", "1")),
        (5, 10, ("0.2366", "0.7634")),
        (1, 20, ("0.0089", "0.2361")),
        (81, 263, ("0.2553", "0.3662")),
    ],
)
def test_wilson_against_the_closed_form_and_published_values(successes, n, published):
    interval = stats.wilson(successes, n)
    low, high = closed_form(successes, n)
    assert abs(interval.low - low) < CLOSE
    assert abs(interval.high - high) < CLOSE
    float_low, float_high = float_form(successes, n)
    assert float(interval.low) == pytest.approx(max(0.0, float_low), abs=1e-12)
    assert float(interval.high) == pytest.approx(min(1.0, float_high), abs=1e-12)
    rounded = (interval.low.quantize(D("0.0001")), interval.high.quantize(D("0.0001")))
    assert rounded == (D(published[0]).quantize(D("0.0001")), D(published[1]).quantize(D("0.0001")))


def test_wilson_by_hand():
    # 5/10: centre = (5 + z²/2) / (10 + z²) = 0.5 exactly (symmetric);
    # half = z / 13.841459 x √(5 x 5 / 10 + z²/4) = 0.1416010 x √3.4603647 = 0.1416010 x 1.8602056 = 0.263407
    interval = stats.wilson(5, 10)
    assert abs(interval.low - D("0.236593")) < D("0.000001")
    assert abs(interval.high - D("0.763407")) < D("0.000001")
    assert abs((interval.low + interval.high) / 2 - D("0.5")) < CLOSE
    # 0/10: half = z / (10 + z²) x √(z²/4) = (z²/2) / (10 + z²) = centre, so high = z² / (10 + z²) = 0.2775328
    assert stats.wilson(0, 10) == Interval(D(0), stats.wilson(0, 10).high)
    assert abs(stats.wilson(0, 10).high - Z2 / (10 + Z2)) < CLOSE
    # 10/10 mirrors it: low = 1 - z² / (10 + z²) = 10 / (10 + z²) = 0.7224672, high exactly 1
    assert stats.wilson(10, 10).high == D(1)
    assert abs(stats.wilson(10, 10).low - 10 / (10 + Z2)) < CLOSE


def test_a_wider_z_gives_a_wider_interval():
    narrow, wide = stats.wilson(5, 10, D("1.644853626951472")), stats.wilson(5, 10)  # 90 % inside 95 %
    assert wide.low < narrow.low < narrow.high < wide.high


def test_no_trials_give_no_interval_and_no_rate():
    assert stats.wilson(0, 0) is None
    assert stats.rate(0, 0) is None


def test_a_rate_carries_its_n_and_interval():
    interval = stats.wilson(81, 263)
    assert stats.rate(81, 263) == Rate(n=263, successes=81, rate=D(81) / 263, low=interval.low, high=interval.high)
    assert stats.rate(0, 12).rate == D(0)
    assert stats.rate(12, 12).rate == D(1)


@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_wilson_interval_holds_the_observed_rate_within_zero_and_one(counts):
    successes, n = counts
    interval = stats.wilson(successes, n)
    assert D(0) <= interval.low <= D(successes) / n <= interval.high <= D(1)


# --- The small-group rule -----------------------------------------------------------------------------


def test_nine_programs_show_too_few_and_ten_show_figures():
    assert stats.MIN_GROUP == 10
    assert stats.shown(9) is False
    assert stats.shown(10) is True
    assert stats.shown(0) is False
    assert stats.summary_or_too_few(list(range(9))) == TooFew(9)
    assert stats.summary_or_too_few(list(range(1, 11))) == stats.quartiles(list(range(1, 11)))
    assert stats.summary_or_too_few([]) == TooFew(0)
    assert stats.rate_or_too_few(3, 9) == TooFew(9)
    assert stats.rate_or_too_few(3, 10) == stats.rate(3, 10)
    assert stats.rate_or_too_few(0, 0) == TooFew(0)


def test_too_few_reads_as_too_few_and_carries_no_figure():
    marker = stats.rate_or_too_few(9, 9)
    assert str(marker) == "too few"
    assert not hasattr(marker, "rate")
    assert not hasattr(marker, "median")


# --- Bands ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sessions_per_week", "band"),
    [
        (D(0), "under_1"),
        (D("0.99"), "under_1"),
        (D(1), "1_to_2"),
        (D("1.99"), "1_to_2"),
        (D(2), "2_plus"),
        (D("3.5"), "2_plus"),
        (0.99, "under_1"),
        (2, "2_plus"),
    ],
)
def test_adherence_band(sessions_per_week, band):
    assert stats.adherence_band(sessions_per_week) == band


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "0-4"), (4, "0-4"), (5, "5-9"), (44, "40-44"), (45, "45-49"), (89, "85-89"), (90, "90+"), (120, "90+")],
)
def test_age_band(age, band):
    assert stats.age_band(age) == band


# --- Refusals -----------------------------------------------------------------------------------------


def generator():
    yield 1


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: stats.median([1, True]), "values"),
        (lambda: stats.median([1, float("nan")]), "values"),
        (lambda: stats.median([D("NaN")]), "values"),
        (lambda: stats.median([float("inf")]), "values"),
        (lambda: stats.median(["1"]), "values"),
        (lambda: stats.median(None), "values"),
        (lambda: stats.median(generator()), "values"),
        (lambda: stats.quartiles([1, None]), "values"),
        (lambda: stats.summary_or_too_few("123"), "values"),
        (lambda: stats.wilson(True, 10), "successes"),
        (lambda: stats.wilson(1, True), "n"),
        (lambda: stats.wilson(-1, 10), "successes"),
        (lambda: stats.wilson(1, -1), "n"),
        (lambda: stats.wilson(11, 10), "successes"),
        (lambda: stats.wilson(1, 0), "successes"),
        (lambda: stats.wilson(1.0, 10), "successes"),
        (lambda: stats.wilson(1, 10, D(0)), "z"),
        (lambda: stats.wilson(1, 10, float("nan")), "z"),
        (lambda: stats.rate(11, 10), "successes"),
        (lambda: stats.rate_or_too_few(11, 10), "successes"),
        (lambda: stats.rate_or_too_few(1, 2.5), "n"),
        (lambda: stats.shown(-1), "n"),
        (lambda: stats.shown(True), "n"),
        (lambda: stats.adherence_band(D("-0.1")), "sessions_per_week"),
        (lambda: stats.adherence_band(float("nan")), "sessions_per_week"),
        (lambda: stats.adherence_band(True), "sessions_per_week"),
        (lambda: stats.adherence_band("1.5"), "sessions_per_week"),
        (lambda: stats.age_band(-1), "age_years"),
        (lambda: stats.age_band(121), "age_years"),
        (lambda: stats.age_band(True), "age_years"),
        (lambda: stats.age_band(44.0), "age_years"),
        (lambda: stats.age_band(None), "age_years"),
    ],
)
def test_bad_arguments_are_refused_naming_them(call, named):
    with pytest.raises(RuleArgumentError, match=named) as raised:
        call()
    assert str(raised.value).endswith(".")
