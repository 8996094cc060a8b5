"""The clinic picker: only the user's clinics, remembered in the session, 404 for any other."""

from __future__ import annotations

import pytest

from apps.web.pages import SESSION_CLINIC
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_clinic_therapist(clinic_a, clinic_b):
    user = factories.StaffFactory(username="two_clinics", clinic=clinic_a, role="physical_therapist")
    factories.MembershipFactory(user=user, clinic=clinic_b, role="physical_therapist")
    return user


def test_a_user_of_one_clinic_works_there_without_picking(signed_in, clinician_a, clinic_a):
    client = signed_in(clinician_a)
    assert client.get("/board/").status_code == 200
    assert client.session[SESSION_CLINIC] == clinic_a.pk


def test_a_user_of_several_clinics_picks_one_first(signed_in, two_clinic_therapist):
    response = signed_in(two_clinic_therapist).get("/board/")
    assert response.status_code == 302
    assert response["Location"] == "/clinics/?next=%2Fboard%2F"


def test_the_picker_lists_the_users_clinics_only(signed_in, two_clinic_therapist, clinic_c):
    response = signed_in(two_clinic_therapist).get("/clinics/")
    assert [clinic.name for clinic in response.context["clinics"]] == ["Clinic A", "Clinic B"]
    assert b"Clinic C" not in response.content


def test_the_picked_clinic_is_remembered_for_the_session(signed_in, two_clinic_therapist, clinic_b):
    client = signed_in(two_clinic_therapist)
    response = client.post("/clinics/", {"clinic": clinic_b.pk, "next": "/patients/"})
    assert response["Location"] == "/patients/"
    assert client.session[SESSION_CLINIC] == clinic_b.pk
    assert b"Today at Clinic B" in client.get("/board/").content


@pytest.mark.parametrize("other", ["clinic_b", "clinic_c"])
def test_picking_a_clinic_outside_the_users_is_404(signed_in, clinician_a, request, other):
    clinic = request.getfixturevalue(other)
    client = signed_in(clinician_a)
    assert client.post("/clinics/", {"clinic": clinic.pk}).status_code == 404
    assert SESSION_CLINIC not in client.session


@pytest.mark.parametrize("value", ["", "abc", "99999999"])
def test_picking_nonsense_is_404(signed_in, clinician_a, value):
    assert signed_in(clinician_a).post("/clinics/", {"clinic": value}).status_code == 404


def test_an_offsite_next_is_ignored(signed_in, clinician_a, clinic_a):
    response = signed_in(clinician_a).post("/clinics/", {"clinic": clinic_a.pk, "next": "https://evil.test/"})
    assert response["Location"] == "/board/"


def test_a_clinic_the_user_left_is_forgotten(signed_in, two_clinic_therapist, clinic_b):
    client = signed_in(two_clinic_therapist)
    client.post("/clinics/", {"clinic": clinic_b.pk})
    two_clinic_therapist.memberships.filter(clinic=clinic_b).delete()
    response = client.get("/board/")
    assert response.status_code == 200
    assert b"Today at Clinic A" in response.content


def test_a_user_without_clinics_is_told_so(signed_in, db):
    loner = factories.UserFactory(username="loner")
    response = signed_in(loner).get("/board/", follow=True)
    assert b"not a member of any clinic" in response.content
