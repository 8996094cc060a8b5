"""The signed token of a one-click unsubscribe link.

It carries the reminder's random id and a timestamp, signed with SECRET_KEY under a salt of its own:
nothing that identifies the patient (no patient id, MRN or address) travels in the URL, and a token
made for any other purpose cannot be replayed here.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core import signing

SALT = "spinezone.reminders.unsubscribe"


class InvalidToken(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def unsubscribe_token(reminder_id: uuid.UUID) -> str:
    return signing.TimestampSigner(salt=SALT).sign(reminder_id.hex)


def reminder_id_from(token: str, *, max_age: timedelta) -> uuid.UUID:
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidToken(expired=True) from None
    except signing.BadSignature:
        raise InvalidToken(expired=False) from None
    try:
        return uuid.UUID(hex=value)
    except ValueError:  # signed by us but not an id: only a key leak could make this
        raise InvalidToken(expired=False) from None
