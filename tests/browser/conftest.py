"""Browser tests: the real server (uvicorn, child process) on a prepared database, driven in Debian's
headless Chromium.

The database is prepared before the server starts, through the same application and services as
every other test (:func:`tests.integration.api_helpers.build_api`): sites S01/S02, one user per role
(password :data:`~tests.integration.api_helpers.PASSWORD`), and for SCR-ESCC-01 a run-in followed for
its observation window, so that the gate can be signed in the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser

from tests.browser.harness import DESKTOP, Browser, chromium, require_tools
from tests.integration.api_helpers import build_api, followed_run_in
from tests.support.server import AppServer

BrowserFactory = Callable[..., Browser]


def prepare_database(database_url: str, data_dir: Path) -> None:
    """Sites, users and a followed SCR-ESCC-01 run-in, written before the server starts."""
    api = build_api(database_url, data_dir)
    with api.client:
        followed_run_in(api)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The application under uvicorn on loopback, on its own SQLite file: one per test module, so
    that modules never see each other's data (tests within a module share it, in order)."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("browser-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    prepare_database(url, data_dir)
    server = AppServer(url, data_dir)
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[PlaywrightBrowser]:
    require_tools()
    with chromium() as (_, browser):
        yield browser


@pytest.fixture
def open_browser(chromium_browser: PlaywrightBrowser, web_server: AppServer) -> Iterator[BrowserFactory]:
    """Open browser contexts (each its own cookies); each is checked clean when the test ends."""
    opened: list[Browser] = []

    def factory(language: str = "en", viewport: dict[str, int] | None = None) -> Browser:
        accept = "zh-CN,zh;q=0.9" if language == "zh_CN" else "en-GB,en;q=0.9"
        context = chromium_browser.new_context(
            viewport=viewport or DESKTOP,
            locale="zh-CN" if language == "zh_CN" else "en-GB",
            extra_http_headers={"Accept-Language": accept},
        )
        browser = Browser(context.new_page(), web_server.url, language)
        opened.append(browser)
        return browser

    yield factory
    for browser in opened:
        browser.page.context.close()
    for browser in opened:
        browser.assert_clean()
