"""Questionnaire scores, clinically important change and isometric strength, as pure functions.

Numbers are `decimal.Decimal` throughout, so a score never depends on binary floating point: inputs may
be int, str, Decimal or float (a float is read through its shortest repr, 0.1 → Decimal("0.1")). Nothing
is rounded except where a rule says so: ODI % and NDI raw to one decimal (ROUND_HALF_UP), change
percentages to one decimal. Unit conversions are exact multiplications, or divisions at the default
context's 28 significant digits; round them only for display or storage.

Formulas and thresholds: DOMAIN.md "Scores" and research §9.2. Every function refuses an argument it
cannot mean with `RuleArgumentError` (InvalidScore is one), naming the argument (apps.clinics.arguments).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from itertools import pairwise

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError

FT_LBF = "ft_lbf"
IN_LBF = "in_lbf"
N_M = "N_m"
NM_PER_UNIT: dict[str, Decimal] = {FT_LBF: Decimal("1.355818"), IN_LBF: Decimal("0.1129848"), N_M: Decimal(1)}
UNIT_LABELS: dict[str, str] = {FT_LBF: "ft·lbf", IN_LBF: "in·lbf", N_M: "N·m"}

ODI = "odi"
NDI = "ndi"
PAIN_NRS = "pain_nrs"
ODI_SECTIONS = (
    "pain intensity",
    "personal care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex life",
    "social life",
    "travelling",
)
NDI_SECTIONS = (
    "pain intensity",
    "personal care",
    "lifting",
    "reading",
    "headaches",
    "concentration",
    "work",
    "driving",
    "sleeping",
    "recreation",
)
MIN_ANSWERED = 9  # ODI per awell-score [S42]; NDI the same by decision [D]
ODI_BANDS = ((20, "minimal"), (40, "moderate"), (60, "severe"), (80, "crippled"))  # else bed_bound [S44]
NDI_BANDS = ((4, "none"), (14, "mild"), (24, "moderate"), (34, "severe"))  # raw /50, else complete [S48]

# Improvement = baseline - current (lower is better): (points, % of baseline or None) [S45] [S48].
MCID: dict[str, tuple[Decimal, Decimal | None]] = {
    ODI: (Decimal(10), Decimal(30)),
    PAIN_NRS: (Decimal(2), Decimal(30)),
    NDI: (Decimal(5), None),
}
SCORE_RANGES = {ODI: (0, 100), NDI: (0, 50), PAIN_NRS: (0, 10)}

# Torque plausibility caps, in the unit each machine captures. The highest published trained lumbar
# torque is 607 N·m at 72° [S6]; 600 ft·lbf (≈ 813 N·m) leaves a third of headroom. The cervical stack
# goes to 900 in·lbf [S3]; 1,200 in·lbf (≈ 136 N·m) leaves the same. Above these, suspect a typo or unit mix-up.
PLAUSIBLE_TORQUE_CAPS: dict[str, tuple[Decimal, str]] = {
    "lumbar_extension": (Decimal(600), FT_LBF),
    "cervical_extension": (Decimal(1200), IN_LBF),
}

# A joint's range of motion never spans half a turn; the machines reach 72° (lumbar) and 126° (cervical).
ANGLE_RANGE = (0, 180)

ONE_DECIMAL = Decimal("0.1")


class InvalidScore(RuleArgumentError):
    pass


class InvalidQuestionnaire(InvalidScore):
    pass


@dataclass(frozen=True)
class Score:
    instrument: str
    value: Decimal  # ODI: percent; NDI: raw 0-50; pain NRS: the rating
    percent: Decimal  # 0-100 (NRS: rating x 10, for charts)
    band: str | None  # None for pain NRS: DOMAIN.md defines no NRS bands
    answered: int


@dataclass(frozen=True)
class Improvement:
    change: Decimal  # baseline - current; positive is better
    relative_pct: Decimal | None  # change / baseline x 100, floored to 0.1; None when baseline is 0
    important: bool
    criteria: tuple[str, ...]  # the thresholds met: "points", "percent"


@dataclass(frozen=True)
class AngleChange:
    angle_deg: Decimal
    before: Decimal
    after: Decimal
    change_pct: Decimal | None  # None when the before torque is 0


@dataclass(frozen=True)
class StrengthComparison:
    angles: tuple[AngleChange, ...]  # the angles both tests share, ascending
    index_before: Decimal  # N·m·deg over the shared angles only
    index_after: Decimal
    index_change_pct: Decimal | None


def as_decimal(value: object, name: str = "value") -> Decimal:
    """A finite Decimal from an int, float, Decimal or numeric text; never a bool, NaN or infinity."""
    return check.number(value, check.text(name, "name"))


def fmt(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 60, 12.5, 0.1129848."""
    text = format(as_decimal(number, "number").normalize(), "f")
    return "0" if text == "-0" else text


