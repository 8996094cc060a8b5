"""The staff UI in Debian's Chromium (Playwright), against pytest-django's live server.

The page's CSP is enforced by the browser here, so charts that draw and forms that react prove
the UI needs no inline script. Screenshots of the board and the chart land in test-artifacts/.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from apps.assessments.services import questionnaire_record
from apps.programs import services
from tests import factories
from tests.auth import totp_code
from tests.factories import PASSWORD
from tests.web.conftest import record_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium():
    # pytest-playwright's own fixtures expect `playwright install` browsers; we drive Debian's.
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `bash scripts/browser.sh` (`make test` does).")
    # Playwright's sync API keeps an event loop on this thread for as long as it runs; the ORM calls
    # made between page actions (and the database flush after each test) are still synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def ui(chromium, live_server):
    """A fresh browser context on the live server; fails the test on any console error."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1180, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda message: message.type == "error" and tab.problems.append(message.text))
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    yield tab
    context.close()
    assert tab.problems == [], "the browser reported errors (a CSP violation shows here too)"


@pytest.fixture
def demo_like_patient(transactional_db, clinician_a, clinic_a, patient_a):
    """Like a seeded demo patient: tests, questionnaires and three weeks of sessions through the services."""
    machine = factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")
    now = timezone.now()
    factories.StrengthTestFactory(
        patient=patient_a, machine=machine, performed_at=now - timedelta(days=24), is_familiarization=True
    )
    baseline = factories.StrengthTestFactory(patient=patient_a, machine=machine, performed_at=now - timedelta(days=21))
    for days, odi, pain in ((21, 3, 6), (7, 2, 4)):
        at = now - timedelta(days=days, minutes=30)
        questionnaire_record(
            actor=clinician_a, patient=patient_a, instrument="odi", answers=[odi] * 10, completed_at=at
        )
        questionnaire_record(actor=clinician_a, patient=patient_a, instrument="pain_nrs", answers=pain, completed_at=at)
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)
    services.program_start(actor=clinician_a, program=program, now=now - timedelta(days=21))
    for days in (20, 17, 14, 11, 8, 4):  # the next session fell due half a day ago
        record_session(program, machine, clinician_a, at=now - timedelta(days=days), reps=13)
    stronger = tuple((angle, torque + 25) for angle, torque in factories.DEFAULT_CURVES["lumbar_extension"])
    factories.StrengthTestFactory(
        patient=patient_a, machine=machine, performed_at=now - timedelta(days=2), curve=stronger
    )
    program.refresh_from_db()
    return program


def sign_in(page: Page, username: str, *, lands_on: str = r"/board/$") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(lands_on))


def chart_points(page: Page, kind: str) -> list[dict]:
    """Each dataset of the first chart of `kind`, read back from Chart.js itself."""
    return page.evaluate(
        """(kind) => {
            const chart = Chart.getChart(document.querySelector(`canvas[data-chart="${kind}"]`));
            return chart.data.datasets.map((d) => ({label: d.label, points: d.data.map((p) => [p.x, p.y])}));
        }""",
        kind,
    )


def test_a_trainer_finds_a_patient_records_a_session_at_the_proposal_and_sees_it_on_the_chart(
    ui, demo_like_patient, clinician_a
):
    page = ui
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "clinician_a")
    expect(page.get_by_role("heading", name="Today at Clinic A")).to_be_visible()
    expect(page.locator("#due")).to_contain_text("Alvarez, Ana")
    page.screenshot(path=ARTIFACTS / "board.png", full_page=True)

    page.get_by_role("link", name="Patients").click()
    page.get_by_label("Search by name, MRN or date of birth (YYYY-MM-DD)").fill("A-0001")  # htmx: no submit
    page.locator("#patient-results").get_by_role("link", name="Alvarez, Ana").click()
    expect(page.get_by_role("heading", name="Alvarez, Ana")).to_be_visible()
    before = chart_points(page, "load")

    page.get_by_role("link", name="Record lumbar (low back) session").click()
    proposed = page.locator("#proposal .load").inner_text()
    assert proposed == f"{demo_like_patient.proposed_load:.0f} ft·lbf"
    expect(page.get_by_label("Load (ft·lbf)")).to_have_value(f"{demo_like_patient.proposed_load:.0f}")
    page.get_by_label("Reps").fill("11")
    page.get_by_label("Time under load (s)").fill("95")
    page.get_by_label("Pain before (0-10)").fill("2")
    page.get_by_label("Pain after (0-10)").fill("3")
    page.get_by_role("button", name="Save session").click()

    expect(page.get_by_role("status")).to_contain_text("Session recorded.")
    expect(page.locator("#sessions tbody tr").first).to_contain_text(f"{demo_like_patient.proposed_load:.0f} ft·lbf")
    after = chart_points(page, "load")
    trained = next(d for d in after if d["label"].startswith("Trained"))
    was = next(d for d in before if d["label"].startswith("Trained"))
    assert len(trained["points"]) == len(was["points"]) + 1
    assert trained["points"][-1][1] == float(demo_like_patient.proposed_load)
    page.locator("#progress").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "chart.png", full_page=True)


