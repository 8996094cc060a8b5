"""Helpers shared by the resource builders: references, meta, codings, quantities, JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.resource import Resource

from apps.fhir import codes


def to_json(resource: Resource) -> dict[str, Any]:
    """The resource as a FHIR JSON dict (aliases such as `class`, no empty elements)."""
    return resource.model_dump(mode="json", exclude_none=True)


def reference(resource_type: str, pk: Any, display: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"reference": f"{resource_type}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def meta(updated_at: datetime | None) -> dict[str, Any] | None:
    """`meta.lastUpdated` from `updated_at` (an aware datetime: FHIR instants need a zone)."""
    return {"lastUpdated": updated_at} if updated_at is not None else None


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    result = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        result["text"] = text
    return result


def category(code: str) -> list[dict[str, Any]]:
    return [concept(codes.OBSERVATION_CATEGORY, code, codes.CATEGORY_DISPLAYS[code])]


def quantity(value: Any, ucum: tuple[str, str]) -> dict[str, Any]:
    code, unit = ucum
    return {"value": Decimal(value), "unit": unit, "system": codes.UCUM, "code": code}


def checked(value: str, allowed: Iterable[str], element: str) -> str:
    """Guard for required bindings: the library checks the code's syntax, not its value set."""
    if value not in allowed:
        raise ValueError(f"{element}: {value!r} is not in the R4 value set")
    return value


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop None, empty strings and empty lists, so optional elements are absent, not empty."""
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}
