"""Scores, clinically important change and isometric strength: hand-computed tables."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.assessments import scoring
from apps.assessments.scoring import InvalidQuestionnaire, InvalidScore

LUMBAR_ANGLES = [72, 60, 48, 36, 24, 12, 0]


# Units


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (100, "ft_lbf", "N_m", D("135.5818")),
        (1, "ft_lbf", "N_m", D("1.355818")),
        (10, "in_lbf", "N_m", D("1.129848")),
        (900, "in_lbf", "N_m", D("101.68632")),  # 900 x 0.1129848
        ("135.5818", "N_m", "ft_lbf", D(100)),
        ("1.129848", "N_m", "in_lbf", D(10)),
        ("101.68632", "N_m", "in_lbf", D(900)),
        (D("12.5"), "ft_lbf", "ft_lbf", D("12.5")),
        (0.1, "N_m", "N_m", D("0.1")),  # a float is read through its repr, not its binary value
    ],
)
def test_it_converts_torque_both_ways(value, from_unit, to_unit, expected):
    assert scoring.convert_torque(value, from_unit, to_unit) == expected


def test_twelve_inch_pounds_are_one_foot_pound_to_the_constants_precision():
    # 12 x 0.1129848 = 1.3558176 N·m; / 1.355818 = 0.99999970... (the published constants are rounded)
    assert abs(scoring.convert_torque(12, "in_lbf", "ft_lbf") - 1) < D("0.000001")


@pytest.mark.parametrize("unit", ["Nm", "ft-lbf", "", "N·m"])
def test_it_refuses_an_unknown_unit(unit):
    with pytest.raises(ValueError, match="Unknown torque unit"):
        scoring.to_newton_metres(1, unit)


@pytest.mark.parametrize("value", [True, None, "abc", float("nan"), float("inf"), [1]])
def test_it_refuses_a_torque_that_is_not_a_finite_number(value):
    with pytest.raises(ValueError, match="number"):
        scoring.to_newton_metres(value, "N_m")


@pytest.mark.parametrize(
    ("kind", "unit", "expected"),
    [
        ("lumbar_extension", "ft_lbf", D(600)),
        ("lumbar_extension", "N_m", D("813.4908")),  # 600 x 1.355818
        ("cervical_extension", "in_lbf", D(1200)),
        ("cervical_extension", "N_m", D("135.58176")),  # 1200 x 0.1129848
    ],
)
def test_the_plausible_torque_cap_is_documented_per_machine_kind(kind, unit, expected):
    assert scoring.plausible_torque_cap(kind, unit) == expected


# ODI


@pytest.mark.parametrize(
    ("answers", "percent", "band", "answered"),
    [
        ([3, 3, 2, 2, 1, 1, 1, 1, 1, 1], D("32.0"), "moderate", 10),  # published: 16 / 50 = 32 %
        ([3, 3, 2, 2, 1, 1, 1, 1, 2, None], D("35.6"), "moderate", 9),  # published: 16 / 45 = 35.55... -> 35.6
        ([0] * 10, D("0.0"), "minimal", 10),
        ([5] * 10, D("100.0"), "bed_bound", 10),
        ([1] * 10, D("20.0"), "minimal", 10),  # 10 / 50 = 20 %: the top of minimal
        ([2, 1, 1, 1, 1, 1, 1, 1, 1, 1], D("22.0"), "moderate", 10),  # 11 / 50
        ([1, 0, 0, 0, 0, 0, 0, 0, None, 0], D("2.2"), "minimal", 9),  # 1 / 45 = 2.22...
        ([4, 0, 0, 0, None, 0, 0, 0, 0, 0], D("8.9"), "minimal", 9),  # 4 / 45 = 8.88... rounds up
        ([None, 5, 5, 5, 5, 5, 5, 5, 5, 5], D("100.0"), "bed_bound", 9),  # 45 / 45
        ([4, 4, 4, 4, 4, 4, 4, 4, 4, 4], D("80.0"), "crippled", 10),  # 40 / 50
        ([5, 4, 4, 4, 4, 4, 4, 4, 4, 4], D("82.0"), "bed_bound", 10),  # 41 / 50
    ],
)
def test_it_scores_the_odi(answers, percent, band, answered):
    score = scoring.odi_score(answers)
    assert score == scoring.Score("odi", percent, percent, band, answered)


def test_it_refuses_an_odi_with_only_eight_sections_answered():
    with pytest.raises(InvalidQuestionnaire) as error:
        scoring.odi_score([1, 1, 1, 1, 1, 1, 1, 1, None, None])
    assert str(error.value) == "ODI needs at least 9 of 10 sections answered; 8 were."


@pytest.mark.parametrize("count", [0, 9, 11])
def test_it_refuses_the_wrong_number_of_odi_items(count):
    with pytest.raises(InvalidQuestionnaire, match=f"ODI has 10 sections; got {count} answers."):
        scoring.odi_score([1] * count)


@pytest.mark.parametrize("bad", [6, -1, 2.5, True, "3", D(2)])
def test_it_refuses_an_odi_item_outside_0_to_5_naming_the_section(bad):
    answers: list[object] = [1] * 10
    answers[2] = bad
    with pytest.raises(InvalidQuestionnaire) as error:
        scoring.odi_score(answers)
    assert str(error.value) == f"ODI section 3 (lifting): {bad!r} is not a score 0-5."


@pytest.mark.parametrize(
    ("percent", "band"),
    [
        ("0", "minimal"),
        ("20", "minimal"),
        ("20.1", "moderate"),
        ("40", "moderate"),
        ("40.1", "severe"),
        ("60", "severe"),
        ("60.1", "crippled"),
        ("80", "crippled"),
        ("80.1", "bed_bound"),
        ("100", "bed_bound"),
    ],
)
def test_odi_band_edges_are_inclusive(percent, band):
    assert scoring.odi_band(D(percent)) == band


@pytest.mark.parametrize("percent", ["-0.1", "100.1"])
def test_odi_band_refuses_a_percent_outside_0_to_100(percent):
    with pytest.raises(InvalidScore, match="outside the odi range 0-100"):
        scoring.odi_band(D(percent))


# NDI


@pytest.mark.parametrize(
    ("answers", "raw", "percent", "band"),
    [
        ([3, 3, 2, 2, 1, 1, 1, 1, 1, 1], D("16.0"), D("32.0"), "moderate"),  # 16 x 10 / 10
        ([3, 3, 2, 2, 1, 1, 1, 1, 2, None], D("17.8"), D("35.6"), "moderate"),  # 160 / 9 = 17.77...
        ([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], D("4.0"), D("8.0"), "none"),
        # 40 / 9 = 4.44... -> 4.4, percent = 4.4 x 2 (not 8.88... -> 8.9): raw and % always agree
        ([1, 1, 1, 1, 0, 0, 0, 0, 0, None], D("4.4"), D("8.8"), "mild"),
        ([5] * 10, D("50.0"), D("100.0"), "complete"),
        ([0] * 9 + [None], D("0.0"), D("0.0"), "none"),
    ],
)
def test_it_scores_the_ndi_raw_and_percent(answers, raw, percent, band):
    answered = sum(answer is not None for answer in answers)
    assert scoring.ndi_score(answers) == scoring.Score("ndi", raw, percent, band, answered)


def test_it_refuses_an_ndi_with_only_eight_items_answered():
    with pytest.raises(InvalidQuestionnaire) as error:
        scoring.ndi_score([None, 1, 1, 1, 1, 1, 1, 1, 1, None])
    assert str(error.value) == "NDI needs at least 9 of 10 sections answered; 8 were."


def test_it_names_every_bad_ndi_item():
    with pytest.raises(InvalidQuestionnaire) as error:
        scoring.ndi_score([1, 1, 1, 1, 7, 1, 1, 1, 1, -2])
    assert str(error.value) == (
        "NDI section 5 (headaches): 7 is not a score 0-5. NDI section 10 (recreation): -2 is not a score 0-5."
    )


@pytest.mark.parametrize(
    ("raw", "band"),
    [
        ("0", "none"),
        ("4", "none"),
        ("4.1", "mild"),
        ("5", "mild"),
        ("14", "mild"),
        ("14.1", "moderate"),
        ("15", "moderate"),
        ("24", "moderate"),
        ("25", "severe"),
        ("34", "severe"),
        ("34.1", "complete"),
        ("35", "complete"),
        ("50", "complete"),
    ],
)
def test_ndi_band_edges_on_the_raw_score(raw, band):
    assert scoring.ndi_band(D(raw)) == band


def test_ndi_band_refuses_a_percent_passed_as_raw():
    with pytest.raises(InvalidScore, match="outside the ndi range 0-50"):
        scoring.ndi_band(64)


# Pain NRS


@pytest.mark.parametrize("rating", [0, 5, 10])
def test_it_accepts_a_whole_pain_rating_0_to_10(rating):
    assert scoring.nrs_score(rating) == scoring.Score("pain_nrs", D(rating), D(rating * 10), None, 1)


@pytest.mark.parametrize("rating", [11, -1, 5.5, True, False, "5", None, D(5)])
def test_it_refuses_any_other_pain_rating(rating):
    with pytest.raises(InvalidScore) as error:
        scoring.nrs_score(rating)
    assert str(error.value) == f"Pain must be a whole number from 0 to 10; got {rating!r}."


# Clinically important improvement (lower is better)


@pytest.mark.parametrize(
    ("instrument", "baseline", "current", "change", "relative", "criteria"),
    [
        ("odi", "50", "40", "10", "20.0", ("points",)),  # exactly 10 points
        ("odi", "50", "40.1", "9.9", "19.8", ()),  # 9.9 points, 19.8 %
        ("odi", "20", "14", "6", "30.0", ("percent",)),  # exactly 30 %: 6 / 20
        ("odi", "20", "14.02", "5.98", "29.9", ()),  # 5.98 / 20 = 29.9 %
        ("odi", "30", "21.03", "8.97", "29.9", ()),  # 8.97 / 30 = 29.9 %
        ("odi", "32", "22", "10", "31.2", ("points", "percent")),  # 10 / 32 = 31.25 %, floored for display
        ("odi", "10", "20", "-10", "-100.0", ()),  # worse
        ("odi", "0", "0", "0", None, ()),  # baseline 0: no relative change
        ("odi", "0", "10", "-10", None, ()),
        ("pain_nrs", 6, 4, "2", "33.3", ("points", "percent")),
        ("pain_nrs", 8, 6, "2", "25.0", ("points",)),  # exactly 2 points
        ("pain_nrs", 3, 2, "1", "33.3", ("percent",)),  # 1 point but 33 %
        ("pain_nrs", 10, 9, "1", "10.0", ()),
        ("pain_nrs", 10, 7, "3", "30.0", ("points", "percent")),  # exactly 30 %
        ("pain_nrs", 0, 0, "0", None, ()),
        ("ndi", "20", "15", "5", "25.0", ("points",)),  # exactly 5 raw points
        ("ndi", "20", "15.1", "4.9", "24.5", ()),
        ("ndi", "10", "6", "4", "40.0", ()),  # NDI has no relative criterion
    ],
)
def test_clinically_important_improvement(instrument, baseline, current, change, relative, criteria):
    result = scoring.improvement(instrument, baseline, current)
    assert result.change == D(change)
    assert result.relative_pct == (D(relative) if relative is not None else None)
    assert result.criteria == criteria
    assert result.important is bool(criteria)


@pytest.mark.parametrize(
    ("instrument", "baseline", "current", "message"),
    [
        ("odi", 101, 50, "Baseline 101 is outside the odi range 0-100."),
        ("ndi", 40, 64, "Current 64 is outside the ndi range 0-50."),
        ("pain_nrs", 11, 5, "Baseline 11 is outside the pain_nrs range 0-10."),
        ("promis", 50, 40, "Unknown instrument 'promis': use odi, ndi or pain_nrs."),
    ],
)
def test_improvement_refuses_scores_outside_the_instrument(instrument, baseline, current, message):
    with pytest.raises(InvalidScore) as error:
        scoring.improvement(instrument, baseline, current)
    assert str(error.value) == message


# Strength

# Healthy lumbar curve shape [S6]: 180 N·m at 0° rising to 427 N·m at 72°.
CURVE = [(0, 180), (12, 220), (24, 260), (36, 300), (48, 340), (60, 380), (72, 427)]


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (CURVE, D(21642)),  # 12 x ((180 + 427) / 2 + 220 + 260 + 300 + 340 + 380) = 12 x 1803.5
        (list(reversed(CURVE)), D(21642)),  # order of entry does not matter
        ([(72, 427), (0, 180)], D(21852)),  # (180 + 427) / 2 x 72
        ([(0, "10.5"), (12, "11.5")], D(132)),  # 11 x 12
        ([(12, 100), (36, 100)], D(2400)),  # a gap in the angles is bridged: 100 x 24
        ([(36, 300)], D(0)),
    ],
)
def test_strength_index_is_the_trapezoid_area(points, expected):
    assert scoring.strength_index(points) == expected


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "points must be a non-empty list or tuple of (angle, torque) pairs; got []."),  # no test, no area
        ([(0, 100), (12, -5)], "A torque in points must be a number 0 or more; got -5."),  # not a negative area
        ([(-12, 100), (0, 100)], "An angle in points must be a number 0-180; got -12."),
    ],
)
def test_strength_index_refuses_points_that_measured_nothing(points, message):
    with pytest.raises(scoring.RuleArgumentError) as error:
        scoring.strength_index(points)
    assert str(error.value) == message


def test_strength_index_refuses_a_duplicate_angle():
    with pytest.raises(ValueError, match=r"^Angle 12° appears more than once\.$"):
        scoring.strength_index([(12, 100), (24, 120), (12, 90)])


def test_compare_tests_uses_only_the_shared_angles():
    before = [(0, 100), (12, 150), (24, 200)]
    after = [(12, 180), (24, 240), (36, 300)]
    result = scoring.compare_tests(before, after)
    assert result.angles == (
        scoring.AngleChange(D(12), D(150), D(180), D("20.0")),  # (180 - 150) / 150
        scoring.AngleChange(D(24), D(200), D(240), D("20.0")),
    )
    assert result.index_before == D(2100)  # (150 + 200) / 2 x 12, not over 0-24
    assert result.index_after == D(2520)  # (180 + 240) / 2 x 12, not over 12-36
    assert result.index_change_pct == D("20.0")


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (3, 4, D("33.3")),
        (3, 2, D("-33.3")),
        (6, 7, D("16.7")),  # 16.66... rounds half up
        (200, 200, D("0.0")),
        (0, 50, None),  # no base for a percentage
    ],
)
def test_per_angle_change_percent(before, after, change):
    result = scoring.compare_tests([(36, before)], [(36, after)])
    assert result.angles[0].change_pct == change


def test_compare_tests_with_no_shared_angle_has_nothing_to_compare():
    result = scoring.compare_tests([(0, 100)], [(12, 100)])
    assert result == scoring.StrengthComparison((), D(0), D(0), None)


@pytest.mark.parametrize(
    ("rom_min", "rom_max", "expected"),
    [(0, 72, D(427)), (0, 60, D(380)), (24, 36, D(300)), (13, 23, None)],
)
def test_peak_torque_within_the_rom(rom_min, rom_max, expected):
    assert scoring.peak_torque_in_rom(CURVE, rom_min, rom_max) == expected


def _problems(points, rom=(0, 72), unit="ft_lbf", cap=600):
    return scoring.test_point_problems(points, LUMBAR_ANGLES, rom[0], rom[1], unit, cap)


@pytest.mark.parametrize(
    ("points", "rom", "messages"),
    [
        (CURVE, (0, 72), []),
        ([(36, 300), (24, 260)], (24, 36), []),  # partial ROM is valid
        ([(36, 0)], (0, 72), []),  # zero torque is a valid reading
        ([(36, 600)], (0, 72), []),  # the cap itself is plausible
        ([], (0, 72), ["No points: record the torque at one angle at least."]),
        ([(50, 300)], (0, 72), ["50°: not one of this machine's test angles (72, 60, 48, 36, 24, 12, 0)."]),
        ([(60, 300)], (0, 48), ["60°: outside the range of motion reached (0-48°)."]),
        ([(36, 300), (36, 310)], (0, 72), ["36°: recorded more than once."]),
        ([(36, -1)], (0, 72), ["36°: torque -1 ft·lbf is negative."]),
        ([(36, "600.5")], (0, 72), ["36°: torque 600.5 ft·lbf is above the plausible maximum of 600 ft·lbf."]),
        ([(36, "x")], (0, 72), ["Point 1: angle and torque must be numbers."]),
        (
            [(36, 300)],
            (48, 24),
            ["Range of motion reached: 48° is above 24°.", "36°: outside the range of motion reached (48-24°)."],
        ),
        (
            [(50, -5), (72, 100)],
            (0, 60),
            [
                "50°: not one of this machine's test angles (72, 60, 48, 36, 24, 12, 0).",
                "50°: torque -5 ft·lbf is negative.",
                "72°: outside the range of motion reached (0-60°).",
            ],
        ),
    ],
)
def test_test_point_problems(points, rom, messages):
    assert _problems(points, rom=rom) == messages


def test_test_point_problems_speaks_the_capture_unit():
    assert _problems([(36, 1300)], unit="in_lbf", cap=1200) == [
        "36°: torque 1300 in·lbf is above the plausible maximum of 1200 in·lbf."
    ]


def test_test_point_problems_refuses_an_unknown_unit():
    assert _problems([(36, 100)], unit="kg") == ["Unknown torque unit 'kg': use ft_lbf, in_lbf or N_m."]
