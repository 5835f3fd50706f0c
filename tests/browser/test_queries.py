"""Data queries in a real Chromium (issue 14): the data manager raises a query from the link beside a
field of the demographics form; the coordinator finds it on the subject page (loaded by htmx), answers
on the thread page, and the monitor closes it; the queries list, the thread and the raise form pass
axe-core, in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET, require_tools
from tests.integration.api_helpers import PASSWORD, build_api
from tests.integration.test_api_forms import DEMOGRAPHICS
from tests.support.server import AppServer

IVO = "ivo-shfrt-2l"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, int]]:
    """An enrolled IVO subject with demographics saved at screening, prepared through the JSON API."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("queries-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    api = build_api(url, data_dir)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "WEB-Q01")
        form = f"/api/trials/{IVO}/subjects/{subject_id}/forms/demographics?visit=SCR"
        assert api.put("coord1", form, {"values": DEMOGRAPHICS}).status_code == 200
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, data_dir)
    server.start()
    yield server, subject_id
    server.kill()


@pytest.fixture(scope="module")
def web_server(prepared: tuple[AppServer, int]) -> AppServer:
    return prepared[0]


def test_raise_answer_and_close_a_query(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    subject_id = prepared[1]
    manager = open_browser()
    manager.sign_in("dm", PASSWORD)
    manager.goto(f"/trials/{IVO}/subjects/{subject_id}/forms/demographics?visit=SCR&repeat=1")
    manager.page.get_by_role("link", name="Raise a query on Weight").click()
    expect(manager.page.get_by_role("heading", name="Raise a query")).to_be_visible()
    manager.page.get_by_role("button", name="Raise the query").click()
    expect(manager.page.locator(".field-error")).to_contain_text("text is required")
    manager.check("queries-raise-error")
    manager.page.get_by_label("Question").fill("150 lb at screening? Please check the source.")
    manager.page.get_by_role("button", name="Raise the query").click()
    expect(manager.page.get_by_role("status")).to_contain_text("Saved.")
    manager.check("queries-thread-open")

    coordinator = open_browser()
    coordinator.sign_in("coord1", PASSWORD)
    coordinator.goto(f"/trials/{IVO}/subjects/{subject_id}")
    section = coordinator.page.locator("#queries")
    expect(section).to_contain_text("150 lb at screening?")
    section.get_by_role("link", name="Query 1").click()
    coordinator.page.get_by_label("Your answer").fill("The source says 68 kg, which is 150 lb.")
    coordinator.page.get_by_role("button", name="Answer").click()
    expect(coordinator.page.get_by_role("status")).to_contain_text("Saved.")

    monitor = open_browser()
    monitor.sign_in("monitor", PASSWORD)
    monitor.goto(f"/trials/{IVO}/queries/1")
    monitor.page.get_by_label("Closing note").fill("Agreed.")
    monitor.page.get_by_role("button", name="Close the query").click()
    expect(monitor.page.locator("h1")).to_contain_text("closed")
    monitor.goto(f"/trials/{IVO}/queries")
    expect(monitor.page.locator("table").last).to_contain_text("WEB-Q01")
    monitor.check("queries-list")


def test_the_queries_pages_in_chinese_at_tablet_width(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    browser.sign_in("dm", PASSWORD)
    browser.goto(f"/trials/{IVO}/queries")
    expect(browser.page.get_by_role("heading", name="数据质疑", level=1)).to_be_visible()
    browser.check("queries-list-zh")
    browser.goto(f"/trials/{IVO}/queries-new")
    browser.check("queries-raise-zh")
