"""The calendar settings in the admin: the clinic admin edits them, others read or get 404, all audited."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import Event
from apps.scheduling.models import ClinicCalendar, Closure, OpeningHours
from apps.scheduling.selectors import calendar_for
from apps.scheduling.slots import OpeningRange
from tests import factories

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:scheduling_cliniccalendar_changelist"


def change_url(calendar: ClinicCalendar, view: str = "change") -> str:
    return reverse(f"admin:scheduling_cliniccalendar_{view}", args=[calendar.pk])


@pytest.fixture
def calendar_a(clinic_a):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    factories.OpeningHoursFactory(calendar=calendar, weekday=0, opens_at=time(8), closes_at=time(12))
    return calendar


@pytest.fixture
def front_desk_a(clinic_a):
    return factories.StaffFactory(username="front_desk_a", clinic=clinic_a, role="front_desk")


def shown_form(response: Any) -> dict[str, Any]:
    """The change page's form and inline forms as a browser would post them back unchanged."""
    data: dict[str, Any] = {"_save": "Save"}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        forms.extend(inline.formset.initial_forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:  # weekday 0 is Monday, not a blank
                data[form.add_prefix(name)] = value
    return data


def add_range(data: dict[str, Any], weekday: int, opens: str, closes: str) -> dict[str, Any]:
    index = int(data["opening_hours-TOTAL_FORMS"]) - 1  # the blank extra form
    return {
        **data,
        f"opening_hours-{index}-weekday": weekday,
        f"opening_hours-{index}-opens_at": opens,
        f"opening_hours-{index}-closes_at": closes,
    }


def test_a_clinic_admin_sets_up_the_calendar_on_the_defaults(signed_in, clinic_a, clinic_admin_a):
    client = signed_in(clinic_admin_a)
    form = {
        "clinic": clinic_a.pk,
        "slot_minutes": 45,
        "booking_horizon_days": 21,
        "late_cancel_hours": 12,
        "no_show_grace_minutes": 10,
        "supervisor_capacity": 3,
    }

    response = client.post(reverse("admin:scheduling_cliniccalendar_add"), form)

    calendar = ClinicCalendar.objects.get(clinic=clinic_a)
    assert response.status_code == 302
    assert response["Location"] == change_url(calendar)
    assert calendar_for(clinic_a).opening == tuple(OpeningRange(d, time(8), time(18)) for d in range(5))
    assert (calendar.slot_minutes, calendar.supervisor_capacity) == (45, 3)
    assert Event.objects.filter(object_type="scheduling.cliniccalendar", action="create", clinic=clinic_a).count() == 1


def test_the_add_page_offers_only_administered_clinics_without_a_calendar(signed_in, clinic_a, clinic_b, org_admin):
    factories.ClinicCalendarFactory(clinic=clinic_a)
    client = signed_in(org_admin)
    response = client.get(reverse("admin:scheduling_cliniccalendar_add"))
    offered = set(response.context["adminform"].form.fields["clinic"].queryset)
    assert offered == {clinic_b}
    refused = client.post(reverse("admin:scheduling_cliniccalendar_add"), {"clinic": clinic_a.pk, "slot_minutes": 30})
    assert refused.status_code == 200
    assert "clinic" in refused.context["adminform"].form.errors
    assert ClinicCalendar.objects.count() == 1


def test_a_setting_out_of_range_is_a_field_error(signed_in, clinic_admin_a, calendar_a):
    client = signed_in(clinic_admin_a)
    data = {**shown_form(client.get(change_url(calendar_a))), "supervisor_capacity": 11}
    response = client.post(change_url(calendar_a), data)
    assert response.status_code == 200
    assert "supervisor_capacity" in response.context["adminform"].form.errors
    calendar_a.refresh_from_db()
    assert calendar_a.supervisor_capacity == 2


def test_a_clinic_admin_changes_hours_closures_and_numbers_audited(signed_in, clinic_a, clinic_admin_a, calendar_a):
    client = signed_in(clinic_admin_a)
    data = add_range(shown_form(client.get(change_url(calendar_a))), 0, "13:00", "18:00")
    data.update({"slot_minutes": 60, "closures-0-date": "2030-12-25", "closures-0-reason": "Christmas"})

    response = client.post(change_url(calendar_a), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    found = calendar_for(clinic_a)
    assert found.opening == (OpeningRange(0, time(8), time(12)), OpeningRange(0, time(13), time(18)))
    assert found.closures == {date(2030, 12, 25)}
    assert found.slot_minutes == 60
    audited = set(Event.objects.filter(clinic=clinic_a, actor=clinic_admin_a).values_list("object_type", "action"))
    assert audited == {
        ("scheduling.cliniccalendar", "update"),
        ("scheduling.openinghours", "create"),
        ("scheduling.closure", "create"),
    }


def test_deleting_a_range_in_the_admin_is_audited(signed_in, clinic_admin_a, calendar_a):
    client = signed_in(clinic_admin_a)
    data = {**shown_form(client.get(change_url(calendar_a))), "opening_hours-0-DELETE": "on"}
    assert client.post(change_url(calendar_a), data).status_code == 302
    assert not OpeningHours.objects.exists()
    assert Event.objects.filter(object_type="scheduling.openinghours", action="delete").count() == 1


def test_overlapping_ranges_of_a_weekday_are_a_form_error(signed_in, clinic_admin_a, calendar_a):
    client = signed_in(clinic_admin_a)
    data = add_range(shown_form(client.get(change_url(calendar_a))), 0, "11:00", "14:00")
    data["slot_minutes"] = 60

    response = client.post(change_url(calendar_a), data)

    assert response.status_code == 200
    assert "Monday: 08:00-12:00 overlaps 11:00-14:00." in response.content.decode()
    assert OpeningHours.objects.count() == 1
    calendar_a.refresh_from_db()
    assert calendar_a.slot_minutes == 30
    assert not Event.objects.filter(object_type__startswith="scheduling.").exists()


def test_the_front_desk_reads_the_calendar_but_cannot_change_it(signed_in, front_desk_a, calendar_a):
    client = signed_in(front_desk_a)
    page = client.get(change_url(calendar_a))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]

    refused = client.post(change_url(calendar_a), {"slot_minutes": 60})

    assert refused.status_code == 403
    calendar_a.refresh_from_db()
    assert calendar_a.slot_minutes == 30
    assert client.get(reverse("admin:scheduling_cliniccalendar_add")).status_code == 403
    assert client.post(change_url(calendar_a, "delete"), {"post": "yes"}).status_code == 403
    assert ClinicCalendar.objects.exists()


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_another_clinics_calendar_is_404(signed_in, clinician_b, outsider, calendar_a, view):
    for user in (clinician_b, outsider):
        client = signed_in(user)
        assert client.get(change_url(calendar_a, view)).status_code == 404
        assert client.post(change_url(calendar_a, view), {"slot_minutes": 60, "post": "yes"}).status_code == 404
    calendar_a.refresh_from_db()
    assert calendar_a.slot_minutes == 30


def test_the_list_shows_only_the_users_clinics(signed_in, clinician_b, calendar_a, clinic_b):
    theirs = factories.ClinicCalendarFactory(clinic=clinic_b)
    response = signed_in(clinician_b).get(reverse(CHANGELIST))
    assert list(response.context["cl"].result_list) == [theirs]


def test_a_clinic_admin_deletes_the_calendar_back_to_the_defaults(signed_in, clinic_a, clinic_admin_a, calendar_a):
    Closure.objects.create(calendar=calendar_a, date=date(2030, 1, 1))
    response = signed_in(clinic_admin_a).post(change_url(calendar_a, "delete"), {"post": "yes"})
    assert response.status_code == 302
    assert not ClinicCalendar.objects.exists()
    assert calendar_for(clinic_a).closures == frozenset()
    deleted = Event.objects.filter(action="delete", object_type__startswith="scheduling.")
    assert sorted(deleted.values_list("object_type", flat=True)) == [
        "scheduling.cliniccalendar",
        "scheduling.closure",
        "scheduling.openinghours",
    ]


def test_the_list_costs_the_same_queries_for_one_calendar_or_many(signed_in, superuser, organization):
    client = signed_in(superuser)
    factories.ClinicCalendarFactory(clinic=factories.ClinicFactory(organization=organization))
    client.get(reverse(CHANGELIST))  # warm: the session, content types
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    for _ in range(5):
        calendar = factories.ClinicCalendarFactory(clinic=factories.ClinicFactory(organization=organization))
        factories.OpeningHoursFactory(calendar=calendar)
    with CaptureQueriesContext(connection) as six:
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 6
    assert len(six) == len(one)
