"""Every public rule refuses what it cannot mean: one exception type, a message naming the argument.

Generated over every public function defined in the rule modules (issue 15 §3). Each has a valid call
in CASES and, per argument, the values of the wrong kind it must refuse: wrong types, bools where ints
are meant, NaN and infinities, out-of-range and non-integral numbers, naive datetimes, zones given by
name, empty lists, generators where a list is meant. Each bad value replaces its argument in the valid
call, in turn, and must raise RuleArgumentError (never a bare TypeError, never a result) with a message
naming the argument. A new function, or a new argument, without its entry here fails the test.
"""

from __future__ import annotations

import inspect
import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D
from types import ModuleType, SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from apps.assessments import scoring
from apps.assessments.scoring import InvalidQuestionnaire, InvalidScore
from apps.clinics.arguments import RuleArgumentError
from apps.outcomes import progress_rules, stats
from apps.patients import chronology, screening
from apps.patients.screening import LUMBAR_ITEMS, IncompleteScreen
from apps.programs import progression, schedule
from apps.programs.progression import PreviousSession, SessionResult
from apps.reminders import rules
from apps.reminders.rules import Recipient
from apps.scheduling import slots
from apps.scheduling.slots import Booking, Calendar, OpeningRange

MODULES = (scoring, screening, chronology, progression, schedule, rules, slots, stats, progress_rules)


def public_rules(module: ModuleType) -> dict[str, Callable[..., object]]:
    """The module's own public functions, keyed "module.function" (imports from elsewhere are not its rules)."""
    short = module.__name__.rpartition(".")[2]
    return {
        f"{short}.{name}": function
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    }


RULES = {key: function for module in MODULES for key, function in public_rules(module).items()}


@dataclass(frozen=True)
class Bad:
    label: str  # for the test id
    make: Callable[[], object]  # a fresh value each call: a generator is spent once read


def bad(label: str, value: object) -> Bad:
    return Bad(label, lambda: value)


def generator(*items: object) -> Bad:
    return Bad("generator", lambda: (item for item in items))


@dataclass(frozen=True)
class Case:
    valid: dict[str, object]  # keyword arguments of a call that returns normally
    bad: dict[str, tuple[Bad, ...]]  # per argument, the values it must refuse
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other words a message may name it by


# --- Valid values ---------------------------------------------------------------------------------

LA = ZoneInfo("America/Los_Angeles")
LAST = datetime(2026, 3, 5, 10, tzinfo=LA)  # a Thursday, 10:00 local
NOW = datetime(2026, 3, 15, 10, tzinfo=LA)
DISCHARGE = LAST + timedelta(weeks=10)
BORN, TODAY = date(1970, 5, 4), NOW.date()
CURVE = [(0, 180), (12, 220), (24, 260), (36, 300)]
ANGLES = [72, 60, 48, 36, 24, 12, 0]
SESSION = SessionResult(reps=10, time_under_load_s=100, reached_failure=True, pain_before=2, pain_after=2)
PREVIOUS = PreviousSession(pain_before=2)
RECIPIENT = Recipient(email="ana@example.test", consent=True, unsubscribed=False, deceased=False, deleted=False)
LUMBAR_CLEAR = dict.fromkeys(LUMBAR_ITEMS, False)
REFUSED = smtplib.SMTPDataError(554, b"rejected")

CALENDAR = Calendar(tz=LA, opening=tuple(OpeningRange(day, time(9), time(18)) for day in range(5)))
BOOKING = Booking("m1", NOW + timedelta(hours=2), NOW + timedelta(hours=2, minutes=30), "pt")

# --- What each kind of argument must refuse ---------------------------------------------------------

NONE, OBJECT, TEXT, INT = bad("None", None), bad("object", object()), bad("text", "abc"), bad("int", 5)
NUMBER = (
    TEXT,
    NONE,
    bad("list", [1]),
    OBJECT,
    bad("True", True),
    bad("nan", float("nan")),
    bad("inf", float("inf")),
    bad("Decimal-NaN", D("NaN")),
    bad("Decimal-sNaN", D("sNaN")),
    bad("Decimal-minus-infinity", D("-Infinity")),
    bad("overflowing", "9e999999"),
)
AMOUNT = (*NUMBER, bad("negative", -1), bad("negative-Decimal", D("-0.5")))  # loads and torques: 0 or more
INCREMENT = (*NUMBER, bad("zero", 0), bad("negative", -1))
LABEL = (NONE, bad("int", 1), bad("empty", ""))


