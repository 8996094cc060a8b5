"""The staff UI's appointments: the clinic's day and week by machine, booking a free slot, "book next",
check-in, no-show, cancellation, the session recorded from an appointment, the chart and the board."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import Event
from apps.clinics.localtime import localise
from apps.programs.models import Program, ProgramStatus, TrainingSession
from apps.scheduling.models import Appointment, AppointmentState
from tests import factories
from tests.web.test_recording import a_set

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")  # clinic A


def next_monday() -> date:
    today = timezone.now().astimezone(LA).date()
    return today + timedelta(days=7 - today.weekday())


MONDAY = next_monday()  # the clinic's default calendar: Mon-Fri 08:00-18:00, 30-minute slots


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return localise(datetime.combine(day, time(hour, minute)), LA)


def week_url(clinic, start=MONDAY) -> str:
    return f"/clinics/{clinic.pk}/week/?start={start:%Y-%m-%d}"


def day_url(clinic, day=MONDAY) -> str:
    return f"/clinics/{clinic.pk}/day/?day={day:%Y-%m-%d}"


def book_url(clinic, machine, start, **extra) -> str:
    query = "&".join(f"{key}={value}" for key, value in extra.items())
    return f"/clinics/{clinic.pk}/book/?machine={machine.pk}&start={int(start.timestamp())}&{query}"


@pytest.fixture
def front_desk(clinic_a):
    return factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")


@pytest.fixture
def machines(clinic_a):
    return [factories.MachineFactory(clinic=clinic_a, name=f"Lumbar {n}") for n in (1, 2)]


def bookable(clinic, *, earliest=None, due=None, **patient) -> Program:
    """An active lumbar program at `clinic`, free to book from now on (its rest elapsed), due Monday 10:00."""
    return factories.ProgramFactory(
        patient=factories.PatientFactory(clinic=clinic, **patient),
        status=ProgramStatus.ACTIVE,
        started_at=timezone.now() - timedelta(days=10),
        earliest_next_at=earliest or timezone.now() - timedelta(hours=1),
        next_due_at=due or at(MONDAY, 10),
    )


def appointment(program, machine, start, state=AppointmentState.BOOKED, **fields) -> Appointment:
    """A row as the booking service leaves it (the tests of the views need times the service would refuse now)."""
    return Appointment.objects.create(
        patient=program.patient,
        program=program,
        clinic=program.clinic,
        machine=machine,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        state=state,
        booked_via="staff",
        **fields,
    )


# --- Day and week --------------------------------------------------------------------------------


def test_the_week_shows_every_machine_by_day_and_the_booked_cells(signed_in, front_desk, clinic_a, machines):
    program = bookable(clinic_a, family_name="Baker", given_name="Bea")
    booked = appointment(program, machines[1], at(MONDAY, 10))

    response = signed_in(front_desk).get(week_url(clinic_a))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/patients/{program.patient_id}/"' in html
    assert f'id="a-{booked.pk}"' in html
    assert "Baker, B." in html
    heads = response.context["heads"]
    assert [h.closed for h in heads] == [False] * 5 + [True] * 2
    assert [h.span for h in heads] == [2] * 5 + [1] * 2
    rows = response.context["rows"]
    assert [row.at for row in rows][:2] == [time(8), time(8, 30)]
    assert len(rows) == 20
    assert html.count('class="slot-book"') == 5 * 20 * 2 - 1  # every future slot but the booked one
    assert Event.objects.filter(action="read", object_id=str(booked.pk), patient_id=program.patient_id).count() == 1


def test_the_week_links_to_the_weeks_around_it_and_to_each_day(signed_in, front_desk, clinic_a, machines):
    html = signed_in(front_desk).get(week_url(clinic_a)).content.decode()
    assert f"?start={MONDAY - timedelta(days=7):%Y-%m-%d}" in html
    assert f"?start={MONDAY + timedelta(days=7):%Y-%m-%d}" in html
    assert f"/clinics/{clinic_a.pk}/day/?day={MONDAY + timedelta(days=2):%Y-%m-%d}" in html


def test_the_day_lists_slots_by_machine_and_free_future_slots_book(signed_in, front_desk, clinic_a, machines):
    program = bookable(clinic_a)
    booked = appointment(program, machines[0], at(MONDAY, 9))
    cancelled = appointment(
        bookable(clinic_a), machines[0], at(MONDAY, 9), state=AppointmentState.CANCELLED, cancel_reason="Ill"
    )

    response = signed_in(front_desk).get(day_url(clinic_a))

    assert response.status_code == 200
    html = response.content.decode()
    assert [m.name for m in response.context["machines"]] == ["Lumbar 1", "Lumbar 2"]
    assert f'id="a-{booked.pk}"' in html
    assert response.context["day"].others == [cancelled]  # listed beside the grid, not holding the slot
    ten = int(at(MONDAY, 10).timestamp())
    assert f"/clinics/{clinic_a.pk}/book/?machine={machines[1].pk}&amp;start={ten}" in html
    assert "Check in" not in html  # not today
    assert f"/appointments/{booked.pk}/cancel/" in html


def test_the_day_view_of_today_offers_check_in_and_no_show(signed_in, front_desk, clinic_a, machines):
    now = timezone.now()
    started = appointment(bookable(clinic_a), machines[0], now - timedelta(minutes=20))
    coming = appointment(bookable(clinic_a), machines[1], now + timedelta(minutes=20))
    html = signed_in(front_desk).get(f"/clinics/{clinic_a.pk}/day/").content.decode()
    assert f"/appointments/{started.pk}/no-show/" in html
    assert f"/appointments/{coming.pk}/check-in/" in html
    assert f"/appointments/{coming.pk}/no-show/" not in html  # not started yet


@pytest.mark.parametrize("day", ["", "2026-13-01", "yesterday", "0001-01-01", "9999-12-31"])
def test_a_day_that_cannot_be_read_shows_today(signed_in, front_desk, clinic_a, day):
    response = signed_in(front_desk).get(f"/clinics/{clinic_a.pk}/day/?day={day}")
    assert response.status_code == 200
    assert response.context["day"].day == timezone.now().astimezone(LA).date()


@pytest.mark.parametrize("view", ["day", "week", "book"])
def test_another_clinics_calendar_is_404(signed_in, clinician_b, clinic_a, clinic_c, machines, view):
    client = signed_in(clinician_b)
    assert client.get(f"/clinics/{clinic_a.pk}/{view}/?machine={machines[0].pk}&start=1").status_code == 404
    assert client.get(f"/clinics/{clinic_c.pk}/{view}/").status_code == 404
    assert client.get(f"/clinics/999999/{view}/").status_code == 404


def test_a_visiting_patient_of_a_clinic_the_user_does_not_see_holds_the_slot_unnamed(
    signed_in, front_desk, clinic_a, clinic_b, machines
):
    visitor = factories.ProgramFactory(
        clinic=clinic_a,
        patient=factories.PatientFactory(clinic=clinic_b, family_name="Visitorxq", given_name="Vera"),
        status=ProgramStatus.ACTIVE,
        started_at=timezone.now() - timedelta(days=10),
        earliest_next_at=timezone.now() - timedelta(hours=1),
        next_due_at=at(MONDAY, 10),
    )
    held = appointment(visitor, machines[0], at(MONDAY, 10))
    cancelled = appointment(visitor, machines[1], at(MONDAY, 11), state=AppointmentState.CANCELLED)
    client = signed_in(front_desk)

    for url in (week_url(clinic_a), day_url(clinic_a)):
        html = client.get(url).content.decode()
        assert "Visitorxq" not in html
        assert str(visitor.patient_id) not in html
        assert str(held.pk) not in html
        assert str(cancelled.pk) not in html
        assert 'class="slot booked held' in html
    week = client.get(week_url(clinic_a))
    assert week.content.decode().count('class="slot-book"') == 5 * 20 * 2 - 1  # the held slot is not offered
    assert not Event.objects.filter(patient_id=visitor.patient_id, action="read").exists()


def test_the_calendar_needs_a_signed_in_user(client, clinic_a):
    response = client.get(day_url(clinic_a))
    assert response.status_code == 302
    assert "login" in response["Location"]


def page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_day_and_week_read_with_the_same_number_of_queries_at_any_size(signed_in, front_desk, clinic_a, machines):
    client = signed_in(front_desk)

    def add(hours):
        for hour in hours:
            for day in range(5):
                appointment(bookable(clinic_a), machines[hour % 2], at(MONDAY + timedelta(days=day), hour))

    add([8])
    small = page_queries(client, week_url(clinic_a)), page_queries(client, day_url(clinic_a))
    add(range(9, 18))
    large = page_queries(client, week_url(clinic_a)), page_queries(client, day_url(clinic_a))
    assert small == large
    assert max(large) <= 15  # session, user, roles, the clinic, savepoints, calendar, machines, rows, audit


# --- Booking a free slot -------------------------------------------------------------------------


def test_the_front_desk_books_a_free_slot_choosing_the_program(signed_in, front_desk, clinic_a, machines):
    program = bookable(clinic_a, family_name="Baker")
    cervical = factories.ProgramFactory(
        patient=factories.PatientFactory(clinic=clinic_a, family_name="Neck"),
        status=ProgramStatus.ACTIVE,
        region="cervical",
        machine_kind="cervical_extension",
    )
    elsewhere = bookable(factories.ClinicFactory(organization=clinic_a.organization), family_name="Far")
    client = signed_in(front_desk)
    start = at(MONDAY, 10)

    pick = client.get(book_url(clinic_a, machines[0], start))
    assert pick.status_code == 200
    assert [p.pk for p in pick.context["programs"]] == [program.pk]  # not another kind, not another clinic
    assert cervical.pk
    assert elsewhere.pk
    assert client.get(book_url(clinic_a, machines[0], start, q="Baker")).context["programs"] == [program]
    assert client.get(book_url(clinic_a, machines[0], start, q="Nobody")).context["programs"] == []

    confirm = client.get(book_url(clinic_a, machines[0], start, program=program.pk))
    assert confirm.status_code == 200
    assert not confirm.context["early"]
    data = {"machine": machines[0].pk, "start": int(start.timestamp()), "program": program.pk}
    response = client.post(f"/clinics/{clinic_a.pk}/book/", data)

    booked = Appointment.objects.get(program=program)
    assert (booked.machine, booked.starts_at, booked.booked_by, booked.state) == (
        machines[0],
        start,
        front_desk,
        "booked",
    )
    assert response.status_code == 302
    assert response["Location"] == f"{day_url(clinic_a)}#a-{booked.pk}"
    assert "Booked: Baker" in client.get(response["Location"]).content.decode()


def test_a_slot_taken_meanwhile_is_a_form_error_and_nothing_is_booked(signed_in, front_desk, clinic_a, machines):
    program, other = bookable(clinic_a), bookable(clinic_a)
    start = at(MONDAY, 10)
    appointment(other, machines[0], start)
    data = {"machine": machines[0].pk, "start": int(start.timestamp()), "program": program.pk}

    response = signed_in(front_desk).post(f"/clinics/{clinic_a.pk}/book/", data)

    assert response.status_code == 200
    assert "This time was just booked on that machine." in response.content.decode()
    assert not Appointment.objects.filter(program=program).exists()


def test_a_slot_inside_the_rest_window_needs_a_clinicians_reason(
    signed_in, front_desk, clinician_a, clinic_a, machines
):
    program = bookable(clinic_a, earliest=at(MONDAY, 12))
    start = at(MONDAY, 10)
    data = {"machine": machines[0].pk, "start": int(start.timestamp()), "program": program.pk}
    url = f"/clinics/{clinic_a.pk}/book/"

    refused = signed_in(front_desk).post(url, data)
    assert "before the earliest next session" in refused.content.decode()
    assert refused.context["early"]
    assert not refused.context["may_book_early"]
    desk_reason = signed_in(front_desk).post(url, {**data, "early_reason": "Travelling"})
    assert desk_reason.context["form"].errors["early_reason"] == ["Only a clinician can book before the minimum rest."]
    assert not Appointment.objects.exists()

    assert (
        signed_in(clinician_a).get(book_url(clinic_a, machines[0], start, program=program.pk)).context["may_book_early"]
    )
    assert signed_in(clinician_a).post(url, {**data, "early_reason": "Travelling Tuesday"}).status_code == 302
    assert Appointment.objects.get(program=program).early_reason == "Travelling Tuesday"


def test_a_machine_or_program_of_another_clinic_cannot_be_booked(signed_in, front_desk, clinic_a, clinic_b, machines):
    program = bookable(clinic_a)
    foreign_machine = factories.MachineFactory(clinic=clinic_b)
    foreign_program = bookable(clinic_b)
    start = int(at(MONDAY, 10).timestamp())
    client = signed_in(front_desk)
    url = f"/clinics/{clinic_a.pk}/book/"
    assert client.post(url, {"machine": foreign_machine.pk, "start": start, "program": program.pk}).status_code == 404
    assert (
        client.post(url, {"machine": machines[0].pk, "start": start, "program": foreign_program.pk}).status_code == 404
    )
    for start_typed in ("soon", "-5", "99999999999999999999"):
        typed = {"machine": machines[0].pk, "start": start_typed, "program": program.pk}
        assert client.post(url, typed).status_code == 404
    assert client.post(url, {"machine": machines[0].pk, "start": start, "program": "x"}).status_code == 404
    assert not Appointment.objects.exists()


# --- Check-in, no-show, cancel -------------------------------------------------------------------


def test_the_front_desk_checks_a_patient_in_and_back_to_the_page(signed_in, front_desk, clinic_a, machines):
    coming = appointment(bookable(clinic_a), machines[0], timezone.now() + timedelta(minutes=20))
    back = f"/clinics/{clinic_a.pk}/day/#a-{coming.pk}"
    response = signed_in(front_desk).post(f"/appointments/{coming.pk}/check-in/", {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    coming.refresh_from_db()
    assert coming.state == AppointmentState.CHECKED_IN
    assert coming.checked_in_at is not None


def test_a_refused_check_in_is_a_message_and_changes_nothing(signed_in, front_desk, clinic_a, machines):
    later = appointment(bookable(clinic_a), machines[0], at(MONDAY, 10))
    client = signed_in(front_desk)
    response = client.post(f"/appointments/{later.pk}/check-in/", {"next": "https://evil.example/"})
    assert response["Location"] == f"{day_url(clinic_a)}#a-{later.pk}"  # not somewhere else
    assert "Check-in opens an hour before the start" in client.get(response["Location"]).content.decode()
    later.refresh_from_db()
    assert later.state == AppointmentState.BOOKED


def test_a_patient_not_come_is_marked_a_no_show(signed_in, front_desk, clinic_a, machines):
    started = appointment(bookable(clinic_a), machines[0], timezone.now() - timedelta(minutes=20))
    assert signed_in(front_desk).post(f"/appointments/{started.pk}/no-show/").status_code == 302
    started.refresh_from_db()
    assert started.state == AppointmentState.NO_SHOW


def test_a_cancellation_needs_a_reason_and_is_late_inside_the_window(signed_in, front_desk, clinic_a, machines):
    soon = appointment(bookable(clinic_a), machines[0], timezone.now() + timedelta(hours=3))
    client = signed_in(front_desk)
    url = f"/appointments/{soon.pk}/cancel/"

    refused = client.post(url, {"cancel_reason": " "})
    assert refused.status_code == 200
    assert refused.context["form"].errors["cancel_reason"]
    assert client.get(url).status_code == 200
    assert client.post(url, {"cancel_reason": "Patient ill"}).status_code == 302
    soon.refresh_from_db()
    assert (soon.state, soon.cancel_reason, soon.cancelled_late) == ("cancelled", "Patient ill", True)


def test_the_actions_are_posts(signed_in, front_desk, clinic_a, machines):
    coming = appointment(bookable(clinic_a), machines[0], timezone.now() + timedelta(minutes=20))
    client = signed_in(front_desk)
    assert client.get(f"/appointments/{coming.pk}/check-in/").status_code == 405
    assert client.get(f"/appointments/{coming.pk}/no-show/").status_code == 405


@pytest.mark.parametrize("action", ["check-in", "no-show", "cancel", "session"])
def test_another_clinics_appointment_is_404(signed_in, clinician_b, clinic_a, machines, action):
    theirs = appointment(bookable(clinic_a), machines[0], timezone.now() - timedelta(minutes=5))
    client = signed_in(clinician_b)
    assert client.post(f"/appointments/{theirs.pk}/{action}/", {"cancel_reason": "x"}).status_code == 404
    assert client.post(f"/appointments/not-a-uuid/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == AppointmentState.BOOKED


# --- The session of an appointment and "book next" ---------------------------------------------


def test_a_session_recorded_from_a_checked_in_appointment_completes_it(signed_in, clinician_a, training, machine_a):
    now = timezone.now()
    other = factories.MachineFactory(clinic=training.clinic, name="Lumbar 0")  # sorts first: not the default
    visit = appointment(
        training, machine_a, now - timedelta(minutes=10), state=AppointmentState.CHECKED_IN, checked_in_at=now
    )
    client = signed_in(clinician_a)
    url = f"/appointments/{visit.pk}/session/"

    form = client.get(url).context["form"]
    assert form["machine"].value() == machine_a.pk != other.pk
    assert form.fields["performed_at"].initial == visit.checked_in_at
    response = client.post(url, a_set(machine_a, visit.checked_in_at, training.proposed_load))

    visit.refresh_from_db()
    assert visit.state == AppointmentState.COMPLETED
    assert visit.session.program_id == training.pk
    assert response["Location"] == f"/patients/{training.patient_id}/?book={training.pk}#book-next"
    chart = client.get(response["Location"])
    assert len(chart.context["book_next"].offers) == 3
    assert 'id="book-next"' in chart.content.decode()


def test_a_session_cannot_be_recorded_from_a_booked_appointment(signed_in, clinician_a, training, machine_a):
    visit = appointment(training, machine_a, timezone.now() + timedelta(hours=2))
    response = signed_in(clinician_a).get(f"/appointments/{visit.pk}/session/")
    assert response.status_code == 302
    assert not TrainingSession.objects.filter(program=training).exists()


def test_book_next_offers_three_slots_and_books_one_with_a_post(signed_in, front_desk, clinic_a, machines):
    program = bookable(clinic_a)
    client = signed_in(front_desk)
    url = f"/patients/{program.patient_id}/programs/{program.pk}/book-next/"

    offers = client.get(url).context["book_next"].offers
    assert len(offers) == 3
    assert all(o.start >= program.earliest_next_at for o in offers)
    first = offers[0]
    response = client.post(url, {"machine": first.machine.pk, "start": int(first.start.timestamp())})

    assert response.status_code == 302
    assert Appointment.objects.get(program=program).starts_at == first.start
    again = client.get(url).context["book_next"]
    assert again.ahead is not None
    assert all(o.start > first.start for o in again.offers)


def test_book_next_of_another_clinics_patient_is_404(signed_in, clinician_b, clinic_a, machines):
    program = bookable(clinic_a)
    url = f"/patients/{program.patient_id}/programs/{program.pk}/book-next/"
    assert signed_in(clinician_b).get(url).status_code == 404
    assert signed_in(clinician_b).post(url, {"machine": machines[0].pk, "start": 1}).status_code == 404


# --- The chart and the board ---------------------------------------------------------------------


def test_the_chart_lists_appointments_and_counts_no_shows_and_late_cancellations(
    signed_in, clinician_a, clinic_a, machines
):
    program = bookable(clinic_a)
    now = timezone.now()
    upcoming = appointment(program, machines[0], at(MONDAY, 10))
    appointment(program, machines[0], now - timedelta(days=3), state=AppointmentState.NO_SHOW)
    appointment(program, machines[0], now - timedelta(days=5), state="cancelled", cancelled_late=True)
    appointment(program, machines[0], now - timedelta(days=7), state="completed")

    response = signed_in(clinician_a).get(f"/patients/{program.patient_id}/")

    attendance = response.context["attendance"]
    assert attendance.upcoming == [upcoming]
    assert len(attendance.past) == 3
    counts = (attendance.completed, attendance.no_shows, attendance.cancelled, attendance.late_cancellations)
    assert counts == (1, 1, 1, 1)
    html = response.content.decode()
    assert "late cancellation" in html
    assert "No-shows" in html
    assert f"/patients/{program.patient_id}/programs/{program.pk}/book-next/" in html
    assert response.context["programs"][0][2] == upcoming


def test_the_board_shows_todays_appointments_late_arrivals_no_shows_and_who_is_due_unbooked(
    signed_in, front_desk, clinic_a, machines
):
    now = timezone.now()
    late = appointment(bookable(clinic_a, family_name="Late"), machines[0], now - timedelta(minutes=10))
    gone = appointment(
        bookable(clinic_a, family_name="Gone"), machines[1], now - timedelta(minutes=50), state="no_show"
    )
    due_booked = bookable(clinic_a, family_name="Booked", due=now - timedelta(hours=1))
    appointment(due_booked, machines[0], now + timedelta(days=1))
    due_unbooked = bookable(clinic_a, family_name="Unbooked", due=now - timedelta(hours=1))
    in_b = bookable(factories.ClinicFactory(organization=clinic_a.organization), due=now - timedelta(hours=1))
    assert in_b.pk

    sections = {s.key: s for s in signed_in(front_desk).get("/board/").context["sections"]}

    def names(key):
        return [row.patient.family_name for row in sections[key].rows]

    today = {late.patient.family_name, gone.patient.family_name}
    assert today <= set(names("appointments"))
    assert sections["appointments"].count >= 2
    assert "Late" in names("late")
    assert "Gone" not in names("late")
    assert names("no_shows") == ["Gone"]
    assert "Unbooked" in names("unbooked")
    assert "Booked" not in names("unbooked")
    assert due_unbooked.pk


def test_the_board_with_appointments_reads_with_the_same_number_of_queries(signed_in, front_desk, clinic_a, machines):
    client = signed_in(front_desk)
    now = timezone.now()

    def add(numbers):
        for n in numbers:
            program = bookable(clinic_a, due=now - timedelta(hours=1))
            appointment(program, machines[n % 2], now - timedelta(days=n + 1))  # booked, past: not live ahead
            appointment(bookable(clinic_a), machines[n % 2], now - timedelta(minutes=5 + 31 * n))

    add(range(1))
    small = page_queries(client, "/board/")
    add(range(1, 7))
    assert page_queries(client, "/board/") == small
