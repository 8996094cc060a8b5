from __future__ import annotations

import hashlib
import re

import pytest

from apps.partners.models import Partner, PartnerToken

pytestmark = pytest.mark.django_db
ADD = "/admin/partners/partnertoken/add/"


def _issue_through_admin(client, partner):
    return client.post(ADD, {"partner": partner.pk, "name": "EHR prod", "scope": "read", "days": 30}, follow=True)


def test_an_org_admin_issues_a_token_and_sees_the_plaintext_once(signed_in, org_admin, partner_a):
    client = signed_in(org_admin)
    response = _issue_through_admin(client, partner_a)
    token = PartnerToken.objects.get(partner=partner_a)
    plaintext = re.search(r"sz_[0-9a-f]{8}_[A-Za-z0-9_-]{43,}", response.content.decode())[0]
    assert hashlib.sha256(plaintext.encode()).hexdigest() == token.secret_hash
    change_page = client.get(f"/admin/partners/partnertoken/{token.pk}/change/").content.decode()
    assert token.secret_hash not in change_page
    assert plaintext not in change_page
    assert plaintext not in client.get("/admin/partners/partnertoken/").content.decode()


def test_the_token_admin_is_scoped_to_the_administered_organization(signed_in, outsider, partner_a, partner_c):
    from apps.clinics.models import OrganizationAdmin

    OrganizationAdmin.objects.create(user=outsider, organization=partner_c.organization)
    client = signed_in(outsider)
    assert client.get(f"/admin/partners/partner/{partner_a.pk}/change/").status_code == 404
    assert _issue_through_admin(client, partner_a).status_code == 200
    assert not PartnerToken.objects.filter(partner=partner_a).exists()


def test_a_clinic_admin_cannot_manage_partners(signed_in, clinic_admin_a, partner_a):
    client = signed_in(clinic_admin_a)
    assert client.get(ADD).status_code == 403


def test_a_partner_cannot_be_granted_another_organizations_clinic(
    signed_in, superuser, organization, clinic_a, clinic_c
):
    response = signed_in(superuser).post(
        "/admin/partners/partner/add/",
        {
            "organization": organization.pk,
            "name": "Billing",
            "contact_email": "b@x.test",
            "clinics": [clinic_a.pk, clinic_c.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Not clinics of Acme Spine: Clinic C." in response.content.decode()
    assert not Partner.objects.filter(name="Billing").exists()


def test_revoking_through_the_admin_action(signed_in, org_admin, partner_a, writer_a):
    token = PartnerToken.objects.get(partner=partner_a)
    signed_in(org_admin).post(
        "/admin/partners/partnertoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
