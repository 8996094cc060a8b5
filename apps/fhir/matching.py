"""FHIR token, string and id search values → conditions on rows (R4 §3.1.1.4 "Search parameter types").

- token: `code`, `system|code`, `|code` (a code of no system) or `system|` (any code of the system);
  commas separate alternatives (OR). A token is matched against a table of the (system, code) pairs our
  builders emit, so a search finds exactly what the resources say; a code we never emit matches nothing.
- string: case-insensitive starts-with (R4's default); `:exact` is the exact, case-sensitive value,
  `:contains` case-insensitive anywhere. Accents count (no `unaccent` in the database): "Alvarez" does
  not find "Álvarez". Commas separate alternatives.
- `_id`: our ids; one that cannot be ours (not a UUID, not a number) matches nothing.

Repeating a parameter ANDs its values (`given=an&given=ma`). A value that names nothing the principal
may see matches nothing: a search cannot tell "elsewhere" from "nowhere". An empty value is a 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q

from apps.fhir.errors import invalid

NOTHING = Q(pk__in=[])
EVERYTHING = Q()
STRING_MODIFIERS = {"": "istartswith", ":exact": "exact", ":contains": "icontains"}


@dataclass(frozen=True)
class Token:
    """One alternative of a token value. `system` None: any system; "" no system. `code` "": any code."""

    system: str | None
    code: str

    def matches(self, system: str, code: str) -> bool:
        return (self.system is None or self.system == system) and self.code in ("", code)


def tokens(value: str, param: str) -> list[Token]:
    """The alternatives of one token value: `a,b` is a or b."""
    alternatives = []
    for part in value.split(","):
        system, bar, code = part.rpartition("|") if "|" in part else (None, "", part)
        if not code and not system:
            raise invalid(f"{param}={value!r}: give a code, system|code or system|.", param)
        alternatives.append(Token(system if bar else None, code))
    return alternatives


def every(values: list[str], one: Callable[[str], Q]) -> Q:
    """A repeated parameter: each value's condition, ANDed."""
    return reduce(lambda condition, value: condition & one(value), values, EVERYTHING)


def token_filter(
    param: str, table: Mapping[tuple[str, str], Hashable], to_q: Callable[[set[Any]], Q]
) -> Callable[[list[str]], Q]:
    """A token parameter over `table` ({(system, code): what the row holds}): the rows holding what the
    tokens pick, through `to_q(picked)`; nothing when they pick nothing."""

    def one(value: str) -> Q:
        alternatives = tokens(value, param)
        picked = {held for (system, code), held in table.items() if any(t.matches(system, code) for t in alternatives)}
        return to_q(picked) if picked else NOTHING

    return lambda values: every(values, one)


def field_in(field: str) -> Callable[[set[Any]], Q]:
    return lambda picked: Q(**{f"{field}__in": sorted(picked)})


def any_row(picked: set[Any]) -> Q:
    """For a token every row of a source answers the same way (its category): all of them."""
    return EVERYTHING


def string_filters(param: str, fields: Iterable[str]) -> dict[str, Callable[[list[str]], Q]]:
    """A string parameter and its modifiers (`family`, `family:exact`, `family:contains`) over `fields`
    (any of them may match: `name` is the family or the given name)."""
    fields = tuple(fields)

    def narrow(lookup: str, name: str) -> Callable[[list[str]], Q]:
        def one(value: str) -> Q:
            words = value.split(",")
            if not all(words):
                raise invalid(f"{name}={value!r}: give a value.", name)
            return reduce(or_, (Q(**{f"{field}__{lookup}": word}) for word in words for field in fields))

        return lambda values: every(values, one)

    return {f"{param}{modifier}": narrow(lookup, f"{param}{modifier}") for modifier, lookup in STRING_MODIFIERS.items()}


def uuid_ids(values: list[str]) -> Q:
    """`_id` of rows keyed by UUID: a comma-separated list of ids, any of them."""
    return every(values, lambda value: _ids(value, uuid.UUID))


def int_ids(values: list[str]) -> Q:
    return every(values, lambda value: _ids(value, int))


def _ids(value: str, kind: Callable[[str], Any]) -> Q:
    if not value:
        raise invalid("_id: give an id.", "_id")
    keys = []
    for part in value.split(","):
        try:
            keys.append(kind(part))
        except ValueError:
            continue  # not one of our ids: names nothing
    return Q(pk__in=keys) if keys else NOTHING


def local_ids(value: str, resource_type: str, param: str) -> list[int]:
    """A reference parameter's value (`Location/12`, `12`, `12,13`) → the numeric ids it names."""
    if not value:
        raise invalid(f"{param}: give a reference.", param)
    found = []
    for part in value.split(","):
        try:
            found.append(int(part.removeprefix(f"{resource_type}/")))
        except ValueError:
            continue
    return found