def between(lo: object, hi: object, beyond: object = 1) -> tuple[Bad, ...]:
    return (*NUMBER, bad("below", D(str(lo)) - D(str(beyond))), bad("above", D(str(hi)) + D(str(beyond))))


def count(lo: int, hi: int | None = None) -> tuple[Bad, ...]:
    """A whole number in [lo, hi]: 2.5 sessions, 12.0 reps, "5", True and Decimal(5) are not counts."""
    wrong = (
        NONE,
        OBJECT,
        bad("text", str(lo)),
        bad("fraction", lo + 0.5),
        bad("whole-float", float(lo)),
        bad("Decimal", D(lo)),
        bad("True", True),
        bad("nan", float("nan")),
        bad("below", lo - 1),
    )
    return wrong if hi is None else (*wrong, bad("above", hi + 1))


PAIN = count(0, 10)
MOMENT = (
    bad("naive", datetime(2026, 3, 10, 12)),
    bad("date", date(2026, 3, 10)),
    bad("iso-text", "2026-03-10T12:00:00+00:00"),
    bad("timestamp", 1_773_144_000),
    NONE,
    OBJECT,
)
ZONE = (bad("zone-name", "America/Los_Angeles"), NONE, bad("offset-hours", -8), OBJECT)
WALL = (bad("text", "21:00"), NONE, bad("datetime", datetime(2026, 3, 10, 21)), bad("aware", time(21, tzinfo=UTC)))
FLAG = (NONE, bad("one", 1), bad("zero", 0), bad("text", "yes"))
UNIT = (bad("unknown", "kg"), bad("empty", ""), NONE, bad("int", 1), bad("list", []))
NOT_A_LIST = (NONE, TEXT, INT, OBJECT, bad("dict", {0: 100}))
DAY = (bad("datetime", datetime(2026, 3, 9, 10)), bad("text", "2026-03-09"), NONE, INT)
CALENDARS = (
    NONE,
    OBJECT,
    bad("zone-name", Calendar(tz="America/Los_Angeles", opening=CALENDAR.opening)),
    bad("reversed-range", Calendar(tz=LA, opening=(OpeningRange(0, time(18), time(9)),))),
    bad("weekday-7", Calendar(tz=LA, opening=(OpeningRange(7, time(9), time(18)),))),
    bad("opening-generator", Calendar(tz=LA, opening=(r for r in CALENDAR.opening))),
    bad("closure-datetime", Calendar(tz=LA, opening=CALENDAR.opening, closures=frozenset({datetime(2026, 3, 9)}))),
    bad("slot-zero", Calendar(tz=LA, opening=CALENDAR.opening, slot_minutes=0)),
    bad("slot-fraction", Calendar(tz=LA, opening=CALENDAR.opening, slot_minutes=30.5)),
    bad("horizon-zero", Calendar(tz=LA, opening=CALENDAR.opening, horizon_days=0)),
    bad("capacity-True", Calendar(tz=LA, opening=CALENDAR.opening, supervisor_capacity=True)),
)
BOOKINGS = (
    *NOT_A_LIST,
    generator(BOOKING),
    bad("not-a-booking", [(1, 2)]),
    bad("naive", [Booking("m1", datetime(2026, 3, 15, 12), datetime(2026, 3, 15, 13))]),
    bad("reversed", [Booking("m1", NOW, NOW - timedelta(minutes=30))]),
    bad("list-machine", [Booking(["m1"], NOW, NOW + timedelta(minutes=30))]),
)
POINTS = (
    *NOT_A_LIST,
    generator(*CURVE),
    bad("empty", []),
    bad("negative-torque", [(0, 100), (12, -5)]),
    bad("negative-angle", [(-12, 100), (0, 100)]),
    bad("angle-past-half-a-turn", [(0, 100), (200, 100)]),
    bad("nan-torque", [(0, float("nan"))]),
    bad("bool-angle", [(True, 100)]),
    bad("one-value", [(0,)]),
    bad("three-values", [(0, 100, 1)]),
    bad("text-point", ["0,100"]),
    bad("duplicate-angle", [(12, 100), (12, 90)]),
)
INTERVAL = (NONE, bad("days-as-float", 3.5), bad("text", "3 days"), OBJECT)
SESSIONS = (
    NONE,
    OBJECT,
    bad("tuple", (10, 100, True, 2, 2)),
    bad("reps-fraction", replace(SESSION, reps=12.5)),
    bad("reps-True", replace(SESSION, reps=True)),
    bad("reps-text", replace(SESSION, reps="10")),
    bad("reps-above", replace(SESSION, reps=51)),
    bad("reps-negative", replace(SESSION, reps=-1)),
    bad("tul-fraction", replace(SESSION, time_under_load_s=99.5)),
    bad("tul-above", replace(SESSION, time_under_load_s=301)),
    bad("failure-None", replace(SESSION, reached_failure=None)),
    bad("failure-one", replace(SESSION, reached_failure=1)),
    bad("pain-fraction", replace(SESSION, pain_before=3.5)),
    bad("pain-True", replace(SESSION, pain_after=True)),
    bad("pain-above", replace(SESSION, pain_after=11)),
    bad("red-flag-text", replace(SESSION, red_flag="no")),
    bad("status-unknown", replace(SESSION, status="done")),
)
PREVIOUS_BAD = (
    OBJECT,
    bad("tuple", (2, False, False)),
    bad("pain-fraction", replace(PREVIOUS, pain_before=3.5)),
    bad("pain-True", replace(PREVIOUS, pain_before=True)),
    bad("hold-None", replace(PREVIOUS, pain_hold=None)),
    bad("below-one", replace(PREVIOUS, below_minimum=1)),
)


