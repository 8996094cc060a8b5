"""The outcomes report in Debian's Chromium (Playwright), against pytest-django's live server: all five
charts draw their data at laptop (1366 px) and tablet (820 px) width under the site's strict CSP, with
zero console errors. Full-page screenshots land in test-artifacts/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.outcomes import rules
from tests import factories
from tests.outcomes.fixtures import fact
from tests.web import test_browser
from tests.web.outcome_facts import varied_facts
from tests.web.test_browser import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# The browser and the page of tests/web/test_browser.py (Debian's Chromium; console errors fail the test).
chromium = test_browser.chromium
ui = test_browser.ui
CHARTS = ["curve", "clinics", "scatter", "adherence", "dropout"]
DRAWN = """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
    const chart = Chart.getChart(canvas);
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked += 1;
    return {
        kind: canvas.dataset.chart,
        chart: Boolean(chart),
        width: canvas.getBoundingClientRect().width,
        inked,
        points: chart ? chart.data.datasets.map((d) => d.data.filter((v) => v !== null).length) : [],
    };
})"""


@pytest.fixture
def reported(transactional_db, physician_a, clinic_a, clinic_b):
    """A physician of clinics A and B; 40 lumbar and 10 cervical programs at A, 14 at B."""
    factories.MembershipFactory(user=physician_a, clinic=clinic_b, role="physician")
    varied_facts(clinic_a, 40)
    varied_facts(clinic_b, 14, offset=40)
    for index in range(10):
        fact(
            clinic_a,
            region="cervical",
            prom_instrument="ndi",
            strength_change_pct=Decimal(index * 4 - 5),
            prom_change=Decimal(index % 7),
            prom_important=index % 7 >= 4,
            outcome_status=rules.COMPLETED,
        )
    return physician_a


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (820, 1180)])
def test_the_report_draws_every_chart_with_data(ui, reported, width, height):
    page = ui
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "physician_a", lands_on=r"/(board|clinics)/")
    page.get_by_role("link", name="Outcomes").click()
    expect(page.get_by_role("heading", name="Outcomes", exact=True)).to_be_visible()
    expect(page.locator(".outcome-tile").first).to_contain_text("n = 64")

    drawn = page.evaluate(DRAWN)

    assert [chart["kind"] for chart in drawn] == CHARTS
    assert all(chart["chart"] and chart["width"] > 200 and chart["inked"] > 1000 for chart in drawn), drawn
    points = {chart["kind"]: chart["points"] for chart in drawn}
    assert points["curve"] == [3, 3, 3]  # median, upper and lower quartile at each of the three bins
    assert points["clinics"] == [2]
    assert points["scatter"] == [54, 10]  # the ODI dots of the lumbar programs, the NDI of the cervical
    assert points["adherence"] == [3, 3]
    assert points["dropout"] == [7]  # weeks 2 to 8 (none dropped out in weeks 5 and 7)
    no_page_scroll = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert no_page_scroll, "the page scrolls sideways"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"outcomes-report-{width}.png", full_page=True)


def test_a_filter_narrows_the_charts_to_one_clinic(ui, reported, clinic_b):
    page = ui
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "physician_a", lands_on=r"/(board|clinics)/")
    page.goto("/outcomes/")
    page.get_by_label("Clinic", exact=True).select_option(label="Clinic B")
    page.get_by_role("button", name="Show the figures").click()
    expect(page.locator(".outcome-tile").first).to_contain_text("n = 14")
    expect(page.get_by_role("link", name="Download figures (CSV)")).to_have_attribute(
        "href", f"/outcomes/report.csv?clinic={clinic_b.pk}"
    )
    assert page.evaluate("() => Chart.getChart(document.querySelector('[data-chart=clinics]')).data.labels") == [
        "Clinic B"
    ]
