"""Small display filters of the staff UI."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apps.assessments.scoring import as_decimal, fmt

register = template.Library()


@register.filter
def num(value: object) -> str:
    """A number as staff write it: 120, 12.5 (no trailing zeros); a dash when there is none."""
    if value is None or value == "":
        return "—"
    try:
        return fmt(as_decimal(value))
    except ValueError:
        return str(value)


@register.filter
def words(value: object) -> str:
    """A stored code as words: bed_bound → bed bound."""
    return str(value or "").replace("_", " ")


@register.filter
def percent_change(value: Decimal | None) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return f"{sign}{fmt(value)} %"
