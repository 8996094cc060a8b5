"""Clinic calendar settings: the defaults, the database's refusals, the overlap rule and the services."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone

from apps.audit.models import Event
from apps.scheduling import services
from apps.scheduling.models import ClinicCalendar, Closure, OpeningHours, overlap_problems
from apps.scheduling.selectors import BookingRules, booking_rules_for, calendar_for
from apps.scheduling.slots import Calendar, OpeningRange, check_calendar
from tests import factories

pytestmark = pytest.mark.django_db
MON_TO_FRI = tuple(OpeningRange(day, time(8), time(18)) for day in range(5))


# --- the selector ---------------------------------------------------------------------------------


def test_a_clinic_without_settings_books_on_the_defaults(clinic_a):
    assert calendar_for(clinic_a) == Calendar(
        tz=ZoneInfo("America/Los_Angeles"),
        opening=MON_TO_FRI,
        closures=frozenset(),
        slot_minutes=30,
        horizon_days=28,
        supervisor_capacity=2,
    )
    assert booking_rules_for(clinic_a) == BookingRules(
        late_cancel=timedelta(hours=24), no_show_grace=timedelta(minutes=15)
    )


def test_a_clinic_with_settings_books_on_its_own(clinic_b):
    calendar = factories.ClinicCalendarFactory(
        clinic=clinic_b,
        slot_minutes=45,
        booking_horizon_days=14,
        late_cancel_hours=48,
        no_show_grace_minutes=10,
        supervisor_capacity=3,
    )
    factories.OpeningHoursFactory(calendar=calendar, weekday=5, opens_at=time(9), closes_at=time(12))
    factories.OpeningHoursFactory(calendar=calendar, weekday=1, opens_at=time(14), closes_at=time(19))
    factories.OpeningHoursFactory(calendar=calendar, weekday=1, opens_at=time(7), closes_at=time(12))
    factories.ClosureFactory(calendar=calendar, date=date(2030, 12, 25))
    factories.ClosureFactory(calendar=calendar, date=date(2029, 12, 25))

    found = calendar_for(clinic_b)

    assert found == Calendar(
        tz=ZoneInfo("America/New_York"),
        opening=(
            OpeningRange(1, time(7), time(12)),
            OpeningRange(1, time(14), time(19)),
            OpeningRange(5, time(9), time(12)),
        ),
        closures=frozenset({date(2030, 12, 25), date(2029, 12, 25)}),
        slot_minutes=45,
        horizon_days=14,
        supervisor_capacity=3,
    )
    assert calendar_for(clinic_b, closures_from=date(2030, 1, 1)).closures == frozenset({date(2030, 12, 25)})
    assert booking_rules_for(clinic_b) == BookingRules(
        late_cancel=timedelta(hours=48), no_show_grace=timedelta(minutes=10)
    )


def test_a_calendar_with_no_hours_is_closed_every_day(clinic_a):
    factories.ClinicCalendarFactory(clinic=clinic_a)
    assert calendar_for(clinic_a).opening == ()


def test_the_slot_finder_accepts_what_the_selector_gives(clinic_a, clinic_b):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_b, slot_minutes=120, booking_horizon_days=180)
    factories.OpeningHoursFactory(calendar=calendar, weekday=6, opens_at=time(0), closes_at=time(23, 59))
    factories.ClosureFactory(calendar=calendar)
    for clinic in (clinic_a, clinic_b):
        assert check_calendar(calendar_for(clinic)) == calendar_for(clinic)


def test_the_selector_reads_a_calendar_in_three_queries(clinic_a, django_assert_num_queries):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    for day in range(7):
        factories.OpeningHoursFactory(calendar=calendar, weekday=day)
        factories.ClosureFactory(calendar=calendar)
    with django_assert_num_queries(3):
        calendar_for(clinic_a)


# --- the database's refusals ----------------------------------------------------------------------


def test_a_raw_insert_gets_the_domain_defaults(clinic_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scheduling_cliniccalendar (clinic_id, updated_at) VALUES (%s, %s)",
            [clinic_a.pk, timezone.now()],
        )
    row = ClinicCalendar.objects.values(
        "slot_minutes", "booking_horizon_days", "late_cancel_hours", "no_show_grace_minutes", "supervisor_capacity"
    ).get(clinic=clinic_a)
    assert row == {
        "slot_minutes": 30,
        "booking_horizon_days": 28,
        "late_cancel_hours": 24,
        "no_show_grace_minutes": 15,
        "supervisor_capacity": 2,
    }


BAD_SETTINGS = [
    ("slot_minutes", 25),
    ("slot_minutes", 5),
    ("slot_minutes", 240),
    ("booking_horizon_days", 0),
    ("booking_horizon_days", 181),
    ("late_cancel_hours", 169),
    ("no_show_grace_minutes", 121),
    ("supervisor_capacity", 0),
    ("supervisor_capacity", 11),
]


@pytest.mark.parametrize(("field", "value"), BAD_SETTINGS)
def test_the_database_refuses_a_setting_out_of_range(clinic_a, field, value):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicCalendar.objects.filter(pk=calendar.pk).update(**{field: value})


@pytest.mark.parametrize(("field", "value"), BAD_SETTINGS)
def test_validation_names_the_field_out_of_range(clinic_a, field, value):
    with pytest.raises(ValidationError) as refused:
        ClinicCalendar(clinic=clinic_a, **{field: value}).full_clean()
    assert list(refused.value.message_dict) == [field]


@pytest.mark.parametrize(("field", "value"), [("late_cancel_hours", 0), ("no_show_grace_minutes", 0)])
def test_zero_is_a_setting_where_it_means_never(clinic_a, field, value):
    ClinicCalendar(clinic=clinic_a, **{field: value}).full_clean()


def test_a_clinic_has_one_calendar(clinic_a):
    factories.ClinicCalendarFactory(clinic=clinic_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicCalendar.objects.create(clinic=clinic_a)


@pytest.mark.parametrize(
    ("weekday", "opens_at", "closes_at"),
    [(7, time(8), time(9)), (0, time(9), time(9)), (0, time(18), time(8))],
)
def test_the_database_refuses_a_bad_opening_range(clinic_a, weekday, opens_at, closes_at):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningHours.objects.create(calendar=calendar, weekday=weekday, opens_at=opens_at, closes_at=closes_at)


def test_validation_says_a_range_must_close_after_it_opens(clinic_a):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    with pytest.raises(ValidationError) as refused:
        OpeningHours(calendar=calendar, weekday=0, opens_at=time(12), closes_at=time(11)).full_clean()
    assert "closes_at" in refused.value.message_dict


def test_a_date_is_closed_once_per_calendar(clinic_a, clinic_b):
    mine, theirs = factories.ClinicCalendarFactory(clinic=clinic_a), factories.ClinicCalendarFactory(clinic=clinic_b)
    Closure.objects.create(calendar=mine, date=date(2030, 1, 1))
    Closure.objects.create(calendar=theirs, date=date(2030, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Closure.objects.create(calendar=mine, date=date(2030, 1, 1))


# --- the overlap rule -----------------------------------------------------------------------------


def r(weekday: int, opens: int, closes: int) -> tuple[int, time, time]:
    return (weekday, time(opens), time(closes))


@pytest.mark.parametrize(
    ("ranges", "overlapping"),
    [
        ([], 0),
        ([r(0, 8, 12), r(0, 13, 18)], 0),
        ([r(0, 8, 12), r(0, 12, 18)], 0),  # touching: one closes as the next opens
        ([r(0, 8, 12), r(1, 8, 12)], 0),  # the same hours on two days
        ([r(0, 8, 12), r(0, 11, 18)], 1),
        ([r(0, 8, 18), r(0, 10, 11)], 1),  # one inside the other
        ([r(0, 8, 18), r(0, 10, 11), r(0, 12, 13)], 2),  # both inside the long one
        ([r(2, 13, 18), r(2, 8, 12), r(2, 9, 10)], 1),  # given in any order
        ([r(4, 8, 12), r(4, 8, 12)], 1),  # twice the same
    ],
)
def test_ranges_of_one_weekday_must_not_overlap(ranges, overlapping):
    assert len(overlap_problems(ranges)) == overlapping


def test_an_overlap_is_named_in_words():
    assert overlap_problems([r(0, 8, 12), r(0, 11, 18)]) == ["Monday: 08:00-12:00 overlaps 11:00-18:00."]


# --- the services ---------------------------------------------------------------------------------


def events_of(kind: str, action: str) -> int:
    return Event.objects.filter(object_type=f"scheduling.{kind}", action=action).count()


def test_a_new_calendar_opens_on_the_default_hours_audited(clinic_a, clinic_admin_a):
    calendar = services.calendar_create(actor=clinic_admin_a, clinic=clinic_a, slot_minutes=20)

    assert calendar_for(clinic_a).opening == MON_TO_FRI
    assert calendar_for(clinic_a).slot_minutes == 20
    assert events_of("cliniccalendar", "create") == 1
    assert events_of("openinghours", "create") == 5
    event = Event.objects.get(object_type="scheduling.cliniccalendar")
    assert (event.clinic_id, event.actor_id, event.object_id) == (clinic_a.pk, clinic_admin_a.pk, str(calendar.pk))


def test_only_a_clinic_admin_sets_up_a_calendar(clinic_a, clinician_a, clinic_b, clinic_admin_a):
    with pytest.raises(PermissionDenied):
        services.calendar_create(actor=clinician_a, clinic=clinic_a)
    with pytest.raises(Http404):
        services.calendar_create(actor=clinic_admin_a, clinic=clinic_b)
    assert not ClinicCalendar.objects.exists()


def test_a_second_calendar_for_a_clinic_is_a_field_error(clinic_a, clinic_admin_a):
    services.calendar_create(actor=clinic_admin_a, clinic=clinic_a)
    with pytest.raises(ValidationError) as refused:
        services.calendar_create(actor=clinic_admin_a, clinic=clinic_a)
    assert "clinic" in refused.value.message_dict


def test_an_update_out_of_range_is_a_field_error_and_writes_nothing(clinic_a, clinic_admin_a):
    calendar = services.calendar_create(actor=clinic_admin_a, clinic=clinic_a)
    with pytest.raises(ValidationError) as refused:
        services.calendar_update(actor=clinic_admin_a, calendar=calendar, supervisor_capacity=11)
    assert list(refused.value.message_dict) == ["supervisor_capacity"]
    assert ClinicCalendar.objects.get().supervisor_capacity == 2
    assert events_of("cliniccalendar", "update") == 0


def test_an_overlapping_range_is_refused_and_nothing_is_written(clinic_a, clinic_admin_a):
    calendar = services.calendar_create(actor=clinic_admin_a, clinic=clinic_a)
    before = list(OpeningHours.objects.values())
    extra = OpeningHours(calendar=calendar, weekday=0, opens_at=time(17), closes_at=time(20))
    with pytest.raises(ValidationError, match="Monday: 08:00-18:00 overlaps 17:00-20:00"):
        services.calendar_rows_save(actor=clinic_admin_a, calendar=calendar, saved=[extra])
    assert list(OpeningHours.objects.values()) == before
    assert events_of("openinghours", "update") == 0


def test_two_ranges_swapped_in_one_edit_are_no_overlap(clinic_a, clinic_admin_a):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    morning = factories.OpeningHoursFactory(calendar=calendar, weekday=0, opens_at=time(8), closes_at=time(12))
    evening = factories.OpeningHoursFactory(calendar=calendar, weekday=0, opens_at=time(14), closes_at=time(18))
    morning.opens_at, morning.closes_at = time(14), time(18)
    evening.opens_at, evening.closes_at = time(8), time(12)
    closure = Closure(calendar=calendar, date=date(2030, 7, 4), reason="Independence Day")

    services.calendar_rows_save(actor=clinic_admin_a, calendar=calendar, saved=[evening, morning, closure])

    assert calendar_for(clinic_a).opening == (OpeningRange(0, time(8), time(12)), OpeningRange(0, time(14), time(18)))
    assert calendar_for(clinic_a).closures == {date(2030, 7, 4)}
    assert events_of("openinghours", "update") == 2
    assert events_of("closure", "create") == 1


def test_a_front_desk_member_cannot_change_the_hours(clinic_a):
    desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    row = OpeningHours(calendar=calendar, weekday=0, opens_at=time(8), closes_at=time(9))
    with pytest.raises(PermissionDenied):
        services.calendar_rows_save(actor=desk, calendar=calendar, saved=[row])
    with pytest.raises(PermissionDenied):
        services.calendar_update(actor=desk, calendar=calendar, slot_minutes=60)
    assert not OpeningHours.objects.exists()


def test_another_clinics_calendar_is_not_found(clinic_b, clinic_admin_a):
    calendar = factories.ClinicCalendarFactory(clinic=clinic_b)
    with pytest.raises(Http404):
        services.calendar_update(actor=clinic_admin_a, calendar=calendar, slot_minutes=60)
    with pytest.raises(Http404):
        services.calendar_delete(actor=clinic_admin_a, calendar=calendar)
    assert ClinicCalendar.objects.get().slot_minutes == 30


def test_a_row_of_another_calendar_cannot_be_slipped_in(clinic_a, clinic_b, clinic_admin_a):
    mine = factories.ClinicCalendarFactory(clinic=clinic_a)
    theirs = factories.OpeningHoursFactory(calendar=factories.ClinicCalendarFactory(clinic=clinic_b))
    with pytest.raises(ValidationError):
        services.calendar_rows_save(actor=clinic_admin_a, calendar=mine, deleted=[theirs])
    assert OpeningHours.objects.filter(pk=theirs.pk).exists()


def test_deleting_a_calendar_returns_the_clinic_to_the_defaults_audited(clinic_a, clinic_admin_a):
    calendar = services.calendar_create(actor=clinic_admin_a, clinic=clinic_a, slot_minutes=60)
    services.calendar_rows_save(
        actor=clinic_admin_a, calendar=calendar, saved=[Closure(calendar=calendar, date=date(2030, 1, 1))]
    )

    services.calendar_delete(actor=clinic_admin_a, calendar=calendar)

    assert calendar_for(clinic_a).slot_minutes == 30
    assert calendar_for(clinic_a).closures == frozenset()
    assert events_of("cliniccalendar", "delete") == 1
    assert events_of("openinghours", "delete") == 5
    assert events_of("closure", "delete") == 1