def window(most: int) -> tuple[Bad, ...]:
    return (
        NONE,
        OBJECT,
        bad("text", "8-12"),
        bad("one-number", (8,)),
        bad("reversed", (12, 8)),
        bad("fraction", (8, 12.5)),
        bad("bool", (True, 12)),
        bad("negative", (-1, 12)),
        bad("above", (8, most + 1)),
    )


RECIPIENTS = (
    NONE,
    OBJECT,
    bad("look-alike", SimpleNamespace(**RECIPIENT.__dict__)),
    bad("email-None", replace(RECIPIENT, email=None)),
    bad("consent-None", replace(RECIPIENT, consent=None)),
    bad("consent-text", replace(RECIPIENT, consent="yes")),
    bad("deleted-one", replace(RECIPIENT, deleted=1)),
)
ERRORS = (NONE, TEXT, bad("reply-code", 550), OBJECT, bad("exception-class", smtplib.SMTPDataError))
SECONDS = (
    NONE,
    bad("text", "60"),
    bad("True", True),
    bad("nan", float("nan")),
    bad("inf", float("inf")),
    bad("Decimal-NaN", D("NaN")),
    bad("zero", 0),
    bad("negative", -1),
    bad("over-a-day", 86_401),
    OBJECT,
)
DUE_DATES = (*NOT_A_LIST, generator(LAST), bad("naive-date", [datetime(2026, 3, 10)]), bad("text-date", ["2026"]))
LOADS_WITH_DATES = (
    *NOT_A_LIST,
    generator((LAST, 100)),
    bad("naive-date", [(datetime(2026, 3, 5), 100)]),
    bad("text-date", [("2026-03-05", 100)]),
    bad("negative-load", [(LAST, -5)]),
    bad("nan-load", [(LAST, float("nan"))]),
    bad("one-value", [(LAST,)]),
)
ANSWERS = (
    NONE,
    OBJECT,
    INT,
    bad("ten-characters", "1111111111"),
    bad("mapping", dict.fromkeys(range(10), 1)),  # ten keys that look like scores: once scored silently
    bad("set", set(range(10))),
    generator(*[1] * 10),
    bad("empty", []),
    bad("nine", [1] * 9),
    bad("eight-answered", [1] * 8 + [None] * 2),
    bad("bool-item", [True] * 10),
    bad("fraction-item", [2.5] + [1] * 9),
)
SCREEN_ANSWERS = (NONE, OBJECT, TEXT, bad("pairs", [("major_trauma", False)]), generator(("major_trauma", False)))


# --- The cases: one per public rule ----------------------------------------------------------------

# apps.outcomes.stats: lists of values, counts of programs.
VALUES = (
    *NOT_A_LIST,
    generator(1, 2),
    bad("bool-value", [1, True]),
    bad("nan-value", [float("nan")]),
    bad("Decimal-NaN-value", [D("NaN")]),
    bad("inf-value", [float("inf")]),
    bad("text-value", ["1"]),
    bad("None-value", [None]),
)
COUNTS = {"successes": (*count(0), bad("above-n", 264)), "n": count(0)}

OPTIONAL_MOMENT = tuple(value for value in MOMENT if value is not NONE)

