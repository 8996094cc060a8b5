from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.audit import denials
from apps.audit.context import client_ip, new_request_id, origin

CHANNEL_BY_PREFIX = (("/admin/", "admin"), ("/api/", "api"), ("/fhir/", "fhir"))


def channel_for_path(path: str) -> str:
    for prefix, channel in CHANNEL_BY_PREFIX:
        if path.startswith(prefix):
            return channel
    return "ui"


class RequestContextMiddleware:
    """Give every request an id (echoed as X-Request-ID) and record where it came from.

    Also records refused attempts on patient data and failed sign-ins (`apps.audit.denials`), after
    the view has answered: outside any transaction the view opened, so a rollback cannot lose them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-ID"))
        ip = client_ip(
            request.META.get("REMOTE_ADDR"),
            request.headers.get("X-Forwarded-For"),
            settings.TRUSTED_PROXY_COUNT,
        )
        request.request_id = request_id
        with origin(request_id, ip, channel_for_path(request.path)):
            with denials.collecting() as pending:
                response = self.get_response(request)
            denials.write(request, response, pending)
        response["X-Request-ID"] = request_id
        return response
