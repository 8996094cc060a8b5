"""The R4 check the builders no longer run: parse FHIR JSON with `fhir.resources.R4B`, and compare.

The builders write JSON dicts by hand (apps.fhir.resources.base). Parsing one with the R4B model of its
`resourceType` checks its shape (known elements only, types, cardinality, required elements, formats);
dumping the parsed model back and comparing bytes checks that it is exactly the JSON the library
writes: element order, integers against decimals with places, instants with their `Z`. A Bundle's
entries are each checked with their own model too.
"""

from __future__ import annotations

from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel


class NotR4(AssertionError):
    pass


def parsed(body: dict[str, Any]) -> FHIRAbstractModel:
    """The R4B model of `body`; NotR4 (or pydantic's ValidationError) if it is not R4 as the library writes it."""
    model = get_fhir_model_class(body["resourceType"]).model_validate(body)
    written = orjson.dumps(model.model_dump(mode="json", exclude_none=True))
    given = orjson.dumps(body)
    if written != given:
        kind = body["resourceType"]
        raise NotR4(f"{kind} is not the JSON fhir.resources writes:\n given {given!r}\n model {written!r}")
    if body["resourceType"] == "Bundle":
        for entry in body.get("entry", []):
            parsed(entry["resource"])
    return model
