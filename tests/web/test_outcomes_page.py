"""The outcomes report page: its figures, who may read it, bad filters, small groups, audit, queries."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import Action, Event
from apps.outcomes import stats
from tests import factories
from tests.outcomes.fixtures import fact
from tests.web.outcome_facts import varied_facts

pytestmark = pytest.mark.django_db
URL = reverse("web:outcomes")
D = Decimal


def page(response) -> str:
    return response.content.decode()


def chart_data(response) -> dict:
    found = re.search(r'<script id="outcomes-data" type="application/json">(.*?)</script>', page(response), re.S)
    assert found, "the page holds no chart data"
    return json.loads(found.group(1))


def row(response, table_id: str, label: str) -> str:
    """The text of one row of a table of the page, by its heading cell."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page(response), re.S).group(0)
    found = re.search(rf'<tr>\s*<th scope="row">{re.escape(label)}</th>(.*?)</tr>', table, re.S)
    assert found, f"no row {label!r} in #{table_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


@pytest.fixture
def twelve(clinic_a):
    """Twelve programs at clinic A, strength changes 0..11 %, 7 responders (the ODI gain of 5 of them is not)."""
    return [
        fact(clinic_a, strength_change_pct=D(index), prom_change=D(index), prom_important=index >= 5)
        for index in range(12)
    ]


def test_a_physician_sees_the_headline_figures_with_their_n(signed_in, physician_a, twelve):
    response = signed_in(physician_a).get(URL)

    assert response.status_code == 200
    text = page(response)
    tiles = {tile.title: tile.figure for tile in response.context["tiles"]}
    strength = tiles["Strength-index change"]
    # Type 7 quartiles of 0..11: positions 2.75, 5.5 and 8.25.
    assert (strength.value, strength.spread, strength.n) == ("5.5 %", "IQR 2.8\N{EN DASH}8.3", "n = 12")
    responders = tiles["Responders (ODI/NDI clinically important gain)"]
    assert (responders.value, responders.n) == ("58.3 %", "n = 12")  # 7 of 12
    # Wilson, z = 1.96: centre (7/12 + z²/24) / (1 + z²/12) = 0.5631, half-width 0.2436.
    assert responders.spread == "95 % CI 32.0\N{EN DASH}80.7"
    assert "5.5 %" in text
    assert "IQR 2.8\N{EN DASH}8.3" in text
    assert "58.3 %" in text
    assert "Clinic A · n = 12" in text
    assert tiles["NDI change (points, positive is better)"].too_few  # no cervical program


def test_the_page_links_to_both_exports_with_its_filters(signed_in, physician_a, twelve, clinic_a):
    response = signed_in(physician_a).get(URL, {"region": "lumbar", "sex": "", "clinic": clinic_a.pk})

    text = page(response)
    query = f"clinic={clinic_a.pk}&amp;region=lumbar"
    assert f'href="{reverse("web:outcomes-export-report")}?{query}"' in text
    assert f'href="{reverse("web:outcomes-export-rows")}?{query}"' in text


def test_the_chart_data_holds_every_chart_and_no_id_or_name(signed_in, physician_a, clinic_a):
    rows = varied_facts(clinic_a, 30)

    response = signed_in(physician_a).get(URL)

    data = chart_data(response)
    assert [bin["label"] for bin in data["curve"]] == ["4-7", "12-15", "20-23"]
    assert all(bin["n"] == 30 for bin in data["curve"])
    assert [group["label"] for group in data["clinics"]] == ["Clinic A"]
    assert data["clinics"][0]["responders"]["n"] == 30
    assert [group["responders"]["n"] for group in data["adherence"]] == [10, 10, 10]
    assert len(data["scatter"]) == 30
    assert {point[2] for point in data["scatter"]} == {"ODI"}
    # 2, 3, 3, 1 and 1 of the 30 in weeks 2, 3, 4, 6 and 8; the weeks between at 0.
    assert data["dropout"] == [[2, 6.7], [3, 10.0], [4, 10.0], [5, 0.0], [6, 3.3], [7, 0.0], [8, 3.3]]
    assert row(response, "dropout-table", "5") == "0.0 % n = 30"
    raw = json.dumps(data)
    for fact_row in rows:
        assert str(fact_row.program_id) not in raw
        assert fact_row.patient.family_name not in raw


def test_a_group_under_ten_shows_too_few_and_never_a_rate(signed_in, physician_a, clinic_a):
    paces = [D("0.5")] * 4 + [D("1.5")] * 6 + [D("2.5")] * 12  # bands of 4 and 6: hidden together
    for index, pace in enumerate(paces):
        fact(clinic_a, sessions_per_week_done=pace, strength_change_pct=D(index), prom_important=index % 2 == 0)

    response = signed_in(physician_a).get(URL)

    for band in ("under 1 a week", "1-2 a week"):
        cells = row(response, "adherence-table", band)
        assert cells == "too few too few fewer than 10 programs"
        assert "%" not in cells
    assert "%" in row(response, "adherence-table", "2 or more a week")
    shown = chart_data(response)["adherence"]
    assert [group["responders"]["rate"] is None for group in shown] == [True, True, False]
    assert [group["responders"]["n"] for group in shown] == [None, None, 12]  # no exact n of a small group


