"""Reminder rules as pure functions over plain values: quiet hours, who may be emailed, retry timing.

No ORM and no clock reads (DESIGN.md): the sweep and the send task pass rows' values and `now`.
Datetimes must be timezone-aware; every datetime returned is in UTC. An argument a rule cannot mean
(a zone given by name, a count of 2.5, 1 for True) raises RuleArgumentError naming it (apps.clinics.arguments).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError
from apps.clinics.localtime import localise

# --- Quiet hours (DOMAIN.md "Reminders": default no sends 21:00-08:00 clinic local time) -----------


def in_quiet_hours(wall: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time lies in [start, end); the window may wrap midnight.

    start == end means the clinic has no quiet hours.
    """
    wall = check.wall_time(wall, "wall").replace(fold=0)
    start, end = check.wall_time(start, "start"), check.wall_time(end, "end")
    if start == end:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def _quiet_at(moment: datetime, tz: ZoneInfo, start: time, end: time) -> bool:
    return in_quiet_hours(moment.astimezone(tz).time(), start, end)


def _end_of_quiet(moment: datetime, tz: ZoneInfo, end: time) -> datetime:
    """The first local `end` o'clock after `moment` (the same local day when `end` is still ahead)."""
    local = moment.astimezone(tz)
    day: date = local.date() if local.time().replace(fold=0) < end else local.date() + timedelta(days=1)
    return localise(datetime.combine(day, end), tz)