# Units


def _nm_per(unit: object) -> Decimal:
    if not isinstance(unit, str) or unit not in NM_PER_UNIT:
        raise RuleArgumentError(f"Unknown torque unit {check.shown(unit)}: use ft_lbf, in_lbf or N_m.")
    return NM_PER_UNIT[unit]


def _torque(value: object, name: str = "torque") -> Decimal:
    """Torque is never negative (DOMAIN.md "Isometric strength test"): a negative one is a sign slip."""
    return check.number(value, name, 0)


def to_newton_metres(value: object, unit: str) -> Decimal:
    return _torque(value) * _nm_per(unit)


def from_newton_metres(value_nm: object, unit: str) -> Decimal:
    return _torque(value_nm) / _nm_per(unit)


def convert_torque(value: object, from_unit: str, to_unit: str) -> Decimal:
    if from_unit == to_unit:
        _nm_per(from_unit)
        return _torque(value)
    return from_newton_metres(to_newton_metres(value, from_unit), to_unit)


def plausible_torque_cap(machine_kind: str, unit: str) -> Decimal:
    cap, cap_unit = PLAUSIBLE_TORQUE_CAPS[check.one_of(machine_kind, "machine_kind", PLAUSIBLE_TORQUE_CAPS)]
    return convert_torque(cap, cap_unit, unit)


# Questionnaires


def _is_item_score(answer: object) -> bool:
    return isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer <= 5


def _answered_items(label: str, sections: Sequence[str], answers: Sequence[int | None]) -> list[int]:
    # A mapping has a length and yields its keys, and a generator has no length: neither is a list of answers.
    if not isinstance(answers, Sequence) or isinstance(answers, str | bytes):
        raise InvalidQuestionnaire(
            f"{label} answers must be a list of {len(sections)} section scores (0-5, or None when not answered);"
            f" got {check.shown(answers)}."
        )
    if len(answers) != len(sections):
        count = len(answers)
        raise InvalidQuestionnaire(f"{label} has {len(sections)} sections; got {count} answers.")
    problems = [
        f"{label} section {number} ({title}): {answer!r} is not a score 0-5."
        for number, (title, answer) in enumerate(zip(sections, answers, strict=True), start=1)
        if answer is not None and not _is_item_score(answer)
    ]
    if problems:
        raise InvalidQuestionnaire(" ".join(problems))
    answered = [answer for answer in answers if answer is not None]
    if len(answered) < MIN_ANSWERED:
        raise InvalidQuestionnaire(
            f"{label} needs at least {MIN_ANSWERED} of {len(sections)} sections answered; {len(answered)} were."
        )
    return answered


def _band(value: Decimal, bands: Iterable[tuple[int, str]], top: str) -> str:
    return next((name for limit, name in bands if value <= limit), top)


def _in_range(instrument: str, value: object, name: str) -> Decimal:
    number = as_decimal(value, name)
    low, high = SCORE_RANGES[instrument]
    if not low <= number <= high:
        raise InvalidScore(f"{name} {fmt(number)} is outside the {instrument} range {low}-{high}.")
    return number


def odi_band(percent: object) -> str:
    return _band(_in_range(ODI, percent, "ODI %"), ODI_BANDS, "bed_bound")


def ndi_band(raw: object) -> str:
    return _band(_in_range(NDI, raw, "NDI raw"), NDI_BANDS, "complete")