CASES: dict[str, Case] = {
    # apps.outcomes.progress_rules
    "progress_rules.report_due": Case(
        {
            "started_at": LAST,
            "completed_sessions": 5,
            "last_report_at": LAST + timedelta(days=1),
            "sessions_at_last_report": 2,
            "ended_at": None,
            "now": NOW,
            "tz": LA,
        },
        {
            "started_at": MOMENT,
            "completed_sessions": count(0),
            "last_report_at": (*OPTIONAL_MOMENT, bad("before-the-start", LAST - timedelta(days=1))),
            "sessions_at_last_report": (*count(0), bad("above-completed", 6)),
            "ended_at": (*OPTIONAL_MOMENT, bad("before-the-start", LAST - timedelta(days=1))),
            "now": MOMENT,
            "tz": ZONE,
        },
    ),
    # apps.outcomes.stats
    **{
        f"stats.{name}": Case({"values": [1, 2, 3]}, {"values": VALUES})
        for name in ("median", "quartiles", "summary_or_too_few")
    },
    "stats.counted_summary": Case(
        {"counts": [(1, 4), (D("2.5"), 6)]},
        {
            "counts": (
                *NOT_A_LIST,
                generator((1, 2)),
                bad("bare-value", [1]),
                bad("triple", [(1, 2, 3)]),
                bad("text-value", [("1", 2)]),
                bad("nan-value", [(float("nan"), 2)]),
                bad("zero-count", [(1, 0)]),
                bad("fraction-count", [(1, 2.5)]),
                bad("bool-count", [(1, True)]),
            )
        },
    ),
    "stats.hidden_groups": Case(
        {"sizes": [3, 12, 40]},
        {"sizes": (*NOT_A_LIST, generator(1, 2), bad("negative", [-1]), bad("fraction", [2.5]), bad("bool", [True]))},
    ),
    "stats.wilson": Case(
        {"successes": 81, "n": 263, "z": D("1.96")},
        {**COUNTS, "z": (*NUMBER, bad("zero", 0), bad("negative", -1))},
    ),
    **{f"stats.{name}": Case({"successes": 81, "n": 263}, COUNTS) for name in ("rate", "rate_or_too_few")},
    "stats.shown": Case({"n": 10}, {"n": count(0)}),
    "stats.adherence_band": Case({"sessions_per_week": D("1.5")}, {"sessions_per_week": AMOUNT}),
    "stats.age_band": Case({"age_years": 44}, {"age_years": count(0, 120)}),
    # apps.assessments.scoring
    "scoring.as_decimal": Case(
        {"value": "12.5", "name": "load"}, {"value": NUMBER, "name": LABEL}, {"value": ("load",)}
    ),
    "scoring.fmt": Case({"number": D("12.50")}, {"number": NUMBER}),
    "scoring.to_newton_metres": Case(
        {"value": 100, "unit": "ft_lbf"}, {"value": AMOUNT, "unit": UNIT}, {"value": ("torque",)}
    ),
    "scoring.from_newton_metres": Case(
        {"value_nm": 100, "unit": "in_lbf"}, {"value_nm": AMOUNT, "unit": UNIT}, {"value_nm": ("torque",)}
    ),
    "scoring.convert_torque": Case(
        {"value": 100, "from_unit": "ft_lbf", "to_unit": "N_m"},
        {"value": AMOUNT, "from_unit": UNIT, "to_unit": UNIT},
        {"value": ("torque",), "from_unit": ("unit",), "to_unit": ("unit",)},
    ),
    "scoring.plausible_torque_cap": Case(
        {"machine_kind": "lumbar_extension", "unit": "N_m"},
        {"machine_kind": (bad("unknown", "rowing"), NONE, bad("list", []), INT), "unit": UNIT},
    ),
    "scoring.odi_band": Case({"percent": 35}, {"percent": between(0, 100, "0.1")}, {"percent": ("ODI %",)}),
    "scoring.ndi_band": Case({"raw": 14}, {"raw": between(0, 50, "0.1")}, {"raw": ("NDI raw",)}),
    "scoring.odi_score": Case({"answers": [1] * 10}, {"answers": ANSWERS}, {"answers": ("section",)}),
    "scoring.ndi_score": Case({"answers": [1] * 9 + [None]}, {"answers": ANSWERS}, {"answers": ("section",)}),
    "scoring.pain_rating": Case(
        {"value": 5, "name": "Pain before"}, {"value": PAIN, "name": LABEL}, {"value": ("Pain before",)}
    ),
    "scoring.nrs_score": Case({"value": 5}, {"value": PAIN}, {"value": ("Pain",)}),
    "scoring.improvement": Case(
        {"instrument": "pain_nrs", "baseline": 6, "current": 4},
        {
            "instrument": (bad("unknown", "promis"), bad("upper-case", "ODI"), NONE, bad("list", []), INT),
            # A fractional NRS is a point on the scale (the chart's threshold line sits at 3.5), not refused.
            "baseline": between(0, 10),
            "current": between(0, 10),
        },
    ),
    "scoring.strength_index": Case({"points": CURVE}, {"points": POINTS}, {"points": ("angle",)}),
    "scoring.compare_tests": Case(
        {"before": CURVE, "after": CURVE[1:]},
        {"before": POINTS, "after": POINTS},
        {"before": ("angle",), "after": ("angle",)},
    ),
    "scoring.peak_torque_in_rom": Case(
        {"points": CURVE, "rom_min": 12, "rom_max": 60},
        {
            "points": POINTS,
            "rom_min": (*between(0, 180), bad("above-rom-max", 61)),
            "rom_max": (*between(0, 180), bad("below-rom-min", 6)),
        },
        {"points": ("angle",)},
    ),
    "scoring.test_point_problems": Case(
        {
            "points": CURVE,
            "standard_angles": ANGLES,
            "rom_min": 0,
            "rom_max": 72,
            "unit": "ft_lbf",
            "max_plausible_torque": 600,
        },
        {
            # What the test captured (point values, the unit's name, ROM order) is listed as a problem, not
            # raised: that list is the function's answer. A value of the wrong kind altogether is refused.
            "points": (*NOT_A_LIST, generator(*CURVE)),
            "standard_angles": (
                NONE,
                TEXT,
                OBJECT,
                generator(*ANGLES),
                bad("empty", []),
                bad("negative", [-12]),
                bad("bool", [True]),
                bad("nan", [float("nan")]),
            ),
            "rom_min": between(0, 180),
            "rom_max": between(0, 180),
            "unit": (NONE, bad("int", 1), bad("list", [])),
            "max_plausible_torque": AMOUNT,
        },
    ),
    # apps.patients.chronology
    "chronology.birth_date_problem": Case({"born": BORN, "today": TODAY}, {"born": DAY, "today": DAY}),
    "chronology.death_date_problem": Case(
        {"died": TODAY, "born": BORN, "today": TODAY}, {"died": DAY, "born": DAY, "today": DAY}
    ),
    "chronology.clinical_time_problem": Case(
        {"moment": LAST, "born": BORN, "now": NOW, "tz": LA},
        {"moment": MOMENT, "born": DAY, "now": MOMENT, "tz": ZONE},
    ),
    "chronology.whole_seconds": Case({"moment": LAST}, {"moment": MOMENT}),
    "chronology.latest_date": Case({"now": NOW}, {"now": MOMENT}),
    # apps.patients.screening
    "screening.screen_problems": Case(
        {"region": "lumbar", "answers": LUMBAR_CLEAR},
        {"region": (NONE, bad("int", 1), bad("list", []), OBJECT), "answers": SCREEN_ANSWERS},
    ),
    "screening.screen_result": Case(
        {"region": "lumbar", "answers": LUMBAR_CLEAR},
        {
            "region": (bad("unknown", "thoracic"), bad("capitalised", "Lumbar"), NONE, bad("list", []), OBJECT),
            "answers": (
                *SCREEN_ANSWERS,
                bad("blank", {}),  # a blank form is never "clear"
                bad("answer-text", {**LUMBAR_CLEAR, "major_trauma": "yes"}),
                bad("answer-one", {**LUMBAR_CLEAR, "major_trauma": 1}),
                bad("other-region-item", {**LUMBAR_CLEAR, "drop_attacks": True}),
            ),
        },
        {"answers": ("not answered", "answer yes or no", "not an item")},
    ),
    "screening.positive_items": Case(
        {"answers": {**LUMBAR_CLEAR, "major_trauma": True}},
        {
            "answers": (
                *SCREEN_ANSWERS,
                bad("answer-text", {"major_trauma": "no"}),  # "no" is truthy: once listed as positive
                bad("answer-one", {"major_trauma": 1}),
                bad("unknown-item", {"unknown": True}),
                bad("int-code", {1: True}),
            )
        },
    ),
    # apps.programs.progression
    **{
        f"progression.{name}": Case({"load": D("10.5"), "increment": 3}, {"load": AMOUNT, "increment": INCREMENT})
        for name in ("round_up_to_increment", "round_down_to_increment", "round_to_nearest_increment")
    },
    "progression.load_limits": Case(
        {"increment": 3, "min_load": 30, "max_load": 900},
        {
            "increment": INCREMENT,
            "min_load": (*AMOUNT, bad("above-max", 901)),
            "max_load": (*AMOUNT, bad("below-min", 29)),
        },
    ),
    "progression.clamp_load": Case(
        {"load": 100, "increment": 3, "min_load": 30, "max_load": 900},
        {"load": AMOUNT, "increment": INCREMENT, "min_load": AMOUNT, "max_load": (*AMOUNT, bad("below-min", 29))},
    ),
    "progression.start_load": Case(
        {"peak_torque_nm": D("135.5818"), "machine_unit": "ft_lbf", "increment": 1, "fraction": D("0.5")},
        {
            "peak_torque_nm": AMOUNT,
            "machine_unit": UNIT,
            "increment": INCREMENT,
            "fraction": (*NUMBER, bad("zero", 0), bad("negative", D("-0.5")), bad("above-one", D("1.01"))),
        },
        {"machine_unit": ("unit",)},
    ),
    "progression.start_load_needs_override": Case(
        {"load": 50, "peak_torque_nm": D("135.5818"), "unit": "ft_lbf"},
        {"load": AMOUNT, "peak_torque_nm": AMOUNT, "unit": UNIT},
    ),
    "progression.pain_hold_reasons": Case(
        {"session": SESSION, "previous_pain_before": 2},
        {"session": SESSIONS, "previous_pain_before": tuple(b for b in PAIN if b is not NONE)},
    ),
    "progression.is_pain_hold": Case(
        {"session": SESSION, "previous": PREVIOUS}, {"session": SESSIONS, "previous": PREVIOUS_BAD}
    ),
    **{
        f"progression.{name}": Case(
            {"session": SESSION, "rep_range": (8, 12), "tul_window": (45, 150)},
            {"session": SESSIONS, "rep_range": window(50), "tul_window": window(300)},
        )
        for name in ("below_minimum_reasons", "is_below_minimum")
    },
    "progression.propose_next_load": Case(
        {
            "current_load": 100,
            "increment": 1,
            "min_load": 0,
            "max_load": 400,
            "session": SESSION,
            "previous": PREVIOUS,
            "rep_range": (8, 12),
            "tul_window": (45, 150),
            "step_pct": 5,
        },
        {
            "current_load": AMOUNT,
            "increment": INCREMENT,
            "min_load": (*AMOUNT, bad("above-max", 401)),
            "max_load": AMOUNT,
            "session": SESSIONS,
            "previous": PREVIOUS_BAD,
            "rep_range": window(50),
            "tul_window": window(300),
            "step_pct": between(2, 10, "0.5"),
        },
    ),
    "progression.require_aware": Case(
        {"moment": LAST, "name": "performed_at"}, {"moment": MOMENT, "name": LABEL}, {"moment": ("performed_at",)}
    ),
    "progression.rapid_rise": Case(
        {"loads_with_dates": [(LAST, 100), (NOW, 120)], "now": NOW},
        {"loads_with_dates": LOADS_WITH_DATES, "now": MOMENT},
    ),
    # apps.programs.schedule
    "schedule.add_local": Case(
        {"moment": LAST, "interval": timedelta(days=3, hours=12), "tz": LA},
        {"moment": MOMENT, "interval": INTERVAL, "tz": ZONE},
    ),
    "schedule.earliest_next_session": Case(
        {"last_completed_at": LAST, "min_rest_hours": 48}, {"last_completed_at": MOMENT, "min_rest_hours": count(0)}
    ),
    "schedule.next_session_due": Case(
        {"last_completed_at": LAST, "sessions_per_week": 2, "tz": LA, "min_rest_hours": 48},
        {"last_completed_at": MOMENT, "sessions_per_week": count(1, 3), "tz": ZONE, "min_rest_hours": count(0)},
    ),
    "schedule.attendance_thresholds": Case(
        {"last_completed_at": LAST, "tz": LA}, {"last_completed_at": MOMENT, "tz": ZONE}
    ),
    **{
        f"schedule.{name}": Case(
            {"last_completed_at": LAST, "now": NOW, "tz": LA},
            {"last_completed_at": MOMENT, "now": MOMENT, "tz": ZONE},
        )
        for name in ("attendance_state", "whole_days_since", "gap_action")
    },
    "schedule.return_after_gap": Case(
        {"last_load": 100, "last_completed_at": LAST, "now": NOW, "tz": LA, "increment": 1},
        {"last_load": AMOUNT, "last_completed_at": MOMENT, "now": MOMENT, "tz": ZONE, "increment": INCREMENT},
        {"last_load": ("last load",)},
    ),
    "schedule.planned_discharge_at": Case(
        {"program_start": LAST, "planned_weeks": 10, "tz": LA},
        {"program_start": MOMENT, "planned_weeks": count(1), "tz": ZONE},
    ),
    **{
        f"schedule.{name}": Case(
            {"program_start": LAST, "discharge_at": DISCHARGE, "tz": LA},
            {"program_start": MOMENT, "discharge_at": MOMENT, "tz": ZONE},
        )
        for name in ("questionnaire_due_dates", "physician_review_due_dates")
    },
    "schedule.retest_due_at": Case({"program_start": LAST, "tz": LA}, {"program_start": MOMENT, "tz": ZONE}),
    "schedule.retest_due": Case(
        {"completed_sessions": 3, "program_start": LAST, "now": NOW, "tz": LA},
        {"completed_sessions": count(0), "program_start": MOMENT, "now": MOMENT, "tz": ZONE},
    ),
    "schedule.next_due": Case({"due_dates": [LAST, DISCHARGE], "now": NOW}, {"due_dates": DUE_DATES, "now": MOMENT}),
    "schedule.maintenance_due": Case(
        {"last_completed_at": LAST, "interval_weeks": 2, "tz": LA},
        {"last_completed_at": MOMENT, "interval_weeks": count(1, 4), "tz": ZONE},
        {"interval_weeks": ("interval",)},
    ),
    "schedule.attendance_anchor": Case(
        {"last_completed_at": LAST, "tz": LA, "maintenance_weeks": 2},  # None (in training) is valid too
        {
            "last_completed_at": MOMENT,
            "tz": ZONE,
            "maintenance_weeks": tuple(value for value in count(1, 4) if value is not NONE),
        },
        {"maintenance_weeks": ("interval",)},
    ),
    "schedule.maintenance_checkups": Case(
        {"maintenance_start": LAST, "until": DISCHARGE, "tz": LA},
        {"maintenance_start": MOMENT, "until": MOMENT, "tz": ZONE},
    ),
    # apps.scheduling.slots
    "slots.check_calendar": Case({"calendar": CALENDAR}, {"calendar": CALENDARS}),
    "slots.wall_slots": Case(
        {"calendar": CALENDAR, "first_day": date(2026, 3, 9), "last_day": date(2026, 3, 13)},
        {"calendar": CALENDARS, "first_day": DAY, "last_day": (*DAY, bad("years-later", date(2030, 1, 1)))},
    ),
    "slots.free_slots": Case(
        {
            "calendar": CALENDAR,
            "machines": ["m1"],
            "bookings": [BOOKING],
            "earliest": NOW,
            "due": NOW,
            "now": NOW,
            "count": 3,
            "supervisor": "pt",
            "allow_before_earliest": False,
            "within": (NOW, NOW + timedelta(days=3)),
        },
        {
            "calendar": CALENDARS,
            "machines": (*NOT_A_LIST, generator("m1"), bad("list-id", [["m1"]]), bad("None-id", [None])),
            "bookings": BOOKINGS,
            "earliest": MOMENT,
            "due": MOMENT,
            "now": MOMENT,
            "count": count(1, 100),
            "supervisor": (bad("list", ["pt"]), bad("True", True)),
            "allow_before_earliest": FLAG,
            "within": (
                bad("one", NOW),
                bad("three", (NOW, NOW, NOW)),
                bad("naive", (datetime(2026, 3, 10, 12), NOW)),
                bad("backwards", (NOW, NOW - timedelta(hours=1))),
                bad("list", [NOW, NOW]),
            ),
        },
        {"bookings": ("booking",), "machines": ("machine",)},
    ),
    "slots.series_starts": Case(
        {"tz": LA, "weekdays": [0, 3], "at": time(17), "first_day": date(2026, 3, 9), "weeks": 4},
        {
            "tz": ZONE,
            "weekdays": (*NOT_A_LIST, generator(0), bad("empty", []), bad("eight", [8]), bad("fraction", [0.5])),
            "at": WALL,
            "first_day": DAY,
            "weeks": count(1, 52),
        },
    ),
    "slots.series_problems": Case(
        {
            "calendar": CALENDAR,
            "machine": "m1",
            "bookings": [BOOKING],
            "starts": [NOW + timedelta(days=1)],
            "earliest": NOW,
            "now": NOW,
            "min_rest_hours": 48,
            "supervisor": "pt",
        },
        {
            "calendar": CALENDARS,
            "machine": (NONE, bad("list", ["m1"]), bad("True", True)),
            "bookings": BOOKINGS,
            "starts": (*NOT_A_LIST, generator(NOW), bad("empty", []), bad("naive", [datetime(2026, 3, 16, 10)])),
            "earliest": MOMENT,
            "now": MOMENT,
            "min_rest_hours": count(0, 168),
            "supervisor": (bad("list", ["pt"]), bad("True", True)),
        },
        {"bookings": ("booking",), "starts": ("starts",)},
    ),
    # apps.reminders.rules
    "rules.in_quiet_hours": Case(
        {"wall": time(22), "start": time(21), "end": time(8)}, {"wall": WALL, "start": WALL, "end": WALL}
    ),
    "rules.next_allowed_send": Case(
        {"moment": LAST, "tz": LA, "start": time(21), "end": time(8)},
        {"moment": MOMENT, "tz": ZONE, "start": WALL, "end": WALL},
    ),
    "rules.block_reason": Case(
        {
            "recipient": RECIPIENT,
            "program_active": True,
            "due_unchanged": True,
            "booked_ahead": False,
            "appointment_live": True,
        },
        {
            "recipient": RECIPIENTS,
            "program_active": FLAG,
            "due_unchanged": FLAG,
            "booked_ahead": FLAG,
            "appointment_live": FLAG,
        },
    ),
    "rules.upcoming_send_at": Case(
        {"starts_at": NOW, "lead": timedelta(hours=24), "tz": LA, "start": time(21), "end": time(8)},
        {
            "starts_at": MOMENT,
            "lead": (NONE, bad("hours-as-int", 24), bad("text", "24h"), bad("negative", timedelta(hours=-1))),
            "tz": ZONE,
            "start": WALL,
            "end": WALL,
        },
    ),
    "rules.smtp_reply_code": Case({"error": REFUSED}, {"error": ERRORS}),
    "rules.is_permanent_failure": Case({"error": REFUSED}, {"error": ERRORS}),
    "rules.retry_delay": Case(
        {"attempts": 3, "base_seconds": 60, "cap_seconds": 900},
        {"attempts": count(1), "base_seconds": SECONDS, "cap_seconds": SECONDS},
    ),
}


