"""Partner systems and tokens for API tests: import the fixtures a test module needs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.events import SYSTEM
from apps.partners.models import Partner
from apps.partners.services import partner_token_issue


@pytest.fixture
def partner_a(organization, clinic_a):
    """An EHR of acme granted clinic A only."""
    partner = Partner.objects.create(organization=organization, name="EHR A", contact_email="it@ehr-a.test")
    partner.clinics.set([clinic_a])
    return partner


@pytest.fixture
def partner_c(other_organization, clinic_c):
    partner = Partner.objects.create(organization=other_organization, name="EHR C", contact_email="it@ehr-c.test")
    partner.clinics.set([clinic_c])
    return partner


@pytest.fixture
def issue_token(db):
    """`issue_token(partner, scope)`: the plaintext of a new token."""

    def issue(partner, scope="read_write", days=30, name="test"):
        _token, plaintext = partner_token_issue(
            actor=SYSTEM, partner=partner, name=name, scope=scope, expires_at=timezone.now() + timedelta(days=days)
        )
        return plaintext

    return issue


@pytest.fixture
def writer_a(partner_a, issue_token):
    return issue_token(partner_a, "read_write", name="writer")


@pytest.fixture
def reader_a(partner_a, issue_token):
    return issue_token(partner_a, "read", name="reader")


@pytest.fixture
def writer_c(partner_c, issue_token):
    return issue_token(partner_c, "read_write", name="writer")


@pytest.fixture
def api(client):
    """`api(method, url, token=None, body=None, **headers)`: a JSON request through the test client."""

    def call(method, url, token=None, body=None, **headers):
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs = {"headers": headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method.lower())(url, **kwargs)

    return call