def odi_score(answers: Sequence[int | None]) -> Score:
    """ODI % = Σ answered / (5 x n answered) x 100: an unanswered section shrinks the denominator by 5 [S44]."""
    answered = _answered_items("ODI", ODI_SECTIONS, answers)
    percent = (Decimal(sum(answered) * 100) / (5 * len(answered))).quantize(ONE_DECIMAL, ROUND_HALF_UP)
    return Score(ODI, percent, percent, odi_band(percent), len(answered))


def ndi_score(answers: Sequence[int | None]) -> Score:
    """NDI raw (0-50) = Σ answered x 10 / n answered, one decimal; % = that raw x 2 [S48] [S50].

    The percent doubles the rounded raw so that the two figures shown side by side always agree.
    """
    answered = _answered_items("NDI", NDI_SECTIONS, answers)
    raw = (Decimal(sum(answered) * 10) / len(answered)).quantize(ONE_DECIMAL, ROUND_HALF_UP)
    return Score(NDI, raw, raw * 2, ndi_band(raw), len(answered))


def pain_rating(value: object, name: str = "Pain") -> int:
    check.text(name, "name")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidScore(f"{name} must be a whole number from 0 to 10; got {value!r}.")
    return value


def nrs_score(value: object) -> Score:
    rating = pain_rating(value)
    return Score(PAIN_NRS, Decimal(rating), Decimal(rating * 10), None, 1)


def improvement(instrument: str, baseline: object, current: object) -> Improvement:
    """Clinically important improvement for ODI (%), NDI (raw) or pain NRS; thresholds are inclusive.

    The relative change is judged unrounded and shown floored, so a displayed 30.0 % is always important.
    """
    if not isinstance(instrument, str) or instrument not in MCID:
        raise InvalidScore(f"Unknown instrument {instrument!r}: use odi, ndi or pain_nrs.")
    before = _in_range(instrument, baseline, "Baseline")
    change = before - _in_range(instrument, current, "Current")
    relative = change / before * 100 if before else None
    points, percent = MCID[instrument]
    criteria = ("points",) if change >= points else ()
    if percent is not None and relative is not None and relative >= percent:
        criteria += ("percent",)
    shown = relative.quantize(ONE_DECIMAL, ROUND_FLOOR) if relative is not None else None
    return Improvement(change, shown, bool(criteria), criteria)


# Isometric strength: points are (angle_deg, torque) pairs


def _angle(value: object, name: str) -> Decimal:
    return check.number(value, name, *ANGLE_RANGE)


def _point(point: object, label: str) -> tuple[Decimal, Decimal]:
    angle, torque = check.pair(point, f"Each point of {label}", "(angle in degrees, torque)")
    return _angle(angle, f"An angle in {label}"), _torque(torque, f"A torque in {label}")


def _sorted_points(points: Sequence[tuple[object, object]], label: str) -> list[tuple[Decimal, Decimal]]:
    """A test's points, ascending by angle: at least one (a test without points measured nothing)."""
    check.sequence_of(points, label, "(angle, torque) pairs", nonempty=True)
    ordered = sorted(_point(point, label) for point in points)
    for (first, _), (second, _) in pairwise(ordered):
        if first == second:
            raise RuleArgumentError(f"Angle {fmt(first)}° appears more than once.")
    return ordered