def test_every_chart_draws_its_data_points_at_tablet_width(ui, demo_like_patient):
    page = ui
    page.set_viewport_size({"width": 820, "height": 1180})
    sign_in(page, "clinician_a")
    page.goto(f"/patients/{demo_like_patient.patient_id}/")
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(5)  # strength curve, strength index, ODI, NRS, load
    drawn = page.evaluate(
        """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
            const chart = Chart.getChart(canvas);
            const sets = chart.data.datasets.map((d) => d.data.length);
            return {kind: canvas.dataset.chart, width: canvas.width, sets};
        })"""
    )
    assert all(chart["width"] > 0 for chart in drawn)
    by_kind = {chart["kind"]: chart["sets"] for chart in drawn if chart["kind"] != "score"}
    assert by_kind["strength-curve"] == [7, 7]  # baseline and latest, every standard angle
    assert by_kind["strength-index"] == [3]  # familiarisation, baseline, retest
    curve = chart_points(page, "strength-curve")
    assert curve[1]["points"][0] == [0, 255]  # the retest, 25 N·m above the baseline at 0°
    scores = [chart["sets"] for chart in drawn if chart["kind"] == "score"]
    assert scores == [[2, 2], [2, 2]]  # two responses and the two ends of the threshold line
    page.screenshot(path=ARTIFACTS / "chart-tablet.png", full_page=True)


def test_the_odi_score_updates_live_and_matches_the_servers(ui, demo_like_patient):
    page = ui
    sign_in(page, "clinician_a")
    page.goto(f"/patients/{demo_like_patient.patient_id}/questionnaires/new/?instrument=odi")
    score = page.locator("#live-score")
    expect(score).to_contain_text("0 of 10 sections answered")
    for number, answer in enumerate([3, 2, 2, 1, 3, 2, 2, None, 1, 3], start=1):
        page.locator(f'input[name="section_{number}"][value="{"" if answer is None else answer}"]').check()
    expect(score).to_have_text("ODI 42.2 %: severe (9 of 10 sections)")  # 19 of 45 points
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Oswestry Disability Index recorded: 42.2 (severe)")


def test_the_live_odi_score_names_the_top_band_bed_bound(ui, demo_like_patient):
    page = ui
    sign_in(page, "clinician_a")
    page.goto(f"/patients/{demo_like_patient.patient_id}/questionnaires/new/?instrument=odi")
    for number in range(1, 11):
        page.locator(f'input[name="section_{number}"][value="5"]').check()
    expect(page.locator("#live-score")).to_have_text("ODI 100.0 %: bed-bound (10 of 10 sections)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Oswestry Disability Index recorded: 100.0 (bed-bound)")
    expect(page.locator("#questionnaires tbody tr", has_text="bed-bound")).to_have_count(1)


def test_the_board_and_chart_show_due_days_with_the_exact_time_on_hover(ui, demo_like_patient):
    page = ui
    sign_in(page, "clinician_a")
    due = page.locator("#due .detail time")
    expect(due).to_have_text(re.compile(r"^[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}$"))  # Mon 7 Dec: no hour
    expect(due).to_have_attribute("title", re.compile(r", \d\d:\d\d America/Los_Angeles \(P[SD]T\)$"))
    page.goto(f"/patients/{demo_like_patient.patient_id}/")
    earliest = page.locator("#programs dd", has_text="h rest")
    expect(earliest).to_have_text(re.compile(r"^from [A-Z][a-z]{2} \d\d:\d\d \(48 h rest\)$"))


def test_a_new_clinic_admin_enrols_an_authenticator_app_then_works_in_the_admin(ui, clinic_admin_a, patient_a):
    """The second factor at first sign-in, and Django's admin under the site's strict CSP (any
    blocked inline script or style would be a console error, which fails the test)."""
    page = ui
    clinic_admin_a.is_staff = True
    clinic_admin_a.save()
    sign_in(page, "clinic_admin_a", lands_on=r"/accounts/2fa/totp/activate/$")
    expect(page.get_by_role("status")).to_contain_text("Your role requires two-factor authentication")
    page.goto("/admin/")  # nothing else is reachable before enrolment
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.locator("img.qr")).to_be_visible()
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    assert len(page.get_by_label("Unused codes").input_value().split()) == 10
    page.screenshot(path=ARTIFACTS / "recovery_codes.png", full_page=True)

    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Clinic configuration and records")).to_be_visible()
    page.goto("/admin/patients/patient/")
    expect(page.locator("#result_list")).to_contain_text("A-0001")
    page.goto(f"/admin/patients/patient/{patient_a.pk}/change/")
    expect(page.get_by_role("heading", name="Change patient")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "admin_patient.png", full_page=True)


