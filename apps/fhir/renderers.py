"""FHIR JSON out: the renderer, and the content negotiation that serves it or answers 406."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from apps.api.renderers import ORJSONRenderer
from apps.fhir import codes

JSON_FORMATS = frozenset({"json", "application/json", codes.FHIR_JSON})


class FhirJsonRenderer(ORJSONRenderer):
    media_type = codes.FHIR_JSON
    format = "json"


class FhirContentNegotiation(BaseContentNegotiation):
    """Always FHIR JSON: for `_format=json`, an Accept of FHIR JSON, JSON or anything; 406 otherwise."""

    ACCEPTABLE = ("*/*", "application/*", "application/json", codes.FHIR_JSON)

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        renderer = renderers[0]
        wanted = request.query_params.get("_format")
        if wanted is not None:
            if wanted not in JSON_FORMATS:
                raise exceptions.NotAcceptable(f"_format={wanted!r}: only JSON is served.")
            return renderer, renderer.media_type
        accept = request.META.get("HTTP_ACCEPT", "")
        types = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
        if not types or any(media in self.ACCEPTABLE for media in types):
            return renderer, renderer.media_type
        raise exceptions.NotAcceptable("Only application/fhir+json (or application/json) is served.")

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return None
