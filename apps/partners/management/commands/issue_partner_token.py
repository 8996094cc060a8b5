from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.audit.events import SYSTEM
from apps.partners.models import Partner, TokenScope
from apps.partners.services import partner_token_issue

MAX_DAYS = 3 * 365


class Command(BaseCommand):
    help = "Issue an API token for a partner system and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="The partner's id or exact name.")
        parser.add_argument("--scope", required=True, help="read or read_write.")
        parser.add_argument("--days", type=int, default=365, help=f"Days until it expires (1-{MAX_DAYS}).")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. 'EHR production'.")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = self._partner(options["partner"])
        if options["scope"] not in TokenScope.values:
            raise CommandError(f"Scope {options['scope']!r} is not one of: {', '.join(TokenScope.values)}.")
        if not 1 <= options["days"] <= MAX_DAYS:
            raise CommandError(f"A token lasts between 1 and {MAX_DAYS} days, not {options['days']}.")
        try:
            token, plaintext = partner_token_issue(
                actor=SYSTEM,
                partner=partner,
                name=options["name"],
                scope=options["scope"],
                expires_at=timezone.now() + timedelta(days=options["days"]),
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stderr.write(
            f"Token {token.name!r} for {partner.name} ({token.scope}, expires {token.expires_at:%Y-%m-%d}). "
            "It is shown only now: store it in the partner's secret store."
        )
        self.stdout.write(plaintext)

    def _partner(self, value: str) -> Partner:
        partners = Partner.objects.select_related("organization")
        matches = list(partners.filter(pk=int(value))) if value.isdigit() else list(partners.filter(name=value))
        if not matches:
            raise CommandError(f"No partner has the id or name {value!r}.")
        if len(matches) > 1:
            orgs = ", ".join(f"{p.pk} ({p.organization})" for p in matches)
            raise CommandError(f"Several partners are named {value!r}; give the id instead: {orgs}.")
        if not matches[0].is_active:
            raise CommandError(f"Partner {value!r} is deactivated; activate it before issuing tokens.")
        return matches[0]
