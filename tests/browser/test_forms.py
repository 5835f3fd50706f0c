"""Case report forms in a real Chromium (issue 14): from the subject page to the forms list, the
PG-SGA entry page generated from the protocol's definition, an out-of-range score refused beside the
field with the typed values kept, then saved; both pages pass axe-core, in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET, require_tools
from tests.integration.api_helpers import PASSWORD, build_api
from tests.support.server import AppServer

SCR = "scr-escc-01"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, int]]:
    """An enrolled SCR-ESCC-01 subject at S01, prepared through the JSON API before the server starts."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("forms-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    api = build_api(url, data_dir)
    with api.client:
        subject_id = api.enrolled_subject(SCR, "WEB-C01")
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, data_dir)
    server.start()
    yield server, subject_id
    server.kill()


@pytest.fixture(scope="module")
def web_server(prepared: tuple[AppServer, int]) -> AppServer:
    return prepared[0]


def test_a_coordinator_enters_the_pg_sga_at_screening(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}/subjects/{prepared[1]}")
    page = browser.page
    page.get_by_role("link", name="Open the case report forms").click()
    expect(page.get_by_role("heading", name="Case report forms", level=1)).to_be_visible()
    browser.check("forms-index")
    section = page.locator("#pg_sga")
    section.get_by_label("Visit").select_option("SCR")
    section.get_by_role("button", name="Open the form").click()
    page.get_by_label("Date assessed").fill("2026-02-20")
    page.get_by_label("Total PG-SGA score").fill("75")
    page.get_by_label("Global assessment (Worksheet 5)").select_option("B")
    page.get_by_role("button", name="Save the form").click()
    expect(page.locator(".field-error")).to_contain_text("outside the plausible range 0-60")
    expect(page.get_by_label("Date assessed")).to_have_value("2026-02-20")  # nothing typed is lost
    browser.check("forms-entry-error")
    page.get_by_label("Total PG-SGA score").fill("7")
    page.get_by_role("button", name="Save the form").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#pg_sga")).to_contain_text("complete")


def test_the_entry_page_in_chinese_at_tablet_width(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}/subjects/{prepared[1]}/forms/demographics?visit=SCR")
    expect(browser.page.get_by_role("heading", name="人口学资料与基线特征")).to_be_visible()
    expect(browser.page.get_by_role("textbox", name="体重", exact=True)).to_be_visible()
    browser.check("forms-entry-zh")
