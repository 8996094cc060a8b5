"""Due times as a clinician reads them: the clinic's local day, the exact time on hover (DOMAIN.md,
"Scheduling"); the earliest next session as day and hour; bands as words (bed-bound)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from apps.clinics.localtime import localise
from apps.clinics.models import Clinic
from apps.programs.models import Program
from apps.web.templatetags.web import band, due_day, from_time
from tests import factories
from tests.web.conftest import chart_url, record_session

LA = ZoneInfo("America/Los_Angeles")
MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
TIME_ELEMENT = re.compile(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>')


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def visible(html: str) -> str:
    """The text a person reads: tags (and so their title attributes) removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def local_at(day, hour: int, minute: int, zone: ZoneInfo = LA) -> datetime:
    return localise(datetime.combine(day, time(hour, minute)), zone)


def day_label(moment: datetime, zone: ZoneInfo = LA) -> str:
    return f"{moment.astimezone(zone):%a %-d %b}"


# --- The filters ---------------------------------------------------------------------------------


def test_a_due_time_at_0130_shows_its_day_and_the_exact_time_only_on_hover():
    shown = due_day(utc("2026-12-06T00:30"), "Europe/Madrid")
    assert shown == (
        '<time datetime="2026-12-06T01:30:00+01:00" title="Sun 6 Dec 2026, 01:30 Europe/Madrid (CET)">Sun 6 Dec</time>'
    )
    assert visible(shown) == "Sun 6 Dec"


@pytest.mark.parametrize(
    ("instant", "zone", "day", "exact"),
    [
        # 23:30 UTC is already the next day in Madrid, on either side of the change to summer time.
        ("2026-12-05T23:30", "Europe/Madrid", "Sun 6 Dec", "Sun 6 Dec 2026, 00:30 Europe/Madrid (CET)"),
        ("2026-03-28T22:30", "Europe/Madrid", "Sat 28 Mar", "Sat 28 Mar 2026, 23:30 Europe/Madrid (CET)"),
        ("2026-03-29T22:30", "Europe/Madrid", "Mon 30 Mar", "Mon 30 Mar 2026, 00:30 Europe/Madrid (CEST)"),
        ("2026-10-24T22:30", "Europe/Madrid", "Sun 25 Oct", "Sun 25 Oct 2026, 00:30 Europe/Madrid (CEST)"),
        # In New York 04:30 UTC is still the day before, until summer time starts.
        ("2026-03-08T04:30", "America/New_York", "Sat 7 Mar", "Sat 7 Mar 2026, 23:30 America/New_York (EST)"),
        ("2026-03-09T04:30", "America/New_York", "Mon 9 Mar", "Mon 9 Mar 2026, 00:30 America/New_York (EDT)"),
        ("2026-11-01T03:30", "America/New_York", "Sat 31 Oct", "Sat 31 Oct 2026, 23:30 America/New_York (EDT)"),
        # The two 01:30 of the fold are one day, told apart on hover.
        ("2026-11-01T05:30", "America/New_York", "Sun 1 Nov", "Sun 1 Nov 2026, 01:30 America/New_York (EDT)"),
        ("2026-11-01T06:30", "America/New_York", "Sun 1 Nov", "Sun 1 Nov 2026, 01:30 America/New_York (EST)"),
    ],
)
def test_the_day_shown_is_the_clinics_local_day_across_dst(instant, zone, day, exact):
    (iso, title, shown) = TIME_ELEMENT.fullmatch(due_day(utc(instant), zone)).groups()
    assert (shown, title) == (day, exact)
    assert datetime.fromisoformat(iso) == utc(instant)  # the attribute is the exact instant


def test_one_instant_is_a_different_day_in_madrid_and_in_new_york():
    instant = utc("2026-12-05T23:30")
    assert visible(due_day(instant, "Europe/Madrid")) == "Sun 6 Dec"
    assert visible(due_day(instant, "America/New_York")) == "Sat 5 Dec"


def test_the_earliest_next_session_keeps_its_hour():
    shown = from_time(utc("2026-12-10T09:00"), "Europe/Madrid")
    assert visible(shown) == "Thu 10:00"
    assert 'title="Thu 10 Dec 2026, 10:00 Europe/Madrid (CET)"' in shown


def test_the_zone_is_the_clinics_given_or_else_the_pages():
    instant = utc("2026-12-05T23:30")
    assert visible(due_day(instant, Clinic(timezone="Europe/Madrid"))) == "Sun 6 Dec"
    with timezone.override(NEW_YORK):
        assert visible(due_day(instant)) == "Sat 5 Dec"
        rendered = Template("{% load web %}due {{ when|due_day }}, from {{ when|from_time }}").render(
            Context({"when": instant})
        )
    assert visible(rendered) == "due Sat 5 Dec, from Sat 18:30"


