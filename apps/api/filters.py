"""Query-parameter filters every list endpoint shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

MAX_OFFSET = timedelta(hours=14)  # the widest offset any zone uses (Line Islands, UTC+14)


class InstantField(IsoDateTimeField):
    """An ISO 8601 time with its offset, as a UTC instant: PostgreSQL refuses offsets beyond ±15:59,
    and a year-1 time west of UTC is no instant at all, so both are a field error, not a 500."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) > MAX_OFFSET:
            raise forms.ValidationError("Give a UTC offset between -14:00 and +14:00.", code="invalid")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Give a time between the years 1 and 9999.", code="invalid") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField
