"""The signed tokens of the links in reminder emails: one-click unsubscribe, "choose a time", cancel.

Each carries the reminder's random id and a timestamp, signed with SECRET_KEY under a salt of its own:
nothing that identifies the patient (no patient id, MRN or address) travels in the URL, and a token
made for one purpose (an unsubscribe link) cannot be replayed as another (a booking).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core import signing

SALT = "spinezone.reminders.unsubscribe"
BOOKING_SALT = "spinezone.reminders.booking"
CANCEL_SALT = "spinezone.reminders.cancel"


class InvalidToken(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _sign(reminder_id: uuid.UUID, salt: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(reminder_id.hex)


def unsubscribe_token(reminder_id: uuid.UUID) -> str:
    return _sign(reminder_id, SALT)


def booking_token(reminder_id: uuid.UUID) -> str:
    return _sign(reminder_id, BOOKING_SALT)


def cancel_token(reminder_id: uuid.UUID) -> str:
    return _sign(reminder_id, CANCEL_SALT)


def reminder_id_from(token: str, *, max_age: timedelta, salt: str = SALT) -> uuid.UUID:
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidToken(expired=True) from None
    except signing.BadSignature:
        raise InvalidToken(expired=False) from None
    try:
        return uuid.UUID(hex=value)
    except ValueError:  # signed by us but not an id: only a key leak could make this
        raise InvalidToken(expired=False) from None
