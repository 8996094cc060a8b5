"""The audit hash chain: each event's hash covers the previous event's hash and its own fields.

PostgreSQL computes it (migration 0002, trigger `audit_event_chain`); this module recomputes it to
verify. The two must serialise an event identically, so the format is deliberately dull:

    hash = sha256_hex(prev_hash "|" field "|" field ...)   over UTF-8 bytes
    field = "-" for NULL, else "<length in UTF-8 bytes>:<text>"

The length prefix makes the encoding unambiguous whatever the text holds ("|" included). Texts are
what PostgreSQL's output functions print, which is what Django reads back: integers in decimal,
UUIDs lower-case with hyphens, addresses as `inet` prints them; times are UTC with microseconds
(`2026-01-31T09:05:00.000123Z`), so the session time zone cannot change a hash. The first event
chains to GENESIS. A test holds the trigger and `digest` to the same answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q

from apps.audit.models import Event

GENESIS = "0" * 64
# In this order; the trigger's `audit_event_digest` lists the same columns.
FIELDS = (
    "seq",
    "id",
    "occurred_at",
    "action",
    "actor_id",
    "actor_label",
    "organization_id",
    "clinic_id",
    "patient_id",
    "object_type",
    "object_id",
    "channel",
    "request_id",
    "ip_address",
)
CHUNK_SIZE = 5_000  # events per query while walking: memory stays flat whatever the table holds


def field_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return str(value)


def canonical(prev_hash: str, values: Sequence[Any]) -> bytes:
    parts = [prev_hash]
    for value in values:
        text = field_text(value)
        parts.append("-" if text is None else f"{len(text.encode())}:{text}")
    return "|".join(parts).encode()


def digest(prev_hash: str, values: Sequence[Any]) -> str:
    return hashlib.sha256(canonical(prev_hash, values)).hexdigest()


# --- Verification ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    event_id: int
    occurred_at: datetime
    seq: int | None
    reason: str

    def __str__(self) -> str:
        position = "no place in the chain" if self.seq is None else f"seq {self.seq}"
        return f"event {self.event_id} ({self.occurred_at:%Y-%m-%d %H:%M:%S.%f} UTC, {position}): {self.reason}"


@dataclass(frozen=True)
class Verification:
    events: int  # events walked in the chain
    head_seq: int
    head_hash: str
    breaks: list[Break]  # in chain order; events outside the chain last
    break_count: int

    @property
    def intact(self) -> bool:
        return self.break_count == 0


MAX_LISTED = 20  # a tampered table can break at every row: name the first few, count the rest


def verify(chunk_size: int = CHUNK_SIZE) -> Verification:
    """Walk the chain in order, recomputing every hash; then look for rows outside it."""
    breaks: list[Break] = []
    count = broken = 0
    prev_hash, expected_seq = GENESIS, 1
    for row in _chain_rows(chunk_size):
        values, stored = row[:-1], row[-1]
        problem = _problem(values, stored, prev_hash, expected_seq)
        if problem is not None:
            broken += 1
            if len(breaks) < MAX_LISTED:
                breaks.append(Break(event_id=values[1], occurred_at=values[2], seq=values[0], reason=problem))
        count += 1
        prev_hash, expected_seq = stored, values[0] + 1
    outside = Event.objects.filter(Q(seq__isnull=True) | Q(seq__lt=1)).order_by("id")
    for event_id, occurred_at in outside.values_list("id", "occurred_at")[:MAX_LISTED]:
        breaks.append(Break(event_id, occurred_at, None, "it is not in the chain (inserted behind the trigger)"))
    broken += outside.count()
    return Verification(count, expected_seq - 1, prev_hash, breaks, broken)


def _problem(values: Sequence[Any], stored: str, prev_hash: str, expected_seq: int) -> str | None:
    seq = values[0]
    if seq > expected_seq:
        missing = str(expected_seq) if seq == expected_seq + 1 else f"{expected_seq} to {seq - 1}"
        return f"the events before it (seq {missing}) are missing: deleted"
    if digest(prev_hash, values) != stored:
        return (
            "its hash does not match its fields and the hash before it: edited (this event, or the hash of "
            "the one before) or inserted behind the trigger"
        )
    return None


def _chain_rows(chunk_size: int) -> Iterator[tuple[Any, ...]]:
    # Keyset pages over the unique seq index: no OFFSET, no server-side cursor, no table in memory.
    last = None
    while True:
        page = Event.objects.order_by("seq").filter(seq__gt=0 if last is None else last)
        rows = list(page.values_list(*FIELDS, "hash")[:chunk_size])
        yield from rows
        if len(rows) < chunk_size:
            return
        last = rows[-1][0]
