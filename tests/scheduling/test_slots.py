"""The slot finder: hand-computed tables (opening hours, closures, rest window, capacity, horizon, DST in two
zones) and properties over any calendar and bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.clinics.arguments import RuleArgumentError
from apps.scheduling.slots import (
    Booking,
    Calendar,
    OpeningRange,
    Slot,
    free_slots,
    series_problems,
    series_starts,
    wall_slots,
)

LA = ZoneInfo("America/Los_Angeles")  # 2026: spring forward Sun 03-08 02:00, fall back Sun 11-01 02:00
LONDON = ZoneInfo("Europe/London")  # 2026: spring forward Sun 03-29 01:00, fall back Sun 10-25 02:00
WEEKDAYS_9_TO_17 = tuple(OpeningRange(day, time(9), time(17)) for day in range(5))
CLINIC = Calendar(tz=LA, opening=WEEKDAYS_9_TO_17)
MONDAY = datetime(2026, 12, 7, 8, tzinfo=LA)  # before opening


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


def starts(slots, tz=LA):
    return [slot.start.astimezone(tz).replace(tzinfo=None) for slot in slots]


def find(calendar=CLINIC, machines=("m1",), bookings=(), *, earliest=MONDAY, due=MONDAY, now=MONDAY, **given):
    return free_slots(calendar, list(machines), list(bookings), earliest=earliest, due=due, now=now, **given)


# --- Tables ---------------------------------------------------------------------------------------


def test_the_best_slots_are_the_closest_to_the_due_time():
    due = local(LA, 2026, 12, 9, 13, 10)  # Wednesday 13:10
    slots = find(due=due, count=3)
    assert starts(slots) == [datetime(2026, 12, 9, 13), datetime(2026, 12, 9, 13, 30), datetime(2026, 12, 9, 12, 30)]
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)
    assert all(slot.start.tzinfo is UTC for slot in slots)


def test_no_slot_is_offered_before_the_earliest_next_session():
    earliest = local(LA, 2026, 12, 9, 10, 5)  # 48 h after Monday 10:05
    slots = find(earliest=earliest, due=local(LA, 2026, 12, 8, 9), count=2)
    assert starts(slots) == [datetime(2026, 12, 9, 10, 30), datetime(2026, 12, 9, 11)]


def test_an_override_allows_a_slot_before_the_earliest_next_session_but_never_in_the_past():
    earliest = local(LA, 2026, 12, 9, 10, 5)
    slots = find(earliest=earliest, due=local(LA, 2026, 12, 7, 8), allow_before_earliest=True, count=1)
    assert starts(slots) == [datetime(2026, 12, 7, 9)]


def test_only_opening_hours_and_days_that_are_not_closed():
    calendar = Calendar(
        tz=LA,
        opening=(
            OpeningRange(0, time(8), time(9)),
            OpeningRange(0, time(16), time(17)),
            OpeningRange(2, time(8), time(9)),
        ),
        closures=frozenset({date(2026, 12, 9)}),
        slot_minutes=60,
    )
    slots = find(calendar, due=local(LA, 2026, 12, 10, 12), count=10)
    assert starts(slots)[:4] == [  # due Thursday 12:00; Wednesday the 9th is closed
        datetime(2026, 12, 7, 16),  # 2 days 20 h before
        datetime(2026, 12, 7, 8),  # 3 days 4 h before (now is Monday 08:00: the 08:00 slot is not past)
        datetime(2026, 12, 14, 8),  # 3 days 20 h after
        datetime(2026, 12, 14, 16),
    ]
    assert date(2026, 12, 9) not in [start.date() for start in starts(slots)]
    assert all(start.weekday() in (0, 2) and start.hour in (8, 16) for start in starts(slots))


def test_a_booked_machine_is_not_offered_and_another_machine_is():
    at = local(LA, 2026, 12, 9, 13)
    booking = Booking("m1", at, at + timedelta(minutes=30))
    slots = find(machines=("m1", "m2"), bookings=[booking], due=at, count=3)
    assert (slots[0].machine, slots[0].start) == ("m2", at.astimezone(UTC))
    assert ("m1", at.astimezone(UTC)) not in [(slot.machine, slot.start) for slot in slots]


def test_a_booking_overlapping_by_a_minute_holds_the_slot():
    at = local(LA, 2026, 12, 9, 13)
    booking = Booking("m1", at - timedelta(minutes=29), at + timedelta(minutes=1))
    slots = find(bookings=[booking], due=at, count=40)
    assert at.astimezone(UTC) not in [slot.start for slot in slots]
    assert (at - timedelta(minutes=30)).astimezone(UTC) not in [slot.start for slot in slots]
    assert (at + timedelta(minutes=30)).astimezone(UTC) in [slot.start for slot in slots]


def test_a_supervisor_at_capacity_is_offered_no_slot_at_that_time():
    at = local(LA, 2026, 12, 9, 13)
    busy = [Booking(machine, at, at + timedelta(minutes=30), supervisor="pt") for machine in ("m1", "m2")]
    slots = find(machines=("m1", "m2", "m3"), bookings=busy, due=at, supervisor="pt", count=2)
    assert at.astimezone(UTC) not in [slot.start for slot in slots]
    other = find(machines=("m1", "m2", "m3"), bookings=busy, due=at, supervisor="another", count=1)
    assert [(slot.machine, slot.start) for slot in other] == [("m3", at.astimezone(UTC))]


def test_nothing_beyond_the_booking_horizon():
    calendar = Calendar(tz=LA, opening=WEEKDAYS_9_TO_17, horizon_days=7)
    slots = find(calendar, due=local(LA, 2027, 1, 30, 12), count=5)
    assert max(slots, key=lambda slot: slot.start).end <= MONDAY + timedelta(days=7)
    assert starts(slots)[:2] == [datetime(2026, 12, 11, 16, 30), datetime(2026, 12, 11, 16)]  # the last ones inside


def test_no_machine_or_no_opening_means_no_slot():
    assert find(machines=()) == []
    assert find(Calendar(tz=LA, opening=())) == []


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        # Spring forward: 02:00-03:00 does not exist; a 01:00-04:00 range offers 01:00, 01:30, 03:00, 03:30
        (LA, date(2026, 3, 8), [time(1), time(1, 30), time(3), time(3, 30)]),
        (LONDON, date(2026, 3, 29), [time(0), time(0, 30), time(2), time(2, 30), time(3), time(3, 30)]),
    ],
)
def test_a_wall_time_in_a_spring_forward_gap_is_not_offered(tz, day, expected):
    start = time(1) if tz is LA else time(0)
    calendar = Calendar(tz=tz, opening=(OpeningRange(6, start, time(4)),))
    slots = list(wall_slots(calendar, day, day))
    assert [begin.astimezone(tz).time() for begin, _ in slots] == expected


@pytest.mark.parametrize(("tz", "day"), [(LA, date(2026, 11, 1)), (LONDON, date(2026, 10, 25))])
def test_a_wall_time_in_a_fall_back_fold_is_offered_once_at_its_first_occurrence(tz, day):
    calendar = Calendar(tz=tz, opening=(OpeningRange(6, time(0), time(3)),))
    slots = list(wall_slots(calendar, day, day))
    walls = [begin.astimezone(tz).replace(tzinfo=None).time() for begin, _ in slots]
    assert walls == [time(0), time(0, 30), time(1), time(1, 30), time(2), time(2, 30)]
    one_thirty = slots[3][0]
    assert one_thirty.astimezone(tz).fold == 0  # the first 01:30 (summer time)
    assert all(later - earlier >= timedelta(minutes=30) for (earlier, _), (later, _) in pairwise(slots))


def test_slots_keep_their_local_hour_across_a_dst_change():
    calendar = Calendar(tz=LONDON, opening=tuple(OpeningRange(day, time(17), time(18)) for day in range(7)))
    slots = list(wall_slots(calendar, date(2026, 10, 24), date(2026, 10, 26)))
    assert [begin.astimezone(LONDON).time() for begin, _ in slots] == [time(17), time(17, 30)] * 3
    assert [begin.hour for begin, _ in slots[::2]] == [16, 17, 17]  # UTC: BST, then GMT


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ({"earliest": datetime(2026, 12, 7, 8)}, "earliest"),
        ({"now": "2026-12-07T08:00:00Z"}, "now"),
        ({"count": 0}, "count"),
        ({"count": 2.5}, "count"),
        ({"allow_before_earliest": 1}, "allow_before_earliest"),
        ({"calendar": Calendar(tz="America/Los_Angeles", opening=WEEKDAYS_9_TO_17)}, "calendar.tz"),
        ({"calendar": Calendar(tz=LA, opening=(OpeningRange(0, time(17), time(9)),))}, "close after it opens"),
        ({"calendar": Calendar(tz=LA, opening=WEEKDAYS_9_TO_17, slot_minutes=0)}, "slot_minutes"),
        ({"bookings": [Booking("m1", MONDAY, MONDAY)]}, "end after it starts"),
        ({"machines": (m for m in ["m1"])}, "machines"),
    ],
)
def test_bad_arguments_are_refused_with_a_sentence_naming_them(given, name):
    arguments = {"calendar": CLINIC, "machines": ["m1"], "bookings": [], "earliest": MONDAY, "due": MONDAY}
    arguments |= {"now": MONDAY, **given}
    calendar, machines, bookings = arguments.pop("calendar"), arguments.pop("machines"), arguments.pop("bookings")
    with pytest.raises(RuleArgumentError, match=name):
        free_slots(calendar, machines, bookings, **arguments)


# --- Properties -----------------------------------------------------------------------------------

ZONES = st.sampled_from(["America/Los_Angeles", "Europe/London", "Australia/Sydney", "America/Sao_Paulo"]).map(ZoneInfo)
TIMES = st.integers(0, 47).map(lambda half_hours: time(half_hours // 2, 30 * (half_hours % 2)))


@st.composite
def calendars(draw):
    ranges = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1)):
        opens, closes = sorted(draw(st.lists(TIMES, min_size=2, max_size=2, unique=True)))
        ranges.append(OpeningRange(weekday, opens, closes))
    return Calendar(
        tz=draw(ZONES),
        opening=tuple(ranges),
        slot_minutes=draw(st.sampled_from([15, 30, 45, 60])),
        horizon_days=draw(st.integers(1, 21)),
        supervisor_capacity=draw(st.integers(1, 3)),
    )


INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@st.composite
def bookings_near(draw, now):
    found = []
    for _ in range(draw(st.integers(0, 25))):
        start = now + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 21)))
        length = timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90])))
        found.append(
            Booking(draw(st.sampled_from(["m1", "m2"])), start, start + length, draw(st.sampled_from([None, "pt"])))
        )
    return found


@settings(derandomize=True, max_examples=150, deadline=None)
@given(data=st.data(), calendar=calendars(), now=INSTANTS, rest_hours=st.integers(0, 96))
def test_no_offered_slot_overlaps_a_live_booking_is_before_the_earliest_or_outside_opening_hours(
    data, calendar, now, rest_hours
):
    bookings = data.draw(bookings_near(now))
    earliest = now + timedelta(hours=rest_hours)
    due = earliest + timedelta(hours=data.draw(st.integers(-48, 200)))
    slots = free_slots(calendar, ["m1", "m2"], bookings, earliest=earliest, due=due, now=now, count=20, supervisor="pt")
    for slot in slots:
        assert isinstance(slot, Slot)
        assert slot.start >= earliest
        assert slot.start >= now
        assert slot.end <= now + timedelta(days=calendar.horizon_days)
        assert not any(b.machine == slot.machine and b.start < slot.end and slot.start < b.end for b in bookings)
        held = sum(b.supervisor == "pt" and b.start < slot.end and slot.start < b.end for b in bookings)
        assert held < calendar.supervisor_capacity
        wall_start = slot.start.astimezone(calendar.tz).replace(tzinfo=None)
        assert any(
            r.weekday == wall_start.weekday()
            and r.opens <= wall_start.time()
            and wall_start + (slot.end - slot.start) <= datetime.combine(wall_start.date(), r.closes)
            for r in calendar.opening
        )
    distances = [abs(slot.start - due) for slot in slots]
    assert distances == sorted(distances)  # best first
    assert len({(slot.machine, slot.start) for slot in slots}) == len(slots)  # nothing offered twice


# --- Series ---------------------------------------------------------------------------------------


def test_mondays_and_thursdays_at_17_for_4_weeks_book_when_every_slot_is_free():
    starts, missing = series_starts(LA, [0, 3], time(17), date(2026, 12, 7), 4)
    assert missing == []
    assert [start.astimezone(LA).strftime("%a %d %H:%M") for start in starts] == [
        "Mon 07 17:00", "Thu 10 17:00", "Mon 14 17:00", "Thu 17 17:00",
        "Mon 21 17:00", "Thu 24 17:00", "Mon 28 17:00", "Thu 31 17:00",
    ]  # fmt: skip
    late = Calendar(tz=LA, opening=tuple(OpeningRange(day, time(9), time(18)) for day in range(5)))
    assert series_problems(late, "m1", [], starts, earliest=MONDAY, now=MONDAY) == []


def test_a_series_names_each_slot_that_cannot_be_booked():
    late = Calendar(tz=LA, opening=tuple(OpeningRange(day, time(9), time(18)) for day in range(5)))
    starts, _ = series_starts(LA, [0, 2, 3], time(17), date(2026, 12, 7), 2)
    taken = local(LA, 2026, 12, 14, 17)
    problems = series_problems(
        late, "m1", [Booking("m1", taken, taken + timedelta(minutes=30))], starts, earliest=MONDAY, now=MONDAY
    )
    assert problems == [  # Monday to Wednesday is 48 h exactly: enough; Wednesday to Thursday is not
        "Thu 10 Dec 17:00: less than 48 h after the one before.",
        "Mon 14 Dec 17:00: the machine is booked.",
        "Thu 17 Dec 17:00: less than 48 h after the one before.",
    ]


def test_a_series_outside_opening_hours_or_before_the_earliest_session_is_refused():
    starts, _ = series_starts(LA, [0, 3], time(17), date(2026, 12, 7), 1)
    problems = series_problems(CLINIC, "m1", [], starts, earliest=MONDAY, now=MONDAY)  # CLINIC closes at 17:00
    assert problems == [
        "Mon 07 Dec 17:00: not a slot inside opening hours.",
        "Thu 10 Dec 17:00: not a slot inside opening hours.",
    ]
    starts, _ = series_starts(LA, [0, 3], time(10), date(2026, 12, 7), 1)
    problems = series_problems(CLINIC, "m1", [], starts, earliest=local(LA, 2026, 12, 8, 10), now=MONDAY)
    assert problems == ["Mon 07 Dec 10:00: before the earliest next session."]


def test_a_series_day_whose_time_falls_in_a_dst_gap_is_named():
    starts, missing = series_starts(LA, [6], time(2, 30), date(2026, 3, 1), 2)
    assert missing == [date(2026, 3, 8)]
    assert [start.astimezone(LA).date() for start in starts] == [date(2026, 3, 1)]
