"""`manage.py seed_demo`: the demo organization, its clinics, staff, patients and their history. Safe to re-run."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from apps.demo import appointments, history, seeding
from apps.demo.seeding import Login

MIN_PASSWORD_LENGTH = 12
# Roles that must enrol a second factor (apps.clinics.access.must_use_second_factor), by their label.
ADMIN_ROLES = frozenset({"Clinic admin", "Organization admin"})


class Command(BaseCommand):
    help = (
        "Create the demo organization (clinics, machines, staff, patients, red-flag screens) where missing, "
        "and a clinical history (tests, questionnaires, program, sessions) for each patient who has none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=seeding.DEFAULT_PASSWORD,
            help="Password of the demo users, set only when a user is created (default: %(default)s).",
        )

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        check_password(password)
        with scopes_disabled(), transaction.atomic():
            before = all_counts()
            organization = seeding.seed_organization()
            clinics = seeding.seed_clinics(organization)
            seeding.seed_machines(clinics)
            logins = seeding.seed_staff(organization, clinics, password)
            patients = seeding.seed_patients(organization, clinics)
            seeding.seed_screens(patients, seeding.screeners())
            partner = seeding.seed_partner(organization, clinics)
            # Anchored at this moment, so the board shows who is due, overdue and lapsed today.
            history.seed_history(patients, clinics, timezone.now())
            appointments.seed_appointments(clinics, timezone.now())
            after = all_counts()
            awaiting = seeding.screens_awaiting_review()
            summary = history.history_summary()
        self.stdout.write(
            f"{organization.name} ({organization.slug}): {describe(after)}; {awaiting} awaiting physician review."
        )
        self.stdout.write(f"History: {summary}.")
        created = {kind: after[kind] - before[kind] for kind in after}
        self.stdout.write(f"Created this run: {describe(created)}.")
        self.stdout.write("")
        self.stdout.write(logins_table(logins))
        self.stdout.write("")
        self.stdout.write(
            f"Partner API: {partner.name} is granted La Jolla only. Issue it a token (shown once) with\n"
            f'  python manage.py issue_partner_token --partner "{partner.name}" --scope read_write '
            "--days 30 --name demo"
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(f"The --password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    try:
        validate_password(password)
    except ValidationError as error:
        raise CommandError(f"The --password was refused: {' '.join(error.messages)}") from None


def all_counts() -> dict[str, int]:
    return seeding.demo_counts() | history.history_counts() | appointments.appointment_counts()


def describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def logins_table(logins: list[Login]) -> str:
    header = ("username", "role", "clinic", "password")
    rows = [header] + [(x.username, x.role, x.clinic, x.password or "(unchanged)") for x in logins]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    if any(not login.password for login in logins):
        lines.append("Passwords are set only when a user is created; (unchanged) marks a user who already existed.")
    admins = [login.username for login in logins if login.role in ADMIN_ROLES]
    if admins:
        lines.append(
            f"{' and '.join(admins)} must use two-factor authentication: at their first sign-in they scan a QR code "
            "with an authenticator app (any TOTP app) and type its code; recovery codes are shown then."
        )
    return "\n".join(lines)