def _bad_calls() -> Iterator[object]:
    for key in sorted(RULES.keys() & CASES.keys()):
        for name, values in CASES[key].bad.items():
            for value in values:
                yield pytest.param(key, name, value, id=f"{key}-{name}-{value.label}")


# --- The tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(RULES))
def test_every_public_rule_has_a_case_for_each_argument(key):
    assert key in CASES, f"{key} is a public rule without a case in tests/test_rules_refuse.py"
    parameters = set(inspect.signature(RULES[key]).parameters)
    assert set(CASES[key].valid) == parameters, f"{key}: the valid call must give every argument"
    assert set(CASES[key].bad) == parameters, f"{key}: every argument needs the values it must refuse"


def test_every_case_names_a_public_rule():
    assert set(CASES) - set(RULES) == set()


def test_the_rule_modules_are_all_read():
    assert {key.partition(".")[0] for key in RULES} == {
        "scoring",
        "screening",
        "chronology",
        "progression",
        "schedule",
        "rules",
        "slots",
        "stats",
        "progress_rules",
    }


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_valid_call_returns_normally(key):
    RULES[key](**CASES[key].valid)


@pytest.mark.parametrize(("key", "name", "value"), list(_bad_calls()))
def test_a_bad_argument_is_refused_with_one_exception_naming_it(key, name, value):
    arguments = {**CASES[key].valid, name: value.make()}

    # pytest.raises lets any other exception (a bare TypeError, a plain ValueError) through: it fails.
    with pytest.raises(RuleArgumentError) as raised:
        RULES[key](**arguments)

    message = str(raised.value).lower()
    names = (name, name.replace("_", " "), *CASES[key].labels.get(name, ()))
    assert any(word.lower() in message for word in names), f"{raised.value} does not name {name}"
    assert message.endswith("."), "a message is a sentence"


@pytest.mark.parametrize("kind", [InvalidScore, InvalidQuestionnaire, IncompleteScreen])
def test_the_rules_own_exceptions_are_the_one_type(kind):
    # One `except RuleArgumentError` catches every refusal; callers catching ValueError still do.
    assert issubclass(kind, RuleArgumentError)
    assert issubclass(RuleArgumentError, ValueError)
