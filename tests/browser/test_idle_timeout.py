"""The idle timeout in a real Chromium: with a one-minute session the warning appears (focused, with
its 'stay signed in' button), and staying signed in hides it and keeps the session. (The server side,
a session refused once idle for longer, is tested over HTTP in test_web_session.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory, prepare_database
from tests.browser.harness import require_tools
from tests.integration.api_helpers import PASSWORD
from tests.support.server import AppServer


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """A server whose sessions end after one idle minute (the warning shows 5 s after a page loads)."""
    require_tools()
    data_dir: Path = tmp_path_factory.mktemp("idle-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    prepare_database(url, data_dir)
    server = AppServer(url, data_dir, env={"TRIALDESK_TOKEN_TTL_MINUTES": "1"})
    server.start()
    yield server
    server.kill()


def test_the_idle_warning_and_staying_signed_in(open_browser: BrowserFactory, web_server: AppServer) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    warning = browser.page.get_by_role("alertdialog")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_contain_text("signed out in 2 minutes")
    expect(browser.page.get_by_role("button", name="Stay signed in")).to_be_focused()
    browser.page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    browser.check("idle-warning-dismissed")
    browser.goto("/")
    expect(browser.page.get_by_role("heading", name="Trials", level=1)).to_be_visible()