def test_the_api_docs_page_works_under_its_documented_policy(ui):
    """The Swagger page draws with its one inline <style> allowed by hash, for it alone (apps.accounts.http)."""
    ui.goto("/api/docs/")
    expect(ui.locator(".swagger-ui .info")).to_contain_text("SpineZone partner API")


@pytest.fixture
def trained_two_weeks_ago(transactional_db, clinician_a, clinic_a, patient_a):
    """Five training sessions through the services, the last 14 days and 3 hours ago: completed into
    maintenance every 2 weeks, the first maintenance session fell due 3 hours ago."""
    machine = factories.MachineFactory(clinic=clinic_a, name="Lumbar 1")
    now = timezone.now()
    baseline = factories.StrengthTestFactory(patient=patient_a, machine=machine, performed_at=now - timedelta(days=29))
    program = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)
    services.program_start(actor=clinician_a, program=program, now=now - timedelta(days=29))
    for days, reps in ((28, 13), (24.5, 11), (21, 13), (17.5, 11)):  # +5 %, hold, +5 %, hold
        record_session(program, machine, clinician_a, at=now - timedelta(days=days), reps=reps)
    record_session(program, machine, clinician_a, at=now - timedelta(days=14, hours=3), reps=11)
    program.refresh_from_db()
    return program


def test_a_program_completed_into_maintenance_is_due_on_the_board_and_shaded_on_the_chart(
    ui, trained_two_weeks_ago, clinician_a
):
    page, program = ui, trained_two_weeks_ago
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "clinician_a")
    expect(page.locator("#maintenance_due")).to_contain_text("No maintenance session is due.")
    expect(page.locator("#lapsed")).to_contain_text("Alvarez, Ana")  # 14 days after the last training session

    page.goto(f"/patients/{program.patient_id}/")
    page.locator("#programs").get_by_role("link", name="Complete into maintenance").click()
    expect(page.get_by_role("heading", name="Complete into maintenance: lumbar (low back) program")).to_be_visible()
    expect(page.get_by_label("Maintenance interval")).to_have_value("2")  # the default
    page.get_by_label("Maintenance interval").select_option(label="One session every 2 weeks")
    page.get_by_label("Reason").fill("Training goals met")
    page.get_by_role("button", name="Complete into maintenance").click()
    expect(page.get_by_role("status")).to_contain_text(
        "the lumbar (low back) program is now in maintenance, one session every 2 weeks."
    )
    program.refresh_from_db()
    since = f"{program.maintenance_started_at.astimezone(program.clinic.tzinfo):%a %-d %b}"
    due = f"{program.next_due_at.astimezone(program.clinic.tzinfo):%a %-d %b}"

    page.get_by_role("link", name="Today").click()
    section = page.locator("#maintenance_due")
    expect(section.get_by_role("heading", name="Maintenance due")).to_be_visible()
    expect(section).to_contain_text("Alvarez, Ana")
    expect(section.locator(".detail")).to_have_text(
        f"Lumbar (low back): maintenance, one session every 2 weeks · due {due}"
    )
    expect(page.locator("#lapsed")).to_contain_text("No lapsed programs.")
    expect(page.locator("#due")).not_to_contain_text("Alvarez, Ana")
    page.screenshot(path=ARTIFACTS / "maintenance-board.png", full_page=True)

    section.get_by_role("link", name="Alvarez, Ana").click()
    expect(page.locator("#programs")).to_contain_text(f"Maintenance since {since}, every 2 weeks")
    expect(page.locator(".chart-header")).to_contain_text("maintenance, every 2 weeks")
    expect(page.locator("#progress figcaption", has_text="Load per session")).to_contain_text(
        f"shaded: maintenance since {since}, every 2 weeks, its sessions as diamonds"
    )
    band = page.evaluate(
        """() => Chart.getChart(document.querySelector('canvas[data-chart="load"]')).options.plugins.phaseBand"""
    )
    assert band == {
        "from": int(program.maintenance_started_at.timestamp() * 1000),
        "label": "Maintenance, every 2 weeks",
    }

    page.get_by_role("link", name="Record lumbar (low back) session").click()
    load = page.get_by_label("Load (ft·lbf)").input_value()
    page.get_by_label("Reps").fill("10")
    page.get_by_label("Time under load (s)").fill("90")
    page.get_by_label("Pain before (0-10)").fill("1")
    page.get_by_label("Pain after (0-10)").fill("1")
    page.get_by_role("button", name="Save session").click()

    expect(page.get_by_role("status")).to_contain_text("Session recorded.")
    expect(page.locator("#sessions tbody tr").first).to_contain_text(f"{load} ft·lbf")
    expect(page.locator("#sessions tbody tr").first.locator(".status-maintenance")).to_have_text("maintenance")
    datasets = {dataset["label"].split(" (")[0]: dataset["points"] for dataset in chart_points(page, "load")}
    assert len(datasets["Trained"]) == 5  # the training sessions; the maintenance one is apart
    (kept,) = datasets["Maintenance"]
    assert kept[1] == float(load)
    page.locator("#progress").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "maintenance-chart.png", full_page=True)
