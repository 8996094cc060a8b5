from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from apps.audit.events import SYSTEM, events_for
from apps.partners.models import PartnerToken
from apps.partners.services import partner_token_issue, partner_token_revoke

pytestmark = pytest.mark.django_db


def _issue(actor, partner, scope="read"):
    return partner_token_issue(
        actor=actor, partner=partner, name="EHR prod", scope=scope, expires_at=timezone.now() + timedelta(days=10)
    )


def test_it_returns_the_plaintext_once_and_stores_only_its_sha256(partner_a):
    token, plaintext = _issue(SYSTEM, partner_a)
    prefix, secret = plaintext.removeprefix("sz_").split("_", 1)
    assert prefix == token.prefix
    assert len(prefix) == 8
    assert len(secret) >= 43
    assert token.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert len(events_for(token)) == 1


def test_a_database_dump_of_the_row_holds_neither_the_token_nor_its_secret(partner_a):
    token, plaintext = _issue(SYSTEM, partner_a)
    secret = plaintext.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM partners_partnertoken WHERE id = %s", [token.pk])
        dumped = " ".join(str(value) for value in cursor.fetchone())
    assert plaintext not in dumped
    assert secret not in dumped


def test_only_an_admin_of_the_partners_organization_may_issue(partner_a, org_admin, clinic_admin_a, outsider):
    assert _issue(org_admin, partner_a)[0].created_by == org_admin
    for refused in (clinic_admin_a, outsider):
        with pytest.raises(PermissionDenied):
            _issue(refused, partner_a)


def test_revoking_stamps_the_time_once(partner_a, org_admin):
    token, _ = _issue(org_admin, partner_a)
    partner_token_revoke(actor=org_admin, token=token)
    first = token.revoked_at
    partner_token_revoke(actor=org_admin, token=token)
    assert first is not None
    assert PartnerToken.objects.get(pk=token.pk).revoked_at == first


def test_the_command_prints_the_token_once_and_stores_its_hash(partner_a):
    out = StringIO()
    call_command(
        "issue_partner_token", partner="EHR A", scope="read_write", days=7, name="sync", stdout=out, stderr=StringIO()
    )
    plaintext = out.getvalue().strip()
    token = PartnerToken.objects.get(partner=partner_a)
    assert plaintext.startswith(f"sz_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.scope == "read_write"
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_the_command_finds_a_partner_by_id(partner_a):
    out = StringIO()
    call_command(
        "issue_partner_token", partner=str(partner_a.pk), scope="read", name="x", stdout=out, stderr=StringIO()
    )
    assert out.getvalue().startswith("sz_")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"partner": "Nobody", "scope": "read"}, "No partner has the id or name 'Nobody'"),
        ({"partner": "EHR A", "scope": "admin"}, "Scope 'admin' is not one of: read, read_write."),
        ({"partner": "EHR A", "scope": "read", "days": 0}, "between 1 and 1095 days"),
        ({"partner": "EHR A", "scope": "read", "days": 5000}, "between 1 and 1095 days"),
    ],
)
def test_the_command_refuses_bad_input_with_a_sentence(partner_a, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("issue_partner_token", name="x", stdout=StringIO(), stderr=StringIO(), **options)
    assert not PartnerToken.objects.exists()


def test_the_command_refuses_a_deactivated_partner(partner_a):
    partner_a.is_active = False
    partner_a.save()
    with pytest.raises(CommandError, match="deactivated"):
        call_command("issue_partner_token", partner="EHR A", scope="read", name="x", stdout=StringIO())
