"""`manage.py partner_create`: a partner of an organization with its clinics, and its first token."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import Event
from apps.partners.models import Partner, PartnerToken
from apps.partners.tokens import token_hash

pytestmark = pytest.mark.django_db


def create(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("partner_create", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_a_partner_with_two_clinics_and_a_token_printed_once(organization, clinic_a, clinic_b):
    out, err = create(
        "--organization", "acme", "--name", "EHR North", "--contact-email", "it@north.test",
        "--clinic", "Clinic A", "--clinic", str(clinic_b.pk), "--scope", "read_write", "--days", "90",
    )  # fmt: skip

    partner = Partner.objects.get(name="EHR North")
    assert (partner.organization, partner.contact_email) == (organization, "it@north.test")
    assert set(partner.clinics.all()) == {clinic_a, clinic_b}
    assert f"Partner EHR North (id {partner.pk}) of Acme Spine, granted: Clinic A, Clinic B." in err
    plaintext = out.strip()
    token = PartnerToken.objects.get(partner=partner)
    assert (token.scope, token.secret_hash) == ("read_write", token_hash(plaintext))
    assert Event.objects.filter(action="create", object_type="partners.partner", object_id=str(partner.pk)).exists()


def test_all_clinics_and_no_token_without_a_scope(organization, clinic_a, clinic_b, clinic_c):
    out, _ = create("--organization", str(organization.pk), "--name", "Registry", "--contact-email", "r@x.test",
                    "--clinic", "all")  # fmt: skip

    assert out == ""
    partner = Partner.objects.get(name="Registry")
    assert set(partner.clinics.all()) == {clinic_a, clinic_b}  # not the other organization's clinic C
    assert not PartnerToken.objects.exists()


BASE = {"--organization": "acme", "--name": "EHR", "--contact-email": "it@ehr.test", "--clinic": "all"}


@pytest.mark.parametrize(
    ("changed", "sentence"),
    [
        ({"--organization": "nope"}, "No organization has the slug or id 'nope'."),
        ({"--clinic": None}, "Name the clinics the partner may use"),
        ({"--clinic": "Clinic C"}, "Acme Spine has no clinic with the id or name 'Clinic C'."),
        ({"--scope": "admin"}, "Scope 'admin' is not one of: read, read_write."),
        ({"--contact-email": "not-an-address"}, "Enter a valid email address."),
        ({"--scope": "read", "--days": "0"}, "A token lasts between 1 and"),
    ],
    ids=["organization", "no clinic", "foreign clinic", "scope", "email", "token days"],
)
def test_bad_arguments_are_a_sentence_and_create_nothing(organization, clinic_a, clinic_c, changed, sentence):
    options = {**BASE, **changed}
    argv = [item for key, value in options.items() if value is not None for item in (key, value)]

    with pytest.raises(CommandError, match=re.escape(sentence)):
        create(*argv)

    assert not Partner.objects.exists()
    assert not PartnerToken.objects.exists()


def test_a_name_already_taken_in_the_organization_is_refused(organization, clinic_a):
    create("--organization", "acme", "--name", "EHR", "--contact-email", "a@x.test", "--clinic", "all")

    with pytest.raises(CommandError, match="already exists"):
        create("--organization", "acme", "--name", "EHR", "--contact-email", "b@x.test", "--clinic", "all")
    assert Partner.objects.count() == 1