def _area(ordered: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    return sum(((t1 + t2) / 2 * (a2 - a1) for (a1, t1), (a2, t2) in pairwise(ordered)), Decimal(0))


def strength_index(points: Sequence[tuple[object, object]]) -> Decimal:
    """Trapezoid area under torque against angle, in torque-unit·degrees [S14]; one point gives 0."""
    return _area(_sorted_points(points, "points"))


def _change_pct(before: Decimal, after: Decimal) -> Decimal | None:
    if before == 0:
        return None
    return ((after - before) / before * 100).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def compare_tests(
    before: Sequence[tuple[object, object]], after: Sequence[tuple[object, object]]
) -> StrengthComparison:
    """Per-angle change and strength index over the angles both tests share, so partial ROM compares fairly."""
    first = dict(_sorted_points(before, "the before test"))
    second = dict(_sorted_points(after, "the after test"))
    shared = sorted(first.keys() & second.keys())
    angles = tuple(AngleChange(a, first[a], second[a], _change_pct(first[a], second[a])) for a in shared)
    index_before = _area([(a, first[a]) for a in shared])
    index_after = _area([(a, second[a]) for a in shared])
    return StrengthComparison(angles, index_before, index_after, _change_pct(index_before, index_after))


def _rom(rom_min: object, rom_max: object) -> tuple[Decimal, Decimal]:
    return _angle(rom_min, "rom_min"), _angle(rom_max, "rom_max")


def peak_torque_in_rom(points: Sequence[tuple[object, object]], rom_min: object, rom_max: object) -> Decimal | None:
    """The highest torque at an angle inside [rom_min, rom_max]; None when no point lies inside."""
    low, high = _rom(rom_min, rom_max)
    if low > high:
        raise RuleArgumentError(f"rom_min must not be above rom_max; got {fmt(low)}° > {fmt(high)}°.")
    inside = [torque for angle, torque in _sorted_points(points, "points") if low <= angle <= high]
    return max(inside, default=None)


def _point_problems(
    angle: Decimal, torque: Decimal, standard: list[Decimal], rom: tuple[Decimal, Decimal], cap: Decimal, label: str
) -> list[str]:
    problems = []
    if angle not in standard:
        listed = ", ".join(fmt(a) for a in standard)
        problems.append(f"{fmt(angle)}°: not one of this machine's test angles ({listed}).")
    if not rom[0] <= angle <= rom[1]:
        problems.append(f"{fmt(angle)}°: outside the range of motion reached ({fmt(rom[0])}-{fmt(rom[1])}°).")
    if torque < 0:
        problems.append(f"{fmt(angle)}°: torque {fmt(torque)} {label} is negative.")
    elif torque > cap:
        problems.append(
            f"{fmt(angle)}°: torque {fmt(torque)} {label} is above the plausible maximum of {fmt(cap)} {label}."
        )
    return problems


def _read_point(number: int, point: object) -> tuple[Decimal, Decimal] | str:
    """A point's angle and torque, or why it cannot be read."""
    if not isinstance(point, list | tuple) or len(point) != 2:
        return f"Point {number}: give it as an (angle, torque) pair."
    try:
        return as_decimal(point[0], "angle"), as_decimal(point[1], "torque")
    except RuleArgumentError:
        return f"Point {number}: angle and torque must be numbers."


def test_point_problems(
    points: Sequence[tuple[object, object]],
    standard_angles: Sequence[object],
    rom_min: object,
    rom_max: object,
    unit: str,
    max_plausible_torque: object,
) -> list[str]:
    """Everything wrong with a test's points (torques in `unit`, the cap too); an empty list means valid.

    What a test captured (its points, unit name and ROM order) is judged and listed; the machine's standard
    angles, the cap, and arguments of the wrong kind altogether raise RuleArgumentError.
    Fewer angles than the standard set is valid: patients are tested within the ROM they reach [S2].
    """
    check.sequence_of(points, "points", "(angle, torque) pairs")
    angles = check.sequence_of(standard_angles, "standard_angles", "angles in degrees", nonempty=True)
    standard = [_angle(angle, "An angle in standard_angles") for angle in angles]
    rom, cap = _rom(rom_min, rom_max), check.number(max_plausible_torque, "max_plausible_torque", 0)
    if not isinstance(unit, str):
        raise RuleArgumentError(f"unit must be the name of a torque unit (ft_lbf, in_lbf or N_m); got {unit!r}.")
    if unit not in NM_PER_UNIT:
        return [f"Unknown torque unit {unit!r}: use ft_lbf, in_lbf or N_m."]
    if not points:
        return ["No points: record the torque at one angle at least."]
    problems = [f"Range of motion reached: {fmt(rom[0])}° is above {fmt(rom[1])}°."] if rom[0] > rom[1] else []
    seen: set[Decimal] = set()
    for number, point in enumerate(points, start=1):
        read = _read_point(number, point)
        if isinstance(read, str) or read[0] in seen:
            problems.append(read if isinstance(read, str) else f"{fmt(read[0])}°: recorded more than once.")
            continue
        seen.add(read[0])
        problems += _point_problems(*read, standard, rom, cap, UNIT_LABELS[unit])
    return problems


test_point_problems.__test__ = False  # type: ignore[attr-defined]  # a rule named "test", not a pytest test
