"""Weak ETags from `updated_at`, and the 304 answer to a matching `If-None-Match`.

Every row the API shows in a detail view is saved through `save()` (services, admin), whose
`auto_now` moves `updated_at`: an unchanged `updated_at` means an unchanged representation. The
tag is weak because it promises equal content, not byte-identical JSON.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="An ETag from an earlier response."
)
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified since that ETag.")}


def etag_of(row: Any) -> str:
    return f'W/"{row.pk}-{int(row.updated_at.timestamp() * 1_000_000)}"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def detail_response(request: Request, row: Any, output: type) -> Response:
    """`output(row)` with the row's ETag, or 304 when the caller already holds that version."""
    etag = etag_of(row)
    if _matches(request.headers.get("If-None-Match", ""), etag):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return Response(output(row).data, headers={"ETag": etag})
