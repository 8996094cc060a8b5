"""The site's HTTP hardening: Cache-Control on dynamic responses and the CSP's per-path relaxations
(the policy itself is CONTENT_SECURITY_POLICY in settings; error bodies are in `errors.py`)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import drf_spectacular
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers

# Responses that hold nothing about anyone and may be cached; everything else is no-store.
CACHEABLE_PREFIXES = ("/health/", "/api/schema/", "/api/docs/", "/static/")


def _inline_style_hash(template_path: Path) -> str:
    """The CSP source ('sha256-…') that allows exactly the one inline <style> block of a template."""
    block = re.search(r"<style>(.*?)</style>", template_path.read_text(), flags=re.DOTALL)
    if block is None:
        raise ImproperlyConfigured(f"{template_path} has no inline <style> block to allow.")
    digest = base64.b64encode(hashlib.sha256(block.group(1).encode()).digest()).decode()
    return f"'sha256-{digest}'"


SWAGGER_TEMPLATE = Path(drf_spectacular.__file__).parent / "templates" / "drf_spectacular" / "swagger_ui.html"

# Per-path additions to CONTENT_SECURITY_POLICY, each with its reason:
# - /api/docs/: drf-spectacular's Swagger page (its operations, no patient data) has one inline
#   <style> block (box sizing, background) in its template. The policy allows that block by its
#   hash, read from the installed template, and nothing else: no 'unsafe-inline' anywhere.
# The admin needs none: Django 5.2's admin has no inline script, and its only inline <style> is
# rendered for change lists without actions, which no SpineZone admin has (tests/security/test_http.py).
POLICY_ADDITIONS: dict[str, dict[str, list[str]]] = {
    "/api/docs/": {"style-src": [_inline_style_hash(SWAGGER_TEMPLATE)]},
}


class NoStoreMiddleware:
    """`Cache-Control: no-store` (with private, no-cache) on every page and API/FHIR answer, so no
    browser or proxy keeps a copy of patient data; the health check, the API schema and its docs
    page are the exceptions. Static files are served by WhiteNoise before this runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(CACHEABLE_PREFIXES):
            add_never_cache_headers(response)
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware with POLICY_ADDITIONS applied by path."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        for prefix, additions in POLICY_ADDITIONS.items():
            if not report_only and parts.update is None and request.path.startswith(prefix):
                parts.update = additions
        return parts
