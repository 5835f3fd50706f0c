"""``make run``'s demo in a real Chromium: the server on a built demo database with ``TRIALDESK_DEMO=1``;
the login page lists the DEMO accounts, a listed account signs in, and the banner "Demo data - not for
clinical use" is on every page visited, in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET, require_tools
from tests.support.demo import demo_database_copy
from tests.support.server import AppServer
from trialdesk.entrypoints.demo_accounts import demo_account

BANNER = {"en": "Demo data - not for clinical use", "zh_CN": "演示数据 - 不得用于临床"}
ACCOUNTS_HEADING = {"en": "DEMO accounts", "zh_CN": "演示账户（DEMO）"}
TRIALS_HEADING = {"en": "Trials", "zh_CN": "试验"}


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The application in demo mode on a copy of the demo database (this module's own)."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("browser-demo")
    database = demo_database_copy(tmp_path_factory, data_dir / "demo")
    server = AppServer(f"sqlite:///{database}", data_dir, env={"TRIALDESK_DEMO": "1"})
    server.start()
    yield server
    server.kill()


@pytest.mark.parametrize(("language", "viewport"), [("en", None), ("zh_CN", TABLET)])
def test_demo_accounts_sign_in_and_every_page_shows_the_demo_banner(
    open_browser: BrowserFactory, language: str, viewport: dict[str, int] | None
) -> None:
    browser = open_browser(language, viewport=viewport)
    page = browser.page
    banner = page.get_by_role("note").filter(has_text=BANNER[language])

    browser.goto("/login")
    expect(banner).to_be_visible()
    accounts = page.get_by_role("table", name=ACCOUNTS_HEADING[language])
    account = demo_account("coordinator", "SITE01")
    expect(accounts.get_by_role("row").filter(has_text=account.username).first).to_contain_text(
        account.password
    )
    browser.check("demo-login")

    browser.sign_in(account.username, account.password)
    expect(page.get_by_role("heading", name=TRIALS_HEADING[language], level=1)).to_be_visible()
    expect(banner).to_be_visible()
    for trial in ("scr-escc-01", "ivo-shfrt-2l"):  # both trials, with the synthetic site
        section = page.locator("section.trial", has=page.locator(f"#trial-{trial}"))
        expect(section.get_by_role("table").first).to_contain_text("SITE01")
    if language == "zh_CN":  # the protocol's title in the page's language
        expect(page.locator("#trial-ivo-shfrt-2l")).to_have_text("依沃西单抗 + SHFRT，二线食管鳞癌（II期）")
    browser.check("demo-home")

    response = page.goto(browser.url("/no/such/page"))
    assert response is not None and response.status == 404
    expect(banner).to_be_visible()
    browser.goto("/")
    browser.sign_out()
    expect(banner).to_be_visible()
