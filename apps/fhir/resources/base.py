"""Helpers shared by the resource builders: references, meta, codings, quantities, FHIR primitives.

The builders write FHIR JSON directly, as plain dicts of str, int, float, bool, list and dict, in the
element order of the R4 definitions (the order `fhir.resources` serialises in), optional elements
absent rather than empty. They construct no `fhir.resources` models: building and dumping a pydantic
model per resource cost more than the rest of a search request (bench/fhir_search.py). What the models
checked moves to the tests, which parse every builder's output and every response of the views with
`fhir.resources.R4B` (tests/fhir); the required bindings stay checked here, by `checked`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from apps.fhir import codes

Json = dict[str, Any]


def iso(moment: date | None) -> str | None:
    """A FHIR instant, dateTime or date: ISO 8601, a zero UTC offset written `Z`, as `fhir.resources` wrote it.

    Our datetimes are aware (FHIR instants need a zone); a `date` is written as a date.
    """
    if moment is None:
        return None
    text = moment.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


def number(value: Any) -> int | float:
    """A FHIR decimal as a JSON number, as `fhir.resources` writes one: an integer when the value has no
    decimal places (`Decimal("105")`, an `int`), else a float (`Decimal("105.00")` → 105.0).
    """
    value = Decimal(value)
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def reference(resource_type: str, pk: Any, display: str | None = None) -> Json:
    ref: Json = {"reference": f"{resource_type}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def meta(updated_at: date | None) -> Json | None:
    """`meta.lastUpdated` from `updated_at` (an aware datetime: FHIR instants need a zone)."""
    return {"lastUpdated": iso(updated_at)} if updated_at is not None else None


def coding(system: str, code: str, display: str | None = None) -> Json:
    result = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> Json:
    result: Json = {"coding": [coding(system, code, display)]}
    if text:
        result["text"] = text
    return result


def category(code: str) -> list[Json]:
    return [concept(codes.OBSERVATION_CATEGORY, code, codes.CATEGORY_DISPLAYS[code])]


def quantity(value: Any, ucum: tuple[str, str]) -> Json:
    code, unit = ucum
    return {"value": number(value), "unit": unit, "system": codes.UCUM, "code": code}


def checked(value: str, allowed: Iterable[str], element: str) -> str:
    """Guard for required bindings: the builders emit only codes of the R4 value set."""
    if value not in allowed:
        raise ValueError(f"{element}: {value!r} is not in the R4 value set")
    return value


def compact(data: Json) -> Json:
    """Drop None, empty strings and empty lists, so optional elements are absent, not empty."""
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}
