"""Request bodies: a key the operation does not know is refused, not dropped.

A partner's typo (`birth_dat`) silently ignored would write a record without the value the partner
meant to send. Every input serializer of a write takes `StrictFields` first in its bases: a key of the
body that is not one of its writable fields is a 400 `unknown_field` on `non_field_errors` (the attr
every operation documents), naming the key, and nothing is written. Nested inputs refuse theirs too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

UNKNOWN_FIELD = "unknown_field"


class StrictFields:
    """Mixin for a `serializers.Serializer`: refuse the body's keys that are no writable field.

    The code is among the serializer's error messages, so the schema documents it on
    `non_field_errors` of every operation that takes the body (drf-standardized-errors reads them).
    """

    default_error_messages = {UNKNOWN_FIELD: "Unknown field {names}: this body takes {known}."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                names = ", ".join(f"'{key}'" for key in unknown)
                message = self.error_messages[UNKNOWN_FIELD].format(names=names, known=", ".join(sorted(writable)))
                if len(unknown) > 1:
                    message = message.replace("Unknown field ", "Unknown fields ", 1)
                detail = ErrorDetail(message, code=UNKNOWN_FIELD)
                raise serializers.ValidationError({"non_field_errors": [detail]})
        return super().to_internal_value(data)  # type: ignore[misc]
