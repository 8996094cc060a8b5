"""What a demo patient measures: torque curves, questionnaire answers, pain and reps.

Plain functions over a patient's own `random.Random`, so the same MRN always gives the same numbers.
The figures are plausible, not published norms: they make the charts and the rules look like a clinic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from apps.assessments.models import Instrument
from apps.patients.models import Region, Sex

# Isometric peak at full flexion (lumbar 72°, ft·lbf; cervical 126°, in·lbf), by sex.
PEAK_RANGES = {
    Region.LUMBAR: {Sex.FEMALE: (140, 220), Sex.MALE: (180, 300)},
    Region.CERVICAL: {Sex.FEMALE: (180, 320), Sex.MALE: (260, 480)},
}
# Torque at full extension (0°) as a share of the peak: the curve falls ~60 % (lumbar) over the range.
FLOOR_SHARE = {Region.LUMBAR: 0.40, Region.CERVICAL: 0.45}
TOP_ANGLE = {Region.LUMBAR: 72, Region.CERVICAL: 126}
# A section a patient may leave blank: ODI "sex life", NDI "driving" (both index 7).
SKIPPABLE_SECTION = 7
REPS_AT_CAPACITY = 12


@dataclass(frozen=True)
class Curve:
    region: str
    peak: float  # at the top angle, in the machine's unit
    gain_at_extension: float  # training strengthens the extension end a little more [research §3]

    def torque(self, angle: int, factor: float) -> float:
        top, floor = TOP_ANGLE[self.region], FLOOR_SHARE[self.region]
        share = floor + (1 - floor) * (angle / top) ** 1.1
        extra = (factor - 1) * self.gain_at_extension * (1 - angle / top)
        return self.peak * share * (factor + extra)


def strength_curve(rng: random.Random, region: str, sex: str) -> Curve:
    low, high = PEAK_RANGES[region].get(sex, PEAK_RANGES[region][Sex.FEMALE])
    return Curve(region, rng.uniform(low, high), rng.uniform(0.2, 0.6))


def test_points(
    rng: random.Random, curve: Curve, angles: list[int], rom: tuple[int, int], factor: float
) -> list[tuple[int, int]]:
    """Whole-number torques at the standard angles inside the ROM reached, within ±3 % of the curve."""
    inside = [angle for angle in angles if rom[0] <= angle <= rom[1]]
    return [(angle, round(curve.torque(angle, factor) * rng.uniform(0.97, 1.03))) for angle in inside]


def partial_rom(rng: random.Random, region: str) -> tuple[int, int]:
    """The ROM reached: full for most, short of full flexion or full extension for a few."""
    top = TOP_ANGLE[region]
    step = 12 if region == Region.LUMBAR else 18
    roll = rng.random()
    if roll < 0.1:
        return (0, top - step)
    if roll < 0.16:
        return (step, top)
    return (0, top)


# Questionnaires


@dataclass(frozen=True)
class Disability:
    """A questionnaire score falling steadily with training: ODI % or NDI raw (0-50)."""

    instrument: str
    baseline: float
    weekly_fall: float

    def at_week(self, rng: random.Random, week: float) -> float:
        floor = 4.0 if self.instrument == Instrument.ODI else 2.0
        noise = rng.uniform(-2, 2) if self.instrument == Instrument.ODI else rng.uniform(-1, 1)
        return max(floor, min(self.baseline, self.baseline - self.weekly_fall * week + noise))


def disability(rng: random.Random, region: str) -> Disability:
    if region == Region.LUMBAR:  # ODI % falling ~1-2 points a week
        return Disability(Instrument.ODI, rng.uniform(24, 48), rng.uniform(1.0, 2.0))
    return Disability(Instrument.NDI, rng.uniform(10, 24), rng.uniform(0.5, 1.0))


def section_answers(rng: random.Random, instrument: str, score: float) -> list[int | None]:
    """Ten section scores (0-5) whose ODI % or NDI raw is close to `score`; now and then one left blank."""
    answered = 9 if rng.random() < 0.12 else 10
    share = score / 100 if instrument == Instrument.ODI else score / 50
    answers = [0] * answered
    for _ in range(round(share * 5 * answered)):
        room = [index for index, value in enumerate(answers) if value < 5]
        answers[rng.choice(room)] += 1
    if answered == 9:
        answers.insert(SKIPPABLE_SECTION, None)
    return answers


# Pain and effort


@dataclass(frozen=True)
class PainCourse:
    """Usual pain (NRS) easing over the weeks: from ~3-4 at baseline towards 2."""

    start: float
    weekly_ease: float

    def level(self, week: float) -> float:
        return max(1.6, self.start - self.weekly_ease * week)


def pain_course(rng: random.Random) -> PainCourse:
    return PainCourse(rng.uniform(3.0, 4.6), rng.uniform(0.12, 0.25))


def pain_before(rng: random.Random, course: PainCourse, week: float, previous: int | None) -> int:
    """Never 2 above the last visit's: that would be a pain hold (flares are made on purpose)."""
    rating = round(course.level(week)) + rng.choice((-1, 0, 0, 0, 1))
    if previous is not None:
        rating = min(rating, previous + 1)
    return max(1, min(rating, 5))


def pain_after(rng: random.Random, before: int, flare: bool) -> int:
    if flare:  # a rise of 2-3: a pain hold, kept under 7 (the red zone reduces the load)
        return min(before + rng.choice((2, 2, 3)), 6)
    return max(0, before + rng.choice((-1, 0, 0, 0, 1)))


def reps_to_failure(rng: random.Random, capacity: float, load: float) -> int:
    """12 reps at the patient's capacity; more below it, fewer above it."""
    reps = round(REPS_AT_CAPACITY * (capacity / load) ** 3) + rng.choice((-1, 0, 0, 1))
    return max(6, min(reps, 20))


def time_under_load(rng: random.Random, reps: int) -> int:
    return round(reps * rng.uniform(6.5, 8.5))