def next_allowed_send(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`moment`, or when it falls in the clinic's quiet hours, the instant they end.

    A quiet-hours end that does not exist on its day (a spring-forward gap) is moved forward by the
    gap, like every local time here (`clinics.localtime.localise`); if that lands inside the next quiet
    period (only possible when the allowed window is shorter than the gap), the following end is
    taken. Three rounds always suffice: gaps are at most one a day.
    """
    candidate = check.aware_datetime(moment, "moment").astimezone(UTC)
    check.zone(tz, "tz")
    start, end = check.wall_time(start, "start"), check.wall_time(end, "end")
    for _ in range(3):
        if not _quiet_at(candidate, tz, start, end):
            return candidate
        candidate = _end_of_quiet(candidate, tz, end)
    raise RuleArgumentError(f"No allowed send time near {moment.isoformat()} with quiet hours {start}-{end} in {tz}.")


LAST_BEFORE_QUIET = timedelta(minutes=1)  # "the latest allowed time": a minute before quiet hours begin


def _start_of_quiet(moment: datetime, tz: ZoneInfo, start: time) -> datetime:
    """The local `start` o'clock that began the quiet period `moment` lies in (today's or yesterday's)."""
    local = moment.astimezone(tz)
    day: date = local.date() if local.time().replace(fold=0) >= start else local.date() - timedelta(days=1)
    return localise(datetime.combine(day, start), tz)


def upcoming_send_at(starts_at: datetime, lead: timedelta, tz: ZoneInfo, start: time, end: time) -> datetime:
    """When the "your appointment is coming up" email goes: `lead` before the start, or, when that falls
    in the clinic's quiet hours, just before they began (the evening before), never after it.

    DOMAIN.md "Appointments": in quiet hours, the evening before at the latest allowed time; waiting
    for quiet hours to end could put a 24-hour reminder an hour before an 09:00 appointment.
    """
    if check.instance(lead, "lead", timedelta) < timedelta(0):
        raise RuleArgumentError(f"lead must not be negative (a reminder after the start); got {lead}.")
    target = check.aware_datetime(starts_at, "starts_at").astimezone(UTC) - lead
    check.zone(tz, "tz")
    start, end = check.wall_time(start, "start"), check.wall_time(end, "end")
    if not _quiet_at(target, tz, start, end):
        return target
    return min(_start_of_quiet(target, tz, start).astimezone(UTC) - LAST_BEFORE_QUIET, target)


# --- Who may be emailed ----------------------------------------------------------------------------

DELETED, DECEASED, UNSUBSCRIBED = "patient_deleted", "patient_deceased", "unsubscribed"
NO_CONSENT, NO_EMAIL = "no_consent", "no_email"
PROGRAM_NOT_ACTIVE, DUE_MOVED = "program_not_active", "due_moved"
# A due reminder made needless by an appointment already booked for it; an appointment reminder
# (confirmation, upcoming) whose appointment is no longer booked or has begun.
APPOINTMENT_BOOKED, APPOINTMENT_NOT_LIVE = "appointment_booked", "appointment_not_live"
# The order in which a blocked reminder's reason is named when several apply.
BLOCK_REASONS = (
    DELETED,
    DECEASED,
    UNSUBSCRIBED,
    NO_CONSENT,
    NO_EMAIL,
    PROGRAM_NOT_ACTIVE,
    DUE_MOVED,
    APPOINTMENT_BOOKED,
    APPOINTMENT_NOT_LIVE,
)
PATIENT_REASONS = BLOCK_REASONS[:5]  # about the patient alone (the rest are about the program)


@dataclass(frozen=True)
class Recipient:
    email: str
    consent: bool
    unsubscribed: bool
    deceased: bool
    deleted: bool


def _check_recipient(recipient: object) -> Recipient:
    """None for a flag would read as "no": a patient without a known consent must never look consenting."""
    check.instance(recipient, "recipient", Recipient)
    if not isinstance(recipient.email, str):
        raise RuleArgumentError(f"recipient.email must be text (empty when unknown); got {recipient.email!r}.")
    for name in ("consent", "unsubscribed", "deceased", "deleted"):
        check.flag(getattr(recipient, name), f"recipient.{name}")
    return recipient


def block_reason(
    recipient: Recipient,
    *,
    program_active: bool,
    due_unchanged: bool,
    booked_ahead: bool = False,
    appointment_live: bool = True,
) -> str | None:
    """Why a reminder must not go out, or None when it may.

    `due_unchanged`: the program still carries the due time the reminder was made for. A session
    recorded since moved it, and a reminder for the old time is stale: it is cancelled, never sent.
    `booked_ahead`: the patient already holds a live appointment for this due time (DOMAIN.md
    "Appointments": they get `appointment_upcoming` instead). `appointment_live`: the appointment a
    confirmation or upcoming reminder is about is still booked and has not begun.
    Appointment reminders pass True for `program_active` and `due_unchanged`: a lapsed patient books
    to come back, and an appointment has no due time of the program's to go stale.
    """
    _check_recipient(recipient)
    check.flag(program_active, "program_active")
    check.flag(due_unchanged, "due_unchanged")
    check.flag(booked_ahead, "booked_ahead")
    check.flag(appointment_live, "appointment_live")
    checks = (
        (DELETED, recipient.deleted),
        (DECEASED, recipient.deceased),
        (UNSUBSCRIBED, recipient.unsubscribed),
        (NO_CONSENT, not recipient.consent),
        (NO_EMAIL, not recipient.email),
        (PROGRAM_NOT_ACTIVE, not program_active),
        (DUE_MOVED, not due_unchanged),
        (APPOINTMENT_BOOKED, booked_ahead),
        (APPOINTMENT_NOT_LIVE, not appointment_live),
    )
    return next((reason for reason, applies in checks if applies), None)


# --- SMTP outcomes and retry timing -------------------------------------------------------------------


def smtp_reply_code(error: Exception) -> int | None:
    """The server's reply code behind a send failure; None when no reply came (connection trouble)."""
    check.instance(error, "error", Exception)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return max(codes) if codes else None
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return None


def is_permanent_failure(error: Exception) -> bool:
    """5xx is permanent (RFC 5321 §4.2.1): retrying the same message cannot succeed. 4xx and lost
    connections are temporary."""
    code = smtp_reply_code(error)
    return code is not None and 500 <= code < 600


# Backoff times are seconds from a millisecond to a day: a cap above a day is a unit slip (ms for s), and
# far past the broker's visibility timeout.
BACKOFF_SECONDS = ("0.001", 86_400)
# 2^64 times even a millisecond passes any allowed cap; a larger power only overflows the float.
MAX_DOUBLINGS = 64


def _seconds(value: object, name: str) -> float:
    return float(check.number(value, name, *BACKOFF_SECONDS, from_text=False))


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Exponential backoff after `attempts` tries: base, 2 x base, 4 x base … capped.

    The cap stays far below the broker's visibility timeout, so a retry is never an ETA far ahead.
    A retry follows at least one attempt.
    """
    doublings = min(check.whole_number(attempts, "attempts", 1) - 1, MAX_DOUBLINGS)
    base, cap = _seconds(base_seconds, "base_seconds"), _seconds(cap_seconds, "cap_seconds")
    return timedelta(seconds=min(base * 2**doublings, cap))
