"""The trial page and the subject page in a real Chromium: an AE found by typing its CTCAE term, with
its grade definitions and attribution; a lab result with its proposed grade confirmed; a tumour
baseline and visit with the computed response; a future date refused beside the field with the typed
values kept; another site's coordinator gets a 404 page; both pages in English and Chinese."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET, require_tools
from tests.integration.api_helpers import PASSWORD, build_api, followed_run_in
from tests.support.server import AppServer

SCR = "scr-escc-01"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, int]]:
    """The server on a database with the followed run-in and one enrolled SCR-ESCC-01 subject at S01
    (prepared through the JSON API before the server starts)."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("subject-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    api = build_api(url, data_dir)
    with api.client:
        followed_run_in(api)
        subject_id = api.enrolled_subject(SCR, "WEB-B01")
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, data_dir)
    server.start()
    yield server, subject_id
    server.kill()


@pytest.fixture(scope="module")
def web_server(prepared: tuple[AppServer, int]) -> AppServer:
    """This module's server (the browsers of ``open_browser`` open on it)."""
    return prepared[0]


@pytest.fixture(scope="module")
def subject_page(prepared: tuple[AppServer, int]) -> str:
    return f"/trials/{SCR}/subjects/{prepared[1]}"


def _days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def _open(page: Page, summary: str) -> None:
    page.locator("summary", has_text=summary).click()


def test_lab_baseline_and_visit_as_coordinator(open_browser: BrowserFactory, subject_page: str) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}")
    expect(browser.page.get_by_role("link", name="WEB-B01")).to_be_visible()
    expect(browser.page.get_by_role("link", name="Screen a patient")).to_be_visible()
    expect(browser.page.get_by_role("link", name="Allocation lists")).to_have_count(0)
    browser.check("trial")
    browser.page.get_by_role("link", name="WEB-B01").click()
    expect(browser.page.get_by_role("heading", name="Subject WEB-B01")).to_be_visible()
    page = browser.page

    _open(page, "Record a lab result")
    page.get_by_label("Test").select_option("hemoglobin")
    page.get_by_label(re.compile(r"^Value")).fill("85")
    page.get_by_label(re.compile(r"^Unit")).select_option("g/L")
    page.get_by_label("Collection date").fill(_days_ago(1))
    page.get_by_label("Lower limit of normal").fill("120")
    page.get_by_role("button", name="Record and show the proposed grade").click()
    labs = page.locator("#labs")
    expect(labs).to_contain_text("Anemia grade 2")
    expect(labs).to_contain_text("awaiting an investigator's confirmation")

    _open(page, "Record the baseline assessment")
    page.get_by_label("Baseline scan date").fill(_days_ago(20))
    for index, (lesion, site, size) in enumerate((("T1", "liver", "40"), ("T2", "lung", "30"))):
        page.get_by_label(f"Lesion {index + 1}: id").fill(lesion)
        page.get_by_label(f"Lesion {index + 1}: organ or site").fill(site)
        page.get_by_label(f"Lesion {index + 1}: diameter (mm)").fill(size)
    page.get_by_role("button", name="Add a row").first.click()
    expect(page.get_by_label("Lesion 4: id")).to_be_visible()  # a fourth row was added
    page.get_by_role("button", name="Save the baseline").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")

    _open(page, "Record a follow-up assessment")
    page.get_by_label(re.compile(r"^Visit")).fill("C3")
    page.get_by_label(re.compile(r"^Scan date")).fill(_days_ago(1))
    page.get_by_label(re.compile(r"^T1 \(liver\)")).fill("25")
    page.get_by_label(re.compile(r"^T2 \(lung\)")).fill("20")
    page.get_by_role("button", name="Save and compute the response").click()
    recist = page.locator("#response-recist11")
    expect(recist).to_contain_text("Baseline sum of diameters: 70 mm")
    row = recist.get_by_role("row").nth(1)
    expect(row).to_contain_text("45 mm")
    expect(row).to_contain_text("-35.7 %")
    expect(row).to_contain_text("PR")
    expect(page.locator("#response-irecist")).to_contain_text("iPR")
    browser.check("subject")


