"""A reminder as an email: text and HTML in the patient's language, from the clinic, with unsubscribe.

Minimum necessary (DOMAIN.md "Reminders"): the context holds the first name, the clinic's display
name and contact line, the due date and the unsubscribe link, and for booking the free times with a
"choose a time" link, or an appointment's time, the clinic's address, a cancel link and the
iCalendar invite (apps.reminders.invites); nothing else: no diagnosis, scores, loads, notes or
record number can reach a template that never receives them.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from apps.reminders import invites
from apps.reminders.models import AHEAD_KINDS, APPOINTMENT_KINDS, BOOKING_KINDS, Reminder
from apps.reminders.tokens import unsubscribe_token

FALLBACK_LANGUAGE = "en"


def sender_domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


def message_id(reminder: Reminder) -> str:
    """Deterministic: every attempt of one reminder carries the same Message-ID, so a receiver (or
    our own SMTP relay) can recognise the rare resend after a worker died between send and mark."""
    return f"<reminder.{reminder.pk}@{sender_domain()}>"


def unsubscribe_url(reminder: Reminder) -> str:
    path = reverse("reminders:unsubscribe", kwargs={"token": unsubscribe_token(reminder.pk)})
    return settings.SITE_URL.rstrip("/") + path


def email_language(preferred: str) -> str:
    """The patient's language when we have its templates, else English."""
    try:
        get_template(f"reminders/email/{preferred}/subject.txt")
    except TemplateDoesNotExist:
        return FALLBACK_LANGUAGE
    return preferred


def context(reminder: Reminder, *, now: datetime | None = None) -> dict[str, Any]:
    clinic = reminder.clinic
    values = {
        "kind": reminder.kind,
        "first_name": reminder.patient.given_name,
        "clinic_name": clinic.sender_name,
        "phone": clinic.phone,
        "reply_to": clinic.reply_to_email,
        "due": reminder.due_at,  # shown in the clinic's zone: rendering overrides the current zone
        "unsubscribe_url": unsubscribe_url(reminder),
    }
    return values | _booking_context(reminder, now or timezone.now())


def _booking_context(reminder: Reminder, now: datetime) -> dict[str, Any]:
    """Free times and the "choose a time" link (due, overdue), or the appointment and its cancel link."""
    if reminder.kind in BOOKING_KINDS:
        slots = invites.suggested_slots(reminder.program, now=now)
        return {"slots": slots, "book_url": invites.book_url(reminder) if slots else ""}
    if reminder.kind not in APPOINTMENT_KINDS:
        return {}
    clinic = reminder.appointment.clinic
    return {
        "starts": reminder.appointment.starts_at,
        "address": invites.address(clinic),
        "cancel_url": invites.cancel_url(reminder) if reminder.kind in AHEAD_KINDS else "",
        "late_cancel_hours": invites.late_cancel_hours(clinic),
    }


def _render(language: str, name: str, values: dict[str, Any]) -> str:
    return render_to_string(f"reminders/email/{language}/{name}", values)


def _headers(reminder: Reminder, link: str, language: str) -> dict[str, str]:
    return {
        "Message-ID": message_id(reminder),
        # RFC 8058: mail providers show an unsubscribe button and POST "List-Unsubscribe=One-Click".
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # RFC 3834: no vacation auto-replies to an automatic message.
        "Auto-Submitted": "auto-generated",
        "Content-Language": language,
    }


def reminder_email(reminder: Reminder, *, now: datetime | None = None) -> EmailMultiAlternatives:
    now = now or timezone.now()
    language = email_language(reminder.patient.preferred_language)
    values = context(reminder, now=now)
    with translation.override(language), timezone.override(reminder.clinic.tzinfo):
        subject = " ".join(_render(language, "subject.txt", values).split())
        text = _render(language, "body.txt", values)
        html = _render(language, "body.html", values)
    sender = formataddr((reminder.clinic.sender_name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender,
        to=[reminder.patient.email],
        reply_to=[reminder.clinic.reply_to_email] if reminder.clinic.reply_to_email else None,
        headers=_headers(reminder, values["unsubscribe_url"], language),
    )
    message.attach_alternative(html, "text/html")
    if reminder.kind in APPOINTMENT_KINDS:
        message.attach(invites.calendar_part(reminder, now=now))
    return message
