from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from apps.audit import chain
from apps.audit.models import Event

ANCHOR = re.compile(r"^(?P<seq>[1-9][0-9]*):(?P<hash>[0-9a-f]{64})$")


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain: recompute every event's hash in order and name the first "
        "event that was edited, deleted or inserted behind the database's triggers. Exits 1 if any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=chain.CHUNK_SIZE, help="Events read per query.")
        parser.add_argument(
            "--anchor",
            metavar="SEQ:HASH",
            help=(
                "A head printed by an earlier run and kept outside the database: the event at SEQ must "
                "still carry HASH. Without one, a chain rewritten from some point to its end, or cut "
                "short at the end, verifies."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "Tamper evidence needs PostgreSQL: this database has no audit hash chain to verify "
                f"({connection.vendor} is the embedded demo database)."
            )
        anchor = self._anchor(options["anchor"])
        result = chain.verify(chunk_size=max(1, options["chunk_size"]))
        if not result.intact:
            raise CommandError(self._failure(result))
        if anchor is not None:
            self._check_anchor(*anchor)
        self.stdout.write(
            f"{result.events} events, chain intact (head: seq {result.head_seq}, hash {result.head_hash})."
        )

    def _anchor(self, value: str | None) -> tuple[int, str] | None:
        if value is None:
            return None
        match = ANCHOR.match(value)
        if match is None:
            raise CommandError(f"--anchor {value!r} is not SEQ:HASH (a positive number, a colon, 64 hex digits).")
        return int(match["seq"]), match["hash"]

    def _check_anchor(self, seq: int, expected: str) -> None:
        stored = Event.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if stored != expected:
            found = "is gone" if stored is None else f"now carries {stored}"
            raise CommandError(f"The anchored event seq {seq} {found}: the chain was rewritten or cut short.")

    def _failure(self, result: chain.Verification) -> str:
        first, *others = result.breaks
        lines = [f"Audit chain broken at {first}."]
        lines += [f"  also {problem}" for problem in others]
        if result.break_count > len(result.breaks):
            lines.append(f"  ... {result.break_count - len(result.breaks)} more.")
        lines.append(f"{result.break_count} broken of {result.events} events in the chain.")
        return "\n".join(lines)
