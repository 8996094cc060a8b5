"""Schema post-processing: error attrs and codes documented as the API returns them.

A staff session that has not passed its second factor gets a 403 `second_factor_required` from the
sign-in middleware (apps.accounts.middleware) before any view: `ErrorCode403Enum` lists it.

drf-standardized-errors documents an error on a list item's field as the attr `points.INDEX.torque`
(its LIST_INDEX_IN_API_SCHEMA placeholder), while the API answers `points.0.torque`, the index of the
item at fault, which a partner needs. Each such attr's enum becomes the pattern of the attrs the API
returns (`^points\\.[0-9]+\\.torque$`), so the documented attr is the returned one.
"""

from __future__ import annotations

import re
from typing import Any

from drf_standardized_errors.settings import package_settings

ERROR_COMPONENT = "ErrorComponent"


def _pattern(attr: str) -> str:
    index = package_settings.LIST_INDEX_IN_API_SCHEMA
    return "^" + r"\.[0-9]+\.".join(re.escape(part) for part in attr.split(f".{index}.")) + "$"


def list_index_attrs(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: rewrite the INDEX attrs of every error component."""
    index = f".{package_settings.LIST_INDEX_IN_API_SCHEMA}."
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith(ERROR_COMPONENT):
            continue
        attr = component.get("properties", {}).get("attr", {})
        values = attr.get("enum") or []
        if len(values) == 1 and index in values[0]:
            component["properties"]["attr"] = {
                "type": "string",
                "pattern": _pattern(values[0]),
                "description": f"`{values[0]}`, the item's index in place of {index.strip('.')}",
            }
    return result


FORBIDDEN_CODES = {"second_factor_required": "Second factor required (a staff session, before its TOTP step)"}


def forbidden_codes(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: the 403 codes the middleware answers, beside DRF's."""
    enum = result.get("components", {}).get("schemas", {}).get("ErrorCode403Enum")
    if enum is not None:
        for code, label in FORBIDDEN_CODES.items():
            if code not in enum["enum"]:
                enum["enum"].append(code)
                enum["description"] = f"{enum.get('description', '')}\n* `{code}` - {label}".strip()
    return result