def test_no_time_is_a_dash():
    assert due_day(None) == from_time(None) == "—"


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sampled_from([LA, MADRID, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kathmandu")]),
)
def test_the_day_shown_is_always_the_local_date_and_never_an_hour(instant, zone):
    (_, title, shown) = TIME_ELEMENT.fullmatch(due_day(instant, zone)).groups()
    local = instant.astimezone(zone)
    assert shown == f"{local:%a %-d %b}"
    assert ":" not in shown
    assert f"{local:%H:%M}" in title


@pytest.mark.parametrize(("code", "shown"), [("bed_bound", "bed-bound"), ("moderate", "moderate"), ("", "—")])
def test_a_band_is_shown_as_words(code, shown):
    assert band(code) == shown


# --- The pages -----------------------------------------------------------------------------------


def details(html: str) -> list[str]:
    return [visible(span) for span in re.findall(r'<span class="detail">(.*?)</span>', html, re.S)]


@pytest.mark.django_db
def test_the_board_shows_the_due_day_not_the_hour(signed_in, clinician_a, clinic_a):
    today = timezone.now().astimezone(LA).date()
    night = local_at(today, 1, 30)
    program = factories.ProgramFactory(
        patient=factories.PatientFactory(clinic=clinic_a),
        status="active",
        started_at=timezone.now() - timedelta(days=30),
        last_completed_at=night - timedelta(days=3, hours=12),
        next_due_at=night,
        overdue_at=timezone.now() + timedelta(days=3),
        lapse_at=timezone.now() + timedelta(days=10),
        questionnaire_due_at=night,
    )

    html = signed_in(clinician_a).get("/board/").content.decode()

    shown = [line for line in details(html) if "due" in line]
    day = day_label(night)
    assert shown == [
        f"Lumbar (low back): session {program.completed_sessions + 1} · due {day}",
        f"Lumbar (low back): no appointment booked · due {day}",
        f"Lumbar (low back) · due {day}",
    ]
    assert not any("01:30" in line for line in shown)
    assert html.count(f"{night.astimezone(LA):%a %-d %b %Y}, 01:30 America/Los_Angeles") == 3  # on hover


@pytest.mark.django_db
def test_the_board_shows_the_clinics_day_not_the_utc_day(signed_in, clinician_a, clinic_a):
    today = timezone.now().astimezone(LA).date()
    late = local_at(today, 23, 30)  # 06:30 or 07:30 UTC on the next day
    factories.ProgramFactory(
        patient=factories.PatientFactory(clinic=clinic_a),
        status="active",
        next_due_at=late,
        overdue_at=timezone.now() + timedelta(days=3),
        lapse_at=timezone.now() + timedelta(days=10),
    )

    html = signed_in(clinician_a).get("/board/").content.decode()

    assert late.astimezone(UTC).date() != today
    assert any(line.endswith(f"due {day_label(late)}") for line in details(html))


def a_sunday_night(training: Program) -> tuple[datetime, datetime]:
    """Set the program due on Sunday 6 Dec 2026 at 01:30 and open from Thursday 10 Dec at 10:00 (LA)."""
    due, earliest = datetime(2026, 12, 6, 1, 30, tzinfo=LA), datetime(2026, 12, 10, 10, 0, tzinfo=LA)
    Program.objects.filter(pk=training.pk).update(next_due_at=due, earliest_next_at=earliest)
    return due, earliest


@pytest.mark.django_db
def test_the_chart_shows_the_due_day_and_the_earliest_next_with_its_hour(signed_in, clinician_a, patient_a, training):
    a_sunday_night(training)

    html = signed_in(clinician_a).get(chart_url(patient_a)).content.decode()

    programs = html.split('id="programs"')[1].split("</section>")[0]
    facts = {term: visible(value) for term, value in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", programs)}
    assert facts["Next due"] == "Sun 6 Dec"
    assert facts["Earliest next"] == "from Thu 10:00 (48 h rest)"
    assert "01:30" not in visible(programs)
    assert 'title="Sun 6 Dec 2026, 01:30 America/Los_Angeles (PST)"' in html


@pytest.mark.django_db
def test_the_patient_list_shows_the_next_due_day(signed_in, clinician_a, training):
    a_sunday_night(training)

    html = signed_in(clinician_a).get("/patients/").content.decode()

    (row,) = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html, re.S)
    assert visible(row).strip().endswith("Sun 6 Dec")
    assert "01:30" not in visible(row)
    assert 'title="Sun 6 Dec 2026, 01:30 America/Los_Angeles (PST)"' in row


@pytest.mark.django_db
def test_the_session_page_says_from_when_the_next_session_may_start(signed_in, clinician_a, training, machine_a):
    record_session(training, machine_a, clinician_a, at=timezone.now() - timedelta(hours=20))
    training.refresh_from_db()

    html = signed_in(clinician_a).get(f"/patients/{training.patient_id}/programs/{training.pk}/sessions/new/")

    warning = visible(html.content.decode().split('id="early-warning"')[1].split("</p>")[0])
    assert f"may start from {training.earliest_next_at.astimezone(LA):%a %H:%M}." in warning


# --- Bands ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_chart_questionnaire_table_says_bed_bound(signed_in, clinician_a, patient_a):
    factories.QuestionnaireResponseFactory(patient=patient_a, answers=[5] * 10)  # ODI 100 %

    html = signed_in(clinician_a).get(chart_url(patient_a)).content.decode()

    table = visible(html.split('id="questionnaires"')[1].split("</section>")[0])
    assert "bed-bound" in table
    assert "bed_bound" not in html
    assert "bed bound" not in html


@pytest.mark.django_db
def test_the_message_after_an_odi_says_bed_bound(signed_in, clinician_a, patient_a):
    url = f"/patients/{patient_a.pk}/questionnaires/new/?instrument=odi"
    data = {"completed_at": f"{timezone.now().astimezone(LA):%Y-%m-%dT%H:%M}"}
    data |= {f"section_{number}": "5" for number in range(1, 11)}

    response = signed_in(clinician_a).post(url, data, follow=True)

    assert "Oswestry Disability Index recorded: 100.0 (bed-bound)." in response.content.decode()


@pytest.mark.django_db
def test_the_live_score_rule_names_bands_as_words(signed_in, clinician_a, patient_a):
    client = signed_in(clinician_a)
    odi = client.get(f"/patients/{patient_a.pk}/questionnaires/new/?instrument=odi").context["rule"]
    ndi = client.get(f"/patients/{patient_a.pk}/questionnaires/new/?instrument=ndi").context["rule"]
    assert (odi["topBand"], ndi["topBand"]) == ("bed-bound", "complete")
    assert [name for _, name in ndi["bands"]] == ["none", "mild", "moderate", "severe"]
