"""Load and progression rules: hand-computed tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from apps.assessments.scoring import InvalidScore
from apps.clinics.arguments import RuleArgumentError
from apps.programs import progression
from apps.programs.progression import PreviousSession, Proposal, SessionResult

# Rounding to the machine increment


@pytest.mark.parametrize(
    ("load", "increment", "up", "down", "nearest"),
    [
        ("10", "1", 10, 10, 10),
        ("10.2", "1", 11, 10, 10),
        ("10.5", "1", 11, 10, 11),  # half rounds up
        ("10.8", "1", 11, 10, 11),
        ("30", "3", 30, 30, 30),
        ("31.5", "3", 33, 30, 33),  # 10.5 increments
        ("31.4", "3", 33, 30, 30),
        ("32", "3", 33, 30, 33),
        ("2.9", "3", 3, 0, 3),
        ("7", "2.5", D("7.5"), 5, D("7.5")),
        ("0", "3", 0, 0, 0),
    ],
)
def test_rounding_to_the_increment(load, increment, up, down, nearest):
    assert progression.round_up_to_increment(D(load), increment) == up
    assert progression.round_down_to_increment(D(load), increment) == down
    assert progression.round_to_nearest_increment(D(load), increment) == nearest


@pytest.mark.parametrize("increment", [0, -1, "abc"])
def test_rounding_refuses_an_increment_that_is_not_positive(increment):
    with pytest.raises(RuleArgumentError, match="increment"):
        progression.round_up_to_increment(10, increment)


@pytest.mark.parametrize("load", ["-5", "-0.1"])
def test_rounding_refuses_a_negative_load(load):
    # Rounded up, a negative load would become one increment: a load nobody set.
    with pytest.raises(RuleArgumentError, match=rf"^load must be a number 0 or more; got {load}\.$"):
        progression.round_up_to_increment(D(load), 1)


@pytest.mark.parametrize(
    ("load", "increment", "min_load", "max_load", "expected"),
    [
        (100, 1, 0, 400, 100),
        (500, 1, 0, 400, 400),
        (10, 3, 30, 900, 30),  # the cervical stack: 30-900 in·lbf in 3s [S3]
        (901, 3, 30, 900, 900),
        (10, 3, 31, 899, 33),  # limits off the increment: the nearest multiples inside them
        (1000, 3, 31, 899, 897),
    ],
)
def test_clamping_to_the_machine_limits(load, increment, min_load, max_load, expected):
    assert progression.clamp_load(load, increment, min_load, max_load) == expected


def test_clamping_refuses_limits_with_no_multiple_between_them():
    with pytest.raises(
        RuleArgumentError, match=r"^No multiple of the increment 3 lies between min_load 31 and max_load 32\.$"
    ):
        progression.clamp_load(31, 3, 31, 32)
    with pytest.raises(RuleArgumentError, match=r"^min_load must be a number 0 or more; got -10\.$"):
        progression.clamp_load(0, 1, -10, 400)  # loads are never below zero


# Start load


@pytest.mark.parametrize(
    ("peak_nm", "unit", "increment", "fraction", "expected"),
    [
        ("135.5818", "ft_lbf", 1, "0.5", 50),  # 100 ft·lbf x 0.5
        ("135.5818", "ft_lbf", 3, "0.5", 48),  # 50 rounds DOWN to 48, not to the nearer 51
        ("135.5818", "ft_lbf", 1, "0.6", 60),
        ("400", "ft_lbf", 1, "0.5", 147),  # 400 / 1.355818 = 295.02 ft·lbf; x 0.5 = 147.51
        ("100", "in_lbf", 3, "0.5", 441),  # 100 / 0.1129848 = 885.07 in·lbf; x 0.5 = 442.54 -> 441
        ("0", "ft_lbf", 1, "0.5", 0),
    ],
)
def test_start_load(peak_nm, unit, increment, fraction, expected):
    assert progression.start_load(D(peak_nm), unit, increment, D(fraction)) == expected


def test_start_load_defaults_to_half_the_peak():
    assert progression.start_load(D("271.1636"), "ft_lbf", 1) == 100  # 200 ft·lbf / 2


@pytest.mark.parametrize("fraction", ["0", "-0.5", "1.01"])
def test_start_load_refuses_a_fraction_outside_0_to_1(fraction):
    with pytest.raises(ValueError, match="fraction"):
        progression.start_load(100, "ft_lbf", 1, D(fraction))


@pytest.mark.parametrize(
    ("load", "peak_nm", "unit", "needs_override"),
    [
        (50, "135.5818", "ft_lbf", False),  # 50 % of 100 ft·lbf
        (40, "135.5818", "ft_lbf", False),  # exactly 40 %
        (80, "135.5818", "ft_lbf", False),  # exactly 80 %
        (39, "135.5818", "ft_lbf", True),
        (81, "135.5818", "ft_lbf", True),
        (40, "11.29848", "in_lbf", False),  # 40 % of 100 in·lbf
        (39, "11.29848", "in_lbf", True),
        (10, "0", "ft_lbf", True),  # no peak to compare with
    ],
)
def test_start_load_outside_40_to_80_percent_needs_an_override(load, peak_nm, unit, needs_override):
    assert progression.start_load_needs_override(load, D(peak_nm), unit) is needs_override


# Next-load proposal


def session(reps=10, tul=100, failure=True, before=2, after=2, red_flag=False, status="completed"):
    return SessionResult(reps, tul, failure, before, after, red_flag, status)


def propose(current=100, increment=1, min_load=0, max_load=400, step=5, previous=None, **kwargs):
    return progression.propose_next_load(
        current_load=current,
        increment=increment,
        min_load=min_load,
        max_load=max_load,
        session=session(**kwargs),
        previous=previous,
        rep_range=(8, 12),
        tul_window=(45, 150),
        step_pct=step,
    )


STOP = "red flag reported: stop; no further sessions until a physician review"
CONSECUTIVE = PreviousSession(pain_before=2, pain_hold=True)
BELOW = PreviousSession(pain_before=2, below_minimum=True)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # 1 red flag wins over everything, load unchanged
        ({"red_flag": True, "reps": 14}, Proposal(D(100), "red_flag_stop", STOP)),
        ({"red_flag": True, "after": 9}, Proposal(D(100), "red_flag_stop", STOP)),
        # 2 pain hold
        (
            {"before": 2, "after": 4},
            Proposal(D(100), "pain_hold", "pain rose from 2 to 4 during the session: hold load and ROM"),
        ),
        (
            {"before": 2, "after": 4, "reps": 14},  # no increase under a pain hold
            Proposal(D(100), "pain_hold", "pain rose from 2 to 4 during the session: hold load and ROM"),
        ),
        (
            {"before": 5, "after": 5, "previous": PreviousSession(pain_before=3)},
            Proposal(D(100), "pain_hold", "pain before 5 >= last visit's 3 + 2: hold load and ROM"),
        ),
        (
            {"before": 4, "after": 6, "previous": PreviousSession(pain_before=2)},
            Proposal(
                D(100),
                "pain_hold",
                "pain rose from 4 to 6 during the session; pain before 4 >= last visit's 2 + 2: hold load and ROM",
            ),
        ),
        ({"before": 2, "after": 3}, Proposal(D(100), "hold", "reps 10 within 8-12: hold")),  # +1 is no flare
        (
            {"before": 4, "previous": PreviousSession(pain_before=3)},
            Proposal(D(100), "hold", "reps 10 within 8-12: hold"),
        ),
        # 2 pain reduce: 90 % rounded down
        (
            {"before": 2, "after": 4, "previous": CONSECUTIVE},
            Proposal(
                D(90),
                "pain_reduce",
                "pain hold on 2 consecutive sessions (pain rose from 2 to 4 during the session): "
                "-10 %, clinician review",
            ),
        ),
        ({"before": 5, "after": 7}, Proposal(D(90), "pain_reduce", "pain 7 >= 7: -10 %, clinician review")),
        ({"before": 7, "after": 7}, Proposal(D(90), "pain_reduce", "pain 7 >= 7: -10 %, clinician review")),
        ({"before": 6, "after": 6}, Proposal(D(100), "hold", "reps 10 within 8-12: hold")),
        (
            {"current": 99, "before": 8, "after": 8},  # 89.1 -> 89
            Proposal(D(89), "pain_reduce", "pain 8 >= 7: -10 %, clinician review"),
        ),
        (
            {"current": 99, "increment": 3, "before": 8, "after": 8},  # 89.1 -> 87
            Proposal(D(87), "pain_reduce", "pain 8 >= 7: -10 %, clinician review"),
        ),
        (
            {"current": 30, "increment": 3, "min_load": 30, "before": 8, "after": 8},  # 27 -> the minimum
            Proposal(D(30), "pain_reduce", "pain 8 >= 7: -10 %, clinician review, limited to the machine minimum 30"),
        ),
        ({"previous": CONSECUTIVE}, Proposal(D(100), "hold", "reps 10 within 8-12: hold")),  # a clean session
        # 3 increase: x (1 + step), rounded up, at least one increment
        ({"reps": 14}, Proposal(D(105), "increase", "reps 14 > 12 at failure: +5 %")),
        ({"reps": 13}, Proposal(D(105), "increase", "reps 13 > 12 at failure: +5 %")),
        ({"tul": 151}, Proposal(D(105), "increase", "time under load 151 s > 150 s at failure: +5 %")),
        (
            {"reps": 14, "tul": 160},
            Proposal(D(105), "increase", "reps 14 > 12 and time under load 160 s > 150 s at failure: +5 %"),
        ),
        ({"current": 101, "reps": 14}, Proposal(D(107), "increase", "reps 14 > 12 at failure: +5 %")),  # 106.05
        (
            {"current": 99, "increment": 3, "reps": 14},  # 103.95 -> 105
            Proposal(D(105), "increase", "reps 14 > 12 at failure: +5 %"),
        ),
        (
            {"current": 30, "increment": 3, "step": 2, "reps": 14},  # 30.6 -> 33
            Proposal(D(33), "increase", "reps 14 > 12 at failure: +2 %"),
        ),
        ({"current": 10, "step": 2, "reps": 14}, Proposal(D(11), "increase", "reps 14 > 12 at failure: +2 %")),
        ({"current": 0, "reps": 14}, Proposal(D(1), "increase", "reps 14 > 12 at failure: +5 %")),  # 0 x 1.05 = 0
        (
            {"current": 100, "step": "2.5", "reps": 14},  # 102.5 -> 103
            Proposal(D(103), "increase", "reps 14 > 12 at failure: +2.5 %"),
        ),
        (
            {"current": 398, "reps": 14},  # 417.9 -> 418 -> the maximum
            Proposal(D(400), "increase", "reps 14 > 12 at failure: +5 %, limited to the machine maximum 400"),
        ),
        (
            {"current": 400, "reps": 14},
            Proposal(D(400), "hold", "reps 14 > 12 at failure: +5 %, but 400 is the machine maximum: hold"),
        ),
        # no failure, no increase
        ({"reps": 14, "failure": False}, Proposal(D(100), "hold", "reps 14 > 12 without reaching failure: hold")),
        ({"tul": 160, "failure": False}, Proposal(D(100), "hold", "reps 10 within 8-12: hold")),
        ({"tul": 150}, Proposal(D(100), "hold", "reps 10 within 8-12: hold")),
        # 4 hold within the rep range
        ({"reps": 8}, Proposal(D(100), "hold", "reps 8 within 8-12: hold")),
        ({"reps": 12}, Proposal(D(100), "hold", "reps 12 within 8-12: hold")),
        ({"reps": 12, "tul": 45}, Proposal(D(100), "hold", "reps 12 within 8-12: hold")),
        # 5 below the minimum: hold once, then decrease to 95 % rounded down
        ({"reps": 7}, Proposal(D(100), "hold", "reps 7 < 8: hold (first session below the minimum)")),
        ({"tul": 44}, Proposal(D(100), "hold", "time under load 44 s < 45 s: hold (first session below the minimum)")),
        (
            {"reps": 7, "previous": BELOW},
            Proposal(D(95), "decrease", "reps 7 < 8, 2 sessions running below the minimum: -5 %"),
        ),
        (
            {"tul": 40, "previous": BELOW},
            Proposal(D(95), "decrease", "time under load 40 s < 45 s, 2 sessions running below the minimum: -5 %"),
        ),
        (
            {"reps": 6, "tul": 40, "current": 99, "previous": BELOW},  # 94.05 -> 94
            Proposal(
                D(94),
                "decrease",
                "reps 6 < 8 and time under load 40 s < 45 s, 2 sessions running below the minimum: -5 %",
            ),
        ),
        (
            {"reps": 7, "current": 99, "increment": 3, "previous": BELOW},  # 94.05 -> 93
            Proposal(D(93), "decrease", "reps 7 < 8, 2 sessions running below the minimum: -5 %"),
        ),
        (
            {"reps": 7, "current": 30, "increment": 3, "min_load": 30, "previous": BELOW},
            Proposal(
                D(30),
                "hold",
                "reps 7 < 8, 2 sessions running below the minimum: -5 %, but 30 is the machine minimum: hold",
            ),
        ),
        (
            {"reps": 7, "previous": CONSECUTIVE},
            Proposal(D(100), "hold", "reps 7 < 8: hold (first session below the minimum)"),
        ),
        # a set stopped early is held, never judged for progression
        (
            {"status": "stopped_early", "reps": 3, "previous": BELOW},
            Proposal(D(100), "hold", "session stopped early: hold"),
        ),
        ({"status": "stopped_early", "reps": 14}, Proposal(D(100), "hold", "session stopped early: hold")),
        (
            {"status": "stopped_early", "before": 3, "after": 6},
            Proposal(D(100), "pain_hold", "pain rose from 3 to 6 during the session: hold load and ROM"),
        ),
    ],
)
def test_propose_next_load(case, expected):
    assert propose(**case) == expected


def test_a_proposal_is_fitted_to_the_increment_even_when_the_current_load_is_not():
    assert propose(current=101, increment=3).load == 99


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ({"step": 1}, RuleArgumentError, "step_pct must be a number 2-10; got 1."),
        ({"step": 11}, RuleArgumentError, "step_pct must be a number 2-10; got 11."),
        ({"reps": 51}, RuleArgumentError, "session.reps must be a whole number 0-50; got 51."),
        ({"reps": 12.5}, RuleArgumentError, "session.reps must be a whole number 0-50; got 12.5."),
        ({"tul": 301}, RuleArgumentError, "session.time_under_load_s must be a whole number 0-300; got 301."),
        ({"status": "done"}, RuleArgumentError, "session.status must be one of completed, stopped_early; got 'done'."),
        ({"after": 11}, InvalidScore, "session.pain_after must be a whole number from 0 to 10; got 11."),
        ({"before": -1}, InvalidScore, "session.pain_before must be a whole number from 0 to 10; got -1."),
        (
            {"min_load": 401},
            RuleArgumentError,
            "No multiple of the increment 1 lies between min_load 401 and max_load 400.",
        ),
        # A negative current load once "increased" to one increment.
        ({"current": -10, "reps": 14}, RuleArgumentError, "current_load must be a number 0 or more; got -10."),
    ],
)
def test_propose_next_load_refuses_bad_input(case, error, message):
    with pytest.raises(error) as raised:
        propose(**case)
    assert message in str(raised.value)


def test_the_flags_stored_for_the_next_proposal():
    flare = session(before=2, after=4)
    assert progression.is_pain_hold(flare, None) is True
    assert progression.is_pain_hold(session(before=4), PreviousSession(pain_before=2)) is True
    assert progression.is_pain_hold(session(before=3), PreviousSession(pain_before=2)) is False
    assert progression.is_below_minimum(session(reps=7), (8, 12), (45, 150)) is True
    assert progression.is_below_minimum(session(tul=44), (8, 12), (45, 150)) is True
    assert progression.is_below_minimum(session(reps=8, tul=45), (8, 12), (45, 150)) is False
    assert progression.is_below_minimum(session(reps=3, status="stopped_early"), (8, 12), (45, 150)) is False


# Rapid rise

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def day(number, hour=12):
    return datetime(2026, 3, number, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([(day(1), 100), (day(6), 116)], progression.RapidRise(D(100), D(116), D("16.0"))),  # in effect at day 3
        ([(day(1), 100), (day(6), 115)], None),  # exactly 15 % is not above
        ([(day(3), 100), (day(9), 120)], progression.RapidRise(D(100), D(120), D("20.0"))),  # window edge included
        ([(day(2), 100), (day(3, 11), 110), (day(9), 120)], None),  # 110 was in effect from the start: +9.1 %
        ([(day(4), 100), (day(6), 120), (day(9), 110)], None),  # the latest load counts
        ([(day(1), 100), (day(12), 200)], None),  # a planned load after `now` is not yet a rise
        ([(day(9), 0), (day(10), 50)], None),  # no base for a percentage
        ([], None),
    ],
)
def test_rapid_rise_above_15_percent_within_7_days(history, expected):
    assert progression.rapid_rise(history, NOW) == expected


def test_rapid_rise_refuses_a_naive_date():
    with pytest.raises(ValueError, match="timezone-aware"):
        progression.rapid_rise([(datetime(2026, 3, 9), 100)], NOW)
