"""The pages a reminder email's links open: "choose a time" (book) and cancel an appointment.

No login: the signed token names the reminder and is the only credential (tokens.py), so the pages
show the minimum (the first name, the clinic, times in the clinic's zone) and nothing that is not
the token's. GET shows and changes nothing (link scanners and previews fetch it); a POST acts,
CSRF-protected as every form here (unlike unsubscribe, no mail provider POSTs to these). A
tampered or expired token is a 400 page that changes nothing; a booking link already used is a
410 page; a time taken meanwhile shows the page again with fresh times (409). Not rate-limited,
as the unsubscribe page is not: the token, not the request count, is what is guessed at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_scopes import scopes_disabled

from apps.audit import events
from apps.reminders import conf, emails, invites, selectors, self_booking
from apps.reminders.models import Reminder
from apps.reminders.tokens import InvalidToken
from apps.scheduling.booking import BOOKING_LINK, SlotTaken
from apps.scheduling.models import AppointmentState

BOOK_TEMPLATE = "reminders/book/{language}.html"
CANCEL_TEMPLATE = "reminders/cancel/{language}.html"


def _page(request: HttpRequest, template: str, language: str, state: str, status: int = 200, **values: Any) -> Any:
    tz = values.pop("tz", None) or timezone.get_current_timezone()
    with translation.override(language), timezone.override(tz):
        response = render(request, template.format(language=language), {"state": state, **values}, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refused(request: HttpRequest, template: str, refused: InvalidToken) -> HttpResponse:
    language = emails.email_language(translation.get_language_from_request(request))
    return _page(request, template, language, "expired" if refused.expired else "invalid", status=400)


def _shown(reminder: Reminder) -> dict[str, Any]:
    """What the pages show: the first name and the clinic, in the patient's language and the clinic's zone."""
    return {
        "language": emails.email_language(reminder.patient.preferred_language),
        "first_name": reminder.patient.given_name,
        "clinic_name": reminder.clinic.sender_name,
        "phone": reminder.clinic.phone,
        "tz": reminder.clinic.tzinfo,
    }


# --- Choose a time --------------------------------------------------------------------------------


def _slots(reminder: Reminder, now: datetime) -> list[dict[str, Any]]:
    count = conf.count("REMINDER_BOOKING_PAGE_SLOTS")
    return [
        {"start": start, "value": start.isoformat(), "machine": machine}
        for start, machine in invites.free_starts(reminder.program, now=now, count=count)
    ]


def _chosen(request: HttpRequest) -> tuple[Any, datetime | None]:
    try:
        start = datetime.fromisoformat(request.POST.get("start", ""))
    except ValueError:
        return None, None
    return request.POST.get("machine", "").strip() or None, start if timezone.is_aware(start) else None


def _book_post(request: HttpRequest, reminder: Reminder, shown: dict[str, Any], now: datetime) -> HttpResponse:
    language = shown.pop("language")
    machine, start = _chosen(request)
    try:
        if start is None:
            raise ValidationError({"starts_at": "Choose one of the times shown."})
        appointment = self_booking.reminder_book(reminder=reminder, machine_id=machine, starts_at=start, now=now)
    except self_booking.LinkUsed:
        return _page(request, BOOK_TEMPLATE, language, "used", status=410, **shown)
    except SlotTaken:
        slots = _slots(reminder, now)
        return _page(request, BOOK_TEMPLATE, language, "choose", status=409, error="taken", slots=slots, **shown)
    except (ValidationError, ValueError):
        slots = _slots(reminder, now)
        return _page(request, BOOK_TEMPLATE, language, "choose", status=400, error="invalid", slots=slots, **shown)
    return _page(request, BOOK_TEMPLATE, language, "done", starts=appointment.starts_at, **shown)


@never_cache
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, token: str) -> HttpResponse:
    # Anonymous: the clinic scope the middleware set sees no clinic. The token decides what is visible.
    with scopes_disabled():
        try:
            reminder = selectors.reminder_for_booking(token=token)
        except InvalidToken as refused:
            return _refused(request, BOOK_TEMPLATE, refused)
        shown, now = _shown(reminder), timezone.now()
        events.record(action=events.Action.READ, obj=reminder, actor=BOOKING_LINK)
        if reminder.booked_appointment_id is not None:
            return _page(request, BOOK_TEMPLATE, shown.pop("language"), "used", status=410, **shown)
        if request.method == "POST":
            return _book_post(request, reminder, shown, now)
        return _page(request, BOOK_TEMPLATE, shown.pop("language"), "choose", slots=_slots(reminder, now), **shown)


# --- Cancel ---------------------------------------------------------------------------------------


def _cancel_state(reminder: Reminder, now: datetime) -> str:
    appointment = reminder.appointment
    if appointment.state == AppointmentState.CANCELLED:
        return "cancelled"
    if appointment.state != AppointmentState.BOOKED or appointment.starts_at <= now:
        return "closed"  # begun, attended or missed: only the clinic can change it now
    return "confirm"


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    with scopes_disabled():
        try:
            reminder = selectors.reminder_for_cancel(token=token)
        except InvalidToken as refused:
            return _refused(request, CANCEL_TEMPLATE, refused)
        shown, now = _shown(reminder), timezone.now()
        language, appointment = shown.pop("language"), reminder.appointment
        events.record(action=events.Action.READ, obj=reminder, actor=BOOKING_LINK)
        hours = invites.late_cancel_hours(appointment.clinic)
        late = appointment.starts_at - now < invites.late_cancel_window(appointment.clinic)
        values = {"starts": appointment.starts_at, "late_cancel_hours": hours, "late": late, **shown}
        state = _cancel_state(reminder, now)
        if request.method == "POST" and state == "confirm":
            try:
                cancelled = self_booking.reminder_cancel_appointment(reminder=reminder, now=now)
            except ValidationError:
                return _page(request, CANCEL_TEMPLATE, language, "closed", status=409, **values)
            return _page(request, CANCEL_TEMPLATE, language, "done", **{**values, "late": cancelled.cancelled_late})
        status = 409 if request.method == "POST" else 200
        return _page(request, CANCEL_TEMPLATE, language, state, status=status, **values)
