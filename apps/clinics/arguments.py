"""Argument checks for the pure rules, and the one exception they raise (issue 15 §3).

A rule is called by services, forms, the API, tasks and tests; some callers validate, others may not.
So each rule checks its own arguments and refuses what it cannot mean with `RuleArgumentError`, a
ValueError whose message is a sentence naming the argument and its valid range: never a bare
TypeError from deep inside, never a plausible-looking answer. Here, in `clinics`, because the
lowest layer that holds a rule (`patients.screening`) must be able to import it.

Python's `True` is an int and `Decimal("NaN")` is a Decimal, so the checks name them explicitly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TypeVar

T = TypeVar("T")

# No measurement a rule handles (torque, load, degrees, seconds, percent) comes near 10^100; beyond it
# Decimal arithmetic can overflow its context (a bare decimal.Overflow), so such a value is refused.
LARGEST_EXPONENT = 99
SHOWN_CHARACTERS = 80

Limit = int | str | Decimal | None  # a bound as written in a rule: 0, 50, "0.001"


class RuleArgumentError(ValueError):
    """An argument a rule cannot mean; the message names the argument and its valid range."""


def shown(value: object) -> str:
    """The value as a message quotes it: its repr, cut short (a message is a sentence, not a dump)."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


def text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise RuleArgumentError(f"{name} must be non-empty text; got {shown(value)}.")
    return value


def one_of(value: object, name: str, choices: Collection[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise RuleArgumentError(f"{name} must be one of {', '.join(choices)}; got {shown(value)}.")
    return value


def flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise RuleArgumentError(f"{name} must be True or False; got {shown(value)}.")
    return value


def _limits(lo: Limit, hi: Limit) -> str:
    return f"{lo} or more" if hi is None else f"up to {hi}" if lo is None else f"{lo}-{hi}"


def whole_number(value: object, name: str, lo: int, hi: int | None = None) -> int:
    """An int in [lo, hi]: not a bool, not 12.0, not "12" (a count is never a float or text)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        raise RuleArgumentError(f"{name} must be a whole number {_limits(lo, hi)}; got {shown(value)}.")
    return value


def _refusal(name: str, value: object, limits: str | None, kind: str = "number") -> RuleArgumentError:
    if limits is None:
        return RuleArgumentError(f"{name}: {shown(value)} is not a {kind}.")
    return RuleArgumentError(f"{name} must be a {kind} {limits}; got {shown(value)}.")


def _finite(value: object, name: str, limits: str | None, from_text: bool) -> Decimal:
    kinds = (int, float, Decimal, str) if from_text else (int, float, Decimal)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise _refusal(name, value, limits)
    try:
        # A float is read through its shortest repr: 0.1 is Decimal("0.1"), not its binary expansion.
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise _refusal(name, value, limits) from None
    if not result.is_finite():
        raise _refusal(name, value, limits, "finite number")
    if result and not -LARGEST_EXPONENT <= result.adjusted() <= LARGEST_EXPONENT:
        raise RuleArgumentError(f"{name}: {shown(value)} is not a number of a plausible size.")
    return result


def number(value: object, name: str, lo: Limit = None, hi: Limit = None, *, from_text: bool = True) -> Decimal:
    """A finite Decimal from an int, float, Decimal or (unless `from_text` is False) numeric text, in [lo, hi]."""
    limits = None if lo is None and hi is None else _limits(lo, hi)
    result = _finite(value, name, limits, from_text)
    if (lo is not None and result < Decimal(str(lo))) or (hi is not None and result > Decimal(str(hi))):
        raise RuleArgumentError(f"{name} must be a number {limits}; got {format(result.normalize(), 'f')}.")
    return result


def positive(value: object, name: str, hi: Limit = None) -> Decimal:
    """A finite Decimal above 0 (up to `hi`): an increment, a fraction, a divisor."""
    limits = "above 0" if hi is None else f"above 0 and up to {hi}"
    result = _finite(value, name, limits, from_text=True)
    if result <= 0 or (hi is not None and result > Decimal(str(hi))):
        raise RuleArgumentError(f"{name} must be a number {limits}; got {format(result.normalize(), 'f')}.")
    return result


def aware_datetime(value: object, name: str) -> datetime:
    """A datetime that names its instant: a naive one means a different moment in every zone."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise RuleArgumentError(f"{name} must be a timezone-aware datetime; got {shown(value)}.")
    return value


def wall_time(value: object, name: str) -> time:
    """A clinic's wall-clock time of day: a `datetime.time` without tzinfo (the clinic's zone gives it one)."""
    if not isinstance(value, time) or value.tzinfo is not None:
        raise RuleArgumentError(
            f"{name} must be a local time of day (a datetime.time without tzinfo); got {shown(value)}."
        )
    return value


def zone(value: object, name: str = "tz") -> tzinfo:
    """A time zone object: the name "Europe/London" is text a caller forgot to look up."""
    if not isinstance(value, tzinfo):
        raise RuleArgumentError(f"{name} must be a time zone such as ZoneInfo('Europe/London'); got {shown(value)}.")
    return value


def sequence_of(value: object, name: str, what: str, *, nonempty: bool = False) -> Sequence[object]:
    """A list or tuple (a generator would be spent by the first pass; text is not a list of anything)."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or (nonempty and not value):
        article = "a non-empty" if nonempty else "a"
        raise RuleArgumentError(f"{name} must be {article} list or tuple of {what}; got {shown(value)}.")
    return value


def pair(value: object, name: str, what: str) -> tuple[object, object]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise RuleArgumentError(f"{name} must be a pair {what}; got {shown(value)}.")
    return value[0], value[1]


def mapping(value: object, name: str, what: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise RuleArgumentError(f"{name} must be a mapping of {what}; got {shown(value)}.")
    return value


def instance(value: object, name: str, kind: type[T]) -> T:
    if not isinstance(value, kind):
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        raise RuleArgumentError(f"{name} must be {article} {kind.__name__}; got {shown(value)}.")
    return value