def test_fewer_than_ten_programs_show_no_figure_at_all(signed_in, physician_a, clinic_a):
    for index in range(9):
        fact(clinic_a, strength_change_pct=D(index), prom_important=True)

    response = signed_in(physician_a).get(URL)

    assert response.status_code == 200
    assert all(tile.figure.too_few for tile in response.context["tiles"])
    text = page(response)
    assert "fewer than 10 programs" in text
    assert "too few" in text
    assert 'id="outcomes-data"' not in text
    assert "n = 9" not in text
    assert "88.9" not in text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-02-30"}, "since"),
        ({"since": "2026-05-01", "until": "2026-04-01"}, "until"),
        ({"status": "cured"}, "status"),
        ({"age_band": "12-13"}, "age_band"),
    ],
)
def test_bad_filters_show_their_errors_and_no_figures(signed_in, physician_a, twelve, query, field):
    response = signed_in(physician_a).get(URL, query)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    text = page(response)
    assert "These filters cannot be applied" in text
    assert "report" not in response.context
    assert 'id="outcomes-data"' not in text
    assert not Event.objects.filter(object_type="outcomes.report").exists()


def test_a_clinic_that_is_not_the_readers_is_404(signed_in, physician_a, twelve, clinic_b, clinic_c):
    client = signed_in(physician_a)
    for clinic in (clinic_b, clinic_c):  # of the same organization, and of another one
        fact(clinic)
        assert client.get(URL, {"clinic": clinic.pk}).status_code == 404
    assert client.get(URL, {"clinic": "99999"}).status_code == 404
    assert client.get(URL, {"clinic": "x"}).status_code == 404


@pytest.mark.parametrize("role", ["front_desk", "physical_therapist", "exercise_physiologist"])
def test_staff_who_may_not_read_outcomes_get_404_and_no_link(signed_in, clinic_a, twelve, role):
    user = factories.StaffFactory(clinic=clinic_a, role=role)
    client = signed_in(user)

    assert client.get(URL).status_code == 404
    assert f'href="{URL}"' not in page(client.get(reverse("web:patients")))


def test_readers_find_the_report_in_the_main_nav(signed_in, physician_a):
    text = page(signed_in(physician_a).get(reverse("web:patients")))
    assert f'<a href="{URL}">Outcomes</a>' in text


def test_the_report_needs_a_signed_in_user(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_each_read_is_audited_once_per_clinic_covered(signed_in, org_admin, clinic_a, clinic_b):
    varied_facts(clinic_a, 12)
    varied_facts(clinic_b, 12, offset=12)

    response = signed_in(org_admin).get(URL, {"region": "lumbar"})

    assert response.status_code == 200
    events = Event.objects.filter(action=Action.READ, object_type="outcomes.report")
    assert sorted(events.values_list("clinic_id", flat=True)) == sorted([clinic_a.pk, clinic_b.pk])
    assert {(event.actor, event.object_id) for event in events} == {(org_admin, f"{URL}?region=lumbar")}
    assert [row.label for row in response.context["clinic_rows"]] == ["Clinic A", "Clinic B"]


def test_the_report_reads_with_the_same_number_of_queries_at_12_and_40_programs(signed_in, physician_a, clinic_a):
    client = signed_in(physician_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    varied_facts(clinic_a, 12)
    twelve = count()
    varied_facts(clinic_a, 28, offset=12)
    assert count() == twelve
    assert stats.MIN_GROUP == 10


def test_a_network_counted_ahead_says_when_it_was_counted(settings, signed_in, org_admin, twelve, clinic_a):
    from django.utils import timezone

    from apps.outcomes import rollups

    settings.OUTCOMES_ROLLUP_MIN_PROGRAMS = 10
    assert "Counted at" not in page(signed_in(org_admin).get(URL))  # no rollup yet: counted live

    rollups.refresh_all(now=timezone.now())
    fact(clinic_a, strength_change_pct=D(99))  # after the count: in the next one
    response = signed_in(org_admin).get(URL)

    assert "Counted at" in page(response)
    assert response.context["programs"] == 12
    assert response.context["counted_at"].endswith(("PST", "PDT"))  # clinic A's clock
    api = signed_in(org_admin).get(reverse("api:outcome-report"))
    assert api.json()["counted_at"] is not None
    assert signed_in(org_admin).get(URL, {"status": "completed"}).context["programs"] == 13  # narrowed: live
