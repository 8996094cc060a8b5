"""The one-click unsubscribe page that every reminder email links to.

GET shows a confirmation and changes nothing (link scanners and previews fetch it); POST
unsubscribes. Mail providers' one-click button (RFC 8058) POSTs `List-Unsubscribe=One-Click` to
the same URL. The signed token is the only credential, so there is no login and no CSRF token (the
provider's POST cannot carry one); an invalid or expired token is a 400 page that changes nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_scopes import scopes_disabled

from apps.reminders import emails, selectors, services
from apps.reminders.tokens import InvalidToken

TEMPLATE = "reminders/unsubscribe/{language}.html"


def _page(request: HttpRequest, language: str, state: str, status: int = 200, **values: object) -> HttpResponse:
    response = render(request, TEMPLATE.format(language=language), {"state": state, **values}, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    # Anonymous: the clinic scope the middleware set sees no clinic. The token decides what is visible.
    with scopes_disabled():
        try:
            reminder = selectors.reminder_for_unsubscribe(token=token)
        except InvalidToken as refused:
            language = emails.email_language(translation.get_language_from_request(request))
            state = "expired" if refused.expired else "invalid"
            return _page(request, language, state, status=400)
        language = emails.email_language(reminder.patient.preferred_language)
        clinic_name = reminder.clinic.sender_name
        if request.method == "POST":
            services.patient_unsubscribe(reminder=reminder, now=timezone.now())
            return _page(request, language, "done", clinic_name=clinic_name)
    return _page(request, language, "confirm", clinic_name=clinic_name)
