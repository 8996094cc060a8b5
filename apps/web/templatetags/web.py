"""Small display filters of the staff UI."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.assessments.bands import band_label
from apps.assessments.scoring import as_decimal, fmt
from apps.programs import maintenance

register = template.Library()

NONE_SHOWN = "—"
DAY = "D j M"  # Sun 6 Dec
DAY_AND_TIME = "D H:i"  # Thu 10:00
DATE_AND_TIME = "D j M, H:i"  # Thu 10 Dec, 10:00
EXACT = "D j M Y, H:i"  # Sun 6 Dec 2026, 01:30


@register.filter
def num(value: object) -> str:
    """A number as staff write it: 120, 12.5 (no trailing zeros); a dash when there is none."""
    if value is None or value == "":
        return NONE_SHOWN
    try:
        return fmt(as_decimal(value))
    except ValueError:
        return str(value)


@register.filter
def words(value: object) -> str:
    """A stored code as words: on_hold → on hold. Bands have their own labels (`band`)."""
    return str(value or "").replace("_", " ")


@register.filter
def band(value: str | None) -> str:
    """An ODI/NDI band as staff read it: bed_bound → bed-bound; a dash when there is none."""
    return band_label(value) or NONE_SHOWN


@register.filter
def percent_change(value: Decimal | None) -> str:
    if value is None:
        return NONE_SHOWN
    sign = "+" if value > 0 else ""
    return f"{sign}{fmt(value)} %"


# --- Due times -----------------------------------------------------------------------------------
# A due time is an instant (DOMAIN.md, "Scheduling"), but 01:30 means "that day" to a clinician:
# due times show the clinic's local day, the exact local time on hover. The earliest next session
# (the rest window, elapsed hours) is a real boundary, so it keeps its hour.


def _zone(where: object) -> tzinfo:
    """The zone to read a time in: a clinic's, an IANA name, or else the active one (the page's
    clinic: `render_page` activates it)."""
    if not where:
        return timezone.get_current_timezone()
    zone = getattr(where, "tzinfo", where)
    return zone if isinstance(zone, tzinfo) else ZoneInfo(str(zone))


def _time_element(moment: datetime | None, where: object, shown: str) -> str:
    if moment is None or moment == "":
        return NONE_SHOWN
    zone = _zone(where)
    local = moment.astimezone(zone)
    iso = local.isoformat(timespec="seconds")
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, _exact(local, zone), date_format(local, shown))


def _exact(local: datetime, zone: tzinfo) -> str:
    """Sun 6 Dec 2026, 01:30 Europe/Madrid (CET): the abbreviation tells the two 02:30 of a DST fold apart."""
    name, abbreviation = str(getattr(zone, "key", zone)), local.tzname() or ""
    suffix = f" ({abbreviation})" if abbreviation and abbreviation != name else ""
    return f"{date_format(local, EXACT)} {name}{suffix}"


@register.filter
def due_day(moment: datetime | None, where: object = None) -> SafeString | str:
    """The local day a due time falls on ("Sun 6 Dec"), the exact time in the title.

    `where` is the clinic whose calendar the time is read in (default: the page's clinic)."""
    return _time_element(moment, where, DAY)


@register.filter
def from_time(moment: datetime | None, where: object = None) -> SafeString | str:
    """An exact boundary as day and local time ("Thu 10:00"), the full date in the title."""
    return _time_element(moment, where, DAY_AND_TIME)


@register.filter
def slot_time(moment: datetime | None, where: object = None) -> SafeString | str:
    """An appointment's start as day, date and local time ("Thu 10 Dec, 10:00"), the zone in the title."""
    return _time_element(moment, where, DATE_AND_TIME)


@register.filter
def every_weeks(weeks: int) -> str:
    """A maintenance interval as staff say it: every week, every 2 weeks."""
    return maintenance.every_weeks(weeks)