def test_ae_found_by_typing_and_a_future_date_kept_beside_the_field(
    open_browser: BrowserFactory, subject_page: str
) -> None:
    browser = open_browser()
    browser.sign_in("inv1", PASSWORD)
    browser.goto(subject_page)
    page = browser.page
    _open(page, "Record an adverse event")
    page.get_by_role("searchbox", name="CTCAE term").press_sequentially("pneumo", delay=40)
    page.get_by_role("button", name="Pneumonitis").click()
    expect(page.get_by_role("searchbox", name="CTCAE term")).to_have_value("Pneumonitis")
    definitions = page.locator(".grade-definitions")
    expect(definitions).to_contain_text("Grade 5")
    expect(definitions).to_contain_text("Life-threatening consequences")
    page.get_by_label(re.compile(r"^Grade")).select_option("2")
    future = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    page.get_by_label("Onset date").fill(future)
    page.get_by_label("pd1").select_option("possible")
    page.get_by_label("ldrt").select_option("probable")
    page.get_by_role("button", name="Record the adverse event").click()

    expect(page.locator("#onset_date-error")).to_contain_text("future")
    expect(page.get_by_label("Onset date")).to_have_value(future)  # nothing typed is lost
    expect(page.get_by_role("searchbox", name="CTCAE term")).to_have_value("Pneumonitis")
    expect(page.get_by_label(re.compile(r"^Grade"))).to_have_value("2")
    expect(page.get_by_label("pd1")).to_have_value("possible")
    browser.check("subject-ae-error")

    page.get_by_label("Onset date").fill(_days_ago(2))
    page.get_by_role("button", name="Record the adverse event").click()
    events = page.locator("#adverse-events table")
    expect(events).to_contain_text("Pneumonitis")
    expect(events).to_contain_text("pd1: possible")

    page.get_by_role("button", name="Confirm grade 2 as an adverse event").click()
    expect(page.locator("#labs")).to_contain_text("confirmed as an adverse event")
    expect(page.locator("#adverse-events table")).to_contain_text("Anemia")


def test_another_sites_coordinator_gets_a_404_page(open_browser: BrowserFactory, subject_page: str) -> None:
    browser = open_browser()
    browser.sign_in("coord2", PASSWORD)
    response = browser.page.goto(browser.url(subject_page))
    assert response is not None and response.status == 404
    expect(browser.page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(browser.page.get_by_text("WEB-B01")).to_have_count(0)


def test_pages_in_chinese_at_tablet_width(open_browser: BrowserFactory, subject_page: str) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}")
    expect(browser.page.get_by_role("heading", name="受试者", exact=True)).to_be_visible()
    browser.check("trial")
    browser.goto(subject_page)
    expect(browser.page.get_by_role("heading", name="时间线")).to_be_visible()
    expect(browser.page.locator("#adverse-events")).to_contain_text("Pneumonitis (肺炎)")
    expect(browser.page.locator("#response-recist11")).to_contain_text("PR (部分缓解)")
    browser.check("subject")


def test_ctcae_term_chosen_with_the_keyboard(open_browser: BrowserFactory, subject_page: str) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    browser.goto(subject_page)
    page = browser.page
    summary = page.locator("summary", has_text="Record an adverse event")
    summary.focus()
    page.keyboard.press("Enter")
    search = page.get_by_role("searchbox", name="CTCAE term")
    search.focus()
    page.keyboard.type("fatig", delay=40)
    expect(page.get_by_role("button", name="Fatigue", exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Fatigue", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(search).to_have_value("Fatigue")
    grade = page.get_by_label(re.compile(r"^Grade"))
    expect(grade).to_be_focused()  # the choice moves on to the grade, its definitions beside it
    expect(page.locator(".grade-definitions")).to_contain_text("Grade 3")
    expect(page.locator(".grade-definitions")).not_to_contain_text("Grade 4")  # Fatigue has grades 1-3
    expect(page.get_by_label("pd1")).to_have_count(0)  # attribution is the investigator's
