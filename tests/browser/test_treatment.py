"""The subject's calendar, doses and radiotherapy on the subject page in a real Chromium (issue 13):
a coordinator records a dose (the planned dose derived by the server from the weight), a unit slip
is refused beside the field with the values kept, a radiotherapy fraction in cGy is refused, a
fraction in Gy is recorded, and a scheduled visit is recorded missed; the calendar shows it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET, require_tools
from tests.integration.api_helpers import PASSWORD, build_api
from tests.support.server import AppServer

SCR = "scr-escc-01"
START = dt.date.today() - dt.timedelta(days=60)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, int]]:
    """A run-in subject of SCR-ESCC-01 (arm A: PD-1, paclitaxel, platinum, LDRT, CFRT) at S01 who
    started treatment 60 days ago, prepared through the JSON API before the server starts."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("treatment-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    api = build_api(url, data_dir)
    with api.client:
        subject_id = api.enrolled_subject(SCR, "WEB-T01")
        start = {"treatment_start_date": START.isoformat()}
        response = api.put("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/follow-up", start)
        assert response.status_code == 200, response.text
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, data_dir)
    server.start()
    yield server, subject_id
    server.kill()


@pytest.fixture(scope="module")
def web_server(prepared: tuple[AppServer, int]) -> AppServer:
    return prepared[0]


def test_doses_fractions_and_visits_on_the_subject_page(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}/subjects/{prepared[1]}")
    page = browser.page
    section = page.locator("#treatment")
    expect(section.get_by_role("table", name="Visit calendar (day 1 = treatment start)")).to_contain_text(
        "Cycle 1 day 1"
    )

    page.locator("summary", has_text="Record a dose given").click()
    form = page.locator("form[action$='/administrations']")
    form.get_by_label("Agent").select_option("paclitaxel")
    form.get_by_label("Cycle").fill("1")
    form.get_by_label("Date given").fill(START.isoformat())
    form.get_by_label("Dose given").fill("29700")  # mg typed as 100x: a unit slip
    form.get_by_label("Weight on the day").fill("60")
    form.get_by_label("Height").fill("165")
    form.get_by_role("button", name="Save the dose").click()
    form = page.locator("form[action$='/administrations']")
    expect(form.locator(".field-error")).to_contain_text("check the unit")
    expect(form.get_by_label("Weight on the day")).to_have_value("60")  # nothing typed is lost
    browser.check("treatment-dose-error")

    form.get_by_label("Dose given").fill("297")  # 175 mg/m2 x BSA 1.658 m2 = 290 mg: within 10%
    form.get_by_role("button", name="Save the dose").click()
    doses = page.get_by_role("table", name="Doses given")
    expect(doses).to_contain_text("paclitaxel")
    expect(doses).to_contain_text("290.2")  # the planned dose the server derived

    page.locator("summary", has_text="Record a radiotherapy fraction").click()
    rt = page.locator("form[action$='/rt-fractions']")
    rt.get_by_label("Course").select_option("cfrt")
    rt.get_by_label("Fraction number").fill("1")
    rt.get_by_label("Date").fill(START.isoformat())
    rt.get_by_label("Dose").fill("200")  # cGy
    rt.get_by_role("button", name="Save the fraction").click()
    rt = page.locator("form[action$='/rt-fractions']")
    expect(rt.locator(".field-error")).to_contain_text("not cGy")
    rt.get_by_label("Dose").fill("2")
    rt.get_by_role("button", name="Save the fraction").click()
    expect(page.get_by_role("table", name="Radiotherapy delivered")).to_contain_text("1 / 25")

    page.locator("summary", has_text="Record a visit outcome").click()
    visit = page.locator("form[action$='/visits']")
    visit.get_by_label("Visit").select_option("TA1")
    visit.get_by_label("Outcome").select_option("missed")
    visit.get_by_label("Reason (missed, not required, or done out of window)").fill("CT scanner down")
    visit.get_by_role("button", name="Save the visit").click()
    row = page.get_by_role("table", name="Visit calendar (day 1 = treatment start)").locator(
        "tr", has_text=re.compile(r"Tumour assessment 1 \(")
    )
    expect(row).to_contain_text("missed")
    browser.check("treatment")


def test_the_calendar_in_chinese_at_tablet_width(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}/subjects/{prepared[1]}")
    expect(browser.page.get_by_role("heading", name="访视日历、给药与放疗")).to_be_visible()
    browser.page.locator("#treatment").scroll_into_view_if_needed()
    browser.check("treatment")


def test_the_home_page_lists_visits_due_or_overdue_at_the_site(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    due = browser.page.get_by_role("table", name="Visits due this week or overdue")
    expect(due).to_contain_text("WEB-T01")
    expect(due).to_contain_text("overdue")  # cycle 2 was due 39 days ago
    browser.check("home-due-visits")
    other_site = open_browser()
    other_site.sign_in("coord2", PASSWORD)
    expect(other_site.page.get_by_role("table", name="Visits due this week or overdue")).to_have_count(0)
