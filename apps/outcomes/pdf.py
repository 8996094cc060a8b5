"""HTML to PDF with WeasyPrint, with no network: a document may load our static files, nothing else.

The HTML is a Django template rendered with the template engine, so the PDF is the page's own
markup and print stylesheet. Its links are resolved against a base URL that names no real host
(`BASE_URL`); the fetcher answers only URLs under it and STATIC_URL, from the static files (collected
ones first, then the finders, as in development), and refuses everything else, which WeasyPrint then
leaves out: a stray `https://` image in a note is never fetched.

WeasyPrint needs Pango (Debian `libpango-1.0-0 libpangoft2-1.0-0`, installed by scripts/pdf.sh). It
is imported on first use, so the rest of the platform starts on a machine without it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string

BASE_URL = "https://report.spinezone.invalid/"
CONTENT_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml", ".woff2": "font/woff2"}


class RefusedFetch(ValueError):
    """A document asked for something that is not one of our static files."""


def static_name(url: str) -> str:
    """The static file's name a URL names (`web/report.css`), or RefusedFetch."""
    prefix = BASE_URL.rstrip("/") + "/" + settings.STATIC_URL.strip("/") + "/"
    if not url.startswith(prefix):
        raise RefusedFetch(f"Only static files are fetched for a PDF; refused {url[:200]!r}.")
    name = unquote(urlsplit(url[len(prefix) :]).path)
    if not name or ".." in name.split("/") or name.startswith("/"):
        raise RefusedFetch(f"Not a static file name: {name[:200]!r}.")
    return name


def static_path(name: str) -> str:
    if staticfiles_storage.exists(name):
        return staticfiles_storage.path(name)
    found = finders.find(name)
    if not found:
        raise RefusedFetch(f"No static file {name!r}.")
    return found if isinstance(found, str) else found[0]


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            name = static_name(url)
            with open(static_path(name), "rb") as file:
                body = file.read()
            suffix = "." + name.rpartition(".")[2].lower()
            content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return StaticOnlyFetcher(allowed_protocols=("https",), allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).write_pdf()


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """The template rendered with Django's engine, as a PDF (print media: the page's print styles apply)."""
    return html_to_pdf(render_to_string(template_name, context))


REPORT_DOCUMENT = "web/progress/document.html"  # the report page's own markup (_report.html), as a document


def report_document(report: Any) -> bytes:
    """A progress report's PDF, from its snapshot, on the clock of the patient's clinic."""
    from django.utils import timezone

    patient = report.patient
    with timezone.override(patient.clinic.tzinfo):
        return render_pdf(REPORT_DOCUMENT, {"report": report, "content": report.content, "patient": patient})


def stored_or_rendered(report: Any) -> bytes:
    """The PDF stored at signing; made now (from the same snapshot) for a report signed without one."""
    return bytes(report.pdf) if report.pdf else report_document(report)
