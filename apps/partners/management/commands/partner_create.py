from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.audit.events import SYSTEM
from apps.clinics.models import Clinic, Organization
from apps.partners.models import TokenScope
from apps.partners.services import partner_create


class Command(BaseCommand):
    help = (
        "Add a partner system to an organization with the clinics it may use, and (with --scope) issue its "
        "first token, printed once as issue_partner_token does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="The organization's slug or id.")
        parser.add_argument("--name", required=True, help="The partner's name, unique in the organization.")
        parser.add_argument("--contact-email", required=True, help="Who to tell when a token expires.")
        parser.add_argument(
            "--clinic", action="append", default=[], help="A clinic's id or exact name (repeat it), or 'all'."
        )
        parser.add_argument("--scope", help="Also issue a token: read or read_write.")
        parser.add_argument("--days", type=int, default=365, help="The token's days until it expires.")
        parser.add_argument("--token-name", default="first token", help="What the token is for.")

    @transaction.atomic  # a token that cannot be issued leaves no partner behind either
    def handle(self, *args: Any, **options: Any) -> None:
        organization = self._organization(options["organization"])
        clinics = self._clinics(organization, options["clinic"])
        if options["scope"] is not None and options["scope"] not in TokenScope.values:
            raise CommandError(f"Scope {options['scope']!r} is not one of: {', '.join(TokenScope.values)}.")
        try:
            partner = partner_create(
                actor=SYSTEM,
                organization=organization,
                name=options["name"],
                contact_email=options["contact_email"],
                clinics=clinics,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        names = ", ".join(clinic.name for clinic in clinics)
        self.stderr.write(f"Partner {partner.name} (id {partner.pk}) of {organization.name}, granted: {names}.")
        if options["scope"] is not None:
            call_command(
                "issue_partner_token",
                partner=str(partner.pk),
                scope=options["scope"],
                days=options["days"],
                name=options["token_name"],
                stdout=self.stdout,
                stderr=self.stderr,
            )

    def _organization(self, value: str) -> Organization:
        found = Organization.objects.filter(**({"pk": int(value)} if value.isdigit() else {"slug": value})).first()
        if found is None:
            raise CommandError(f"No organization has the slug or id {value!r}.")
        return found

    def _clinics(self, organization: Organization, values: list[str]) -> list[Clinic]:
        own = Clinic.objects.filter(organization=organization).order_by("pk")
        if not values:
            raise CommandError("Name the clinics the partner may use: --clinic ID or NAME (repeat it), or 'all'.")
        if values == ["all"]:
            return list(own)
        clinics = []
        for value in values:
            matches = list(own.filter(pk=int(value)) if value.isdigit() else own.filter(name=value))
            if not matches:
                raise CommandError(f"{organization.name} has no clinic with the id or name {value!r}.")
            if len(matches) > 1:
                raise CommandError(f"Several clinics are named {value!r}; give the id instead.")
            clinics.append(matches[0])
        return clinics
