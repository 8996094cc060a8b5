"""Appointments in Debian's Chromium (Playwright), against pytest-django's live server: the week view at
laptop and tablet width, booking a free slot, check-in and a no-show, with zero console errors.

The pages run on the real clock, so the clinic is put in a fixed-offset zone where it is about
midday now, open every day 08:00-18:00: the slot after this one is free, bookable and opens for
check-in, and the current one has started. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.clinics.localtime import localise
from apps.clinics.models import Clinic
from apps.programs.models import ProgramStatus
from apps.scheduling.models import Appointment, AppointmentState
from tests import factories
from tests.web import test_browser
from tests.web.test_browser import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# The browser and the page of tests/web/test_browser.py (Debian's Chromium; console errors fail the test).
chromium = test_browser.chromium
ui = test_browser.ui
SLOT = timedelta(minutes=30)


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone in which `now` is between 11:00 and 13:00 (Etc/GMT-N is N hours east)."""
    offset = 12 - now.hour
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def slot_start(moment: datetime) -> datetime:
    """The start of the 30-minute slot holding `moment` (whole-hour zones: slots start on :00 and :30 UTC)."""
    return moment.replace(minute=moment.minute - moment.minute % 30, second=0, microsecond=0)


@pytest.fixture
def clinic_at_midday(transactional_db, clinic_a, patient_a):
    now = timezone.now()
    Clinic.objects.filter(pk=clinic_a.pk).update(timezone=midday_zone(now))
    clinic_a.refresh_from_db()
    calendar = factories.ClinicCalendarFactory(clinic=clinic_a)
    for weekday in range(7):
        factories.OpeningHoursFactory(calendar=calendar, weekday=weekday, opens_at=time(8), closes_at=time(18))
    machines = [factories.MachineFactory(clinic=clinic_a, name=f"Lumbar {n}") for n in (1, 2)]
    baker = factories.PatientFactory(clinic=clinic_a, family_name="Baker", given_name="Bea")
    programs = [
        factories.ProgramFactory(
            patient=patient,
            status=ProgramStatus.ACTIVE,
            started_at=now - timedelta(days=10),
            earliest_next_at=now - timedelta(days=1),
            next_due_at=now,
        )
        for patient in (patient_a, baker)
    ]
    started = slot_start(now)
    late = Appointment.objects.create(
        patient=baker,
        program=programs[1],
        clinic=clinic_a,
        machine=machines[1],
        starts_at=started,
        ends_at=started + SLOT,
        booked_via="staff",
    )
    for days, machine, hour in ((1, 0, 9), (2, 1, 11), (3, 0, 15)):  # later in the week, for the picture
        later = localise(
            datetime.combine(started.astimezone(clinic_a.tzinfo).date() + timedelta(days=days), time(hour)),
            clinic_a.tzinfo,
        )
        Appointment.objects.create(
            patient=baker,
            program=programs[1],
            clinic=clinic_a,
            machine=machines[machine],
            starts_at=later,
            ends_at=later + SLOT,
            booked_via="staff",
        )
    return clinic_a, machines, late


@pytest.fixture
def front_desk(clinic_a):
    return factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")


def local_label(moment: datetime, clinic: Clinic) -> str:
    return moment.astimezone(clinic.tzinfo).strftime("%H:%M")


def page_fits(page: Page) -> bool:
    """The page itself never scrolls sideways: a wide grid scrolls inside its own frame."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_week_at_two_widths_then_booking_check_in_and_a_no_show(ui, clinic_at_midday, front_desk, patient_a):
    page = ui
    clinic, machines, late = clinic_at_midday
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "desk_a")
    expect(page.locator("#late")).to_contain_text("Baker, Bea")  # booked, started, not checked in

    page.get_by_role("link", name="This week").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Clinic A: week of "))).to_be_visible()
    grid = page.locator("table.week-grid")
    expect(grid.locator("thead th.machine")).to_have_count(14)  # 7 open days, 2 machines each
    expect(grid.locator(f"#a-{late.pk}")).to_contain_text("Baker, B.")
    assert page_fits(page)
    page.screenshot(path=ARTIFACTS / "appointments-week-1366.png", full_page=True)

    page.set_viewport_size({"width": 820, "height": 1180})
    page.reload()
    expect(grid.locator(f"#a-{late.pk}")).to_be_visible()
    assert page_fits(page)
    assert page.evaluate(
        "() => { const f = document.querySelector('.schedule-wrap'); return f.scrollWidth > f.clientWidth; }"
    )
    page.screenshot(path=ARTIFACTS / "appointments-week-820.png", full_page=True)

    # Book the next slot of Lumbar 1 from the week, for Ana Alvarez.
    page.set_viewport_size({"width": 1366, "height": 900})
    next_slot = slot_start(timezone.now()) + SLOT
    local = next_slot.astimezone(clinic.tzinfo)
    page.get_by_role("link", name=f"Book Lumbar 1, {local:%a %-d %b} at {local:%H:%M}").click()
    expect(page.get_by_role("heading", name="Book a slot: choose the patient's program")).to_be_visible()
    page.get_by_label("Search by name, MRN or date of birth (YYYY-MM-DD)").fill("Alvarez")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Alvarez, Ana").click()
    expect(page.get_by_role("heading", name="Book Alvarez, Ana")).to_be_visible()
    page.get_by_role("button", name="Book this slot").click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked: Alvarez, Ana on Lumbar 1, {local:%a %-d %b %H:%M}.")
    booked = Appointment.objects.get(patient=patient_a)
    assert (booked.machine, booked.starts_at.astimezone(UTC)) == (machines[0], next_slot)

    # Check her in (it opens an hour before the start), then Bea Baker did not come.
    cell = page.locator(f"#a-{booked.pk}")
    cell.get_by_role("button", name="Check in").click()
    expect(page.get_by_role("status")).to_contain_text("Alvarez, Ana: checked in.")
    expect(page.locator(f"#a-{booked.pk}")).to_contain_text("Checked in")
    expect(page.locator(f"#a-{booked.pk}").get_by_role("link", name="Record session")).to_be_visible()

    page.locator(f"#a-{late.pk}").get_by_role("button", name="No-show").click()
    expect(page.get_by_role("status")).to_contain_text("Baker, Bea: marked as a no-show.")
    expect(page.locator("#others")).to_contain_text("Baker, Bea")
    expect(page.locator(f"#others #a-{late.pk}")).to_contain_text("No-show")
    page.screenshot(path=ARTIFACTS / "appointments-day.png", full_page=True)
    late.refresh_from_db()
    booked.refresh_from_db()
    assert (booked.state, late.state) == (AppointmentState.CHECKED_IN, AppointmentState.NO_SHOW)

    page.get_by_role("link", name="Today", exact=True).click()
    expect(page.locator("#no_shows")).to_contain_text("Baker, Bea")
    expect(page.locator("#appointments")).to_contain_text("Lumbar 1 · Checked in")
