"""The progress report in Chromium: issued from the chart's link, shown under the site's CSP with no
console error, and printable (the print stylesheet hides the page's chrome). Screenshot in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.outcomes.models import ProgressReport
from tests.web.test_browser import ARTIFACTS, chromium, demo_like_patient, sign_in, ui  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_physician_issues_a_report_from_the_chart_and_prints_it(ui, demo_like_patient, physician_a):  # noqa: F811
    page = ui
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "physician_a")
    page.goto(f"/patients/{demo_like_patient.patient_id}/")
    page.get_by_role("link", name="Progress reports").first.click()
    page.get_by_role("link", name="Issue a report").click()
    expect(page.get_by_role("heading", name="Isometric strength")).to_be_visible()
    page.get_by_label("Note to the referring physician").fill("Stronger, less pain: continue twice a week.")
    page.get_by_role("button", name="Sign and issue").click()

    expect(page.get_by_role("status")).to_contain_text("Progress report signed.")
    expect(page.locator(".signature-line")).to_contain_text("Physician")
    page.screenshot(path=ARTIFACTS / "progress-report-page.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("link", name="Download PDF")).to_be_hidden()
    assert ProgressReport.objects.count() == 1
