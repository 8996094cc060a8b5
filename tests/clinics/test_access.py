from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from apps.clinics.access import access_clinic, clinics_for_user, forget_cached_access, visible_clinic_ids
from tests import factories

# Which of the three clinics each cast member may see.
VISIBLE = {
    "clinician_a": {"clinic_a"},
    "physician_a": {"clinic_a"},
    "clinic_admin_a": {"clinic_a"},
    "clinician_b": {"clinic_b"},
    "org_admin": {"clinic_a", "clinic_b"},
    "outsider": {"clinic_c"},
}
CLINICS = ("clinic_a", "clinic_b", "clinic_c")


@pytest.fixture
def clinics(clinic_a, clinic_b, clinic_c):
    return {"clinic_a": clinic_a, "clinic_b": clinic_b, "clinic_c": clinic_c}


@pytest.mark.parametrize(("member", "visible"), VISIBLE.items())
def test_a_staff_member_sees_exactly_their_clinics(request, clinics, member, visible):
    user = request.getfixturevalue(member)

    assert visible_clinic_ids(user) == {clinics[name].pk for name in visible}
    assert set(clinics_for_user(user)) == {clinics[name] for name in visible}


@pytest.mark.parametrize(("member", "visible"), VISIBLE.items())
@pytest.mark.parametrize("clinic", CLINICS)
def test_access_clinic_returns_a_visible_clinic_and_is_404_outside(request, clinics, member, visible, clinic):
    user = request.getfixturevalue(member)

    if clinic in visible:
        assert access_clinic(user, clinics[clinic].pk) == clinics[clinic]
    else:
        with pytest.raises(Http404):
            access_clinic(user, clinics[clinic].pk)


def test_a_superuser_sees_every_clinic(superuser, clinics):
    assert visible_clinic_ids(superuser) is None
    assert set(clinics_for_user(superuser)) == set(clinics.values())
    assert access_clinic(superuser, clinics["clinic_c"].pk) == clinics["clinic_c"]


def test_an_anonymous_user_sees_no_clinic(clinics):
    anonymous = AnonymousUser()

    assert visible_clinic_ids(anonymous) == frozenset()
    assert not clinics_for_user(anonymous).exists()
    with pytest.raises(Http404):
        access_clinic(anonymous, clinics["clinic_a"].pk)


def test_an_inactive_member_sees_no_clinic(clinic_a):
    user = factories.StaffFactory(username="gone", clinic=clinic_a, is_active=False)

    assert visible_clinic_ids(user) == frozenset()
    with pytest.raises(Http404):
        access_clinic(user, clinic_a.pk)


def test_an_inactive_superuser_sees_no_clinic(clinic_a):
    user = factories.UserFactory(username="retired_root", is_superuser=True, is_active=False)

    assert visible_clinic_ids(user) == frozenset()
    with pytest.raises(Http404):
        access_clinic(user, clinic_a.pk)


@pytest.mark.parametrize("clinic_id", ["not-a-number", None, "", 10**12])
def test_access_clinic_is_404_for_a_malformed_or_unknown_id(clinician_a, clinic_id):
    with pytest.raises(Http404):
        access_clinic(clinician_a, clinic_id)


def test_visible_clinic_ids_costs_two_queries_then_none_for_the_same_user_object(
    org_admin, clinic_a, clinic_b, django_assert_num_queries
):
    factories.MembershipFactory(user=org_admin, clinic=clinic_a, role="physician")

    with django_assert_num_queries(2):
        first = visible_clinic_ids(org_admin)
    with django_assert_num_queries(0):
        second = visible_clinic_ids(org_admin)
        clinics_for_user(org_admin)  # builds a query; runs none
    assert first == second == {clinic_a.pk, clinic_b.pk}


def test_the_query_count_does_not_grow_with_the_number_of_memberships(clinic_a, django_assert_num_queries):
    user = factories.UserFactory(username="many_hats")
    for _ in range(5):
        factories.MembershipFactory(user=user, clinic=factories.ClinicFactory(organization=clinic_a.organization))

    with django_assert_num_queries(2):
        assert len(visible_clinic_ids(user)) == 5


def test_a_superuser_costs_no_query(superuser, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert visible_clinic_ids(superuser) is None


def test_the_cache_is_per_user_object_and_can_be_forgotten(clinician_b, clinic_a, clinic_b):
    assert visible_clinic_ids(clinician_b) == {clinic_b.pk}
    factories.MembershipFactory(user=clinician_b, clinic=clinic_a)

    assert visible_clinic_ids(clinician_b) == {clinic_b.pk}  # remembered on this object
    assert visible_clinic_ids(type(clinician_b).objects.get(pk=clinician_b.pk)) == {clinic_a.pk, clinic_b.pk}
    forget_cached_access(clinician_b)
    assert visible_clinic_ids(clinician_b) == {clinic_a.pk, clinic_b.pk}
