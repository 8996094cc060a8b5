"""`manage.py outcomes_rebuild [--program ID ...]`: every program's outcome facts computed again from its
records (sessions, tests, questionnaires, status), a batch of programs per transaction.

The facts are kept current as records are written; this is for a first fill, after a change of the
definitions, or to check the incremental path (it must change nothing when that path is right).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.audit.context import origin
from apps.outcomes import facts
from apps.programs.models import Program


class Command(BaseCommand):
    help = "Rebuild the outcome facts of every program (or of the programs named) from their records."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--program", action="append", default=None, help="a program's id (repeatable)")

    def handle(self, *args: Any, program: list[str] | None, **options: Any) -> None:
        with scopes_disabled(), origin(request_id=uuid.uuid4().hex, ip_address=None, channel="command"):
            if program is not None:
                try:
                    found = set(Program._base_manager.filter(pk__in=program).values_list("pk", flat=True))
                except ValidationError:
                    raise CommandError("A program id is not a valid UUID.") from None
                missing = sorted(set(program) - {str(pk) for pk in found})
                if missing:
                    raise CommandError(f"No program with id {', '.join(missing)}.")
            done = facts.facts_rebuild(now=timezone.now(), program_ids=program)
        self.stdout.write(f"Rebuilt the outcome facts of {done} programs.")
