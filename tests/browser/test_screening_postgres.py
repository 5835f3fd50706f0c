"""The randomization flow in Chromium on a real PostgreSQL server (the claim of a slot is one atomic
UPDATE ... RETURNING there): refused while the run-in is open, then the arm after the gate opens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import BrowserFactory, prepare_database
from tests.browser.harness import require_tools
from tests.browser.screening_flow import ServerApi, randomization_flow
from tests.integration.api_helpers import PASSWORD
from tests.support.postgres import PostgresServer
from tests.support.server import AppServer


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """This module's server runs on its own PostgreSQL cluster (same preparation as on SQLite)."""
    require_tools()
    try:
        postgres = PostgresServer()
        postgres.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    data_dir = tmp_path_factory.mktemp("browser-pg")
    try:
        url = postgres.create_database("trialdesk_browser")
        prepare_database(url, data_dir)
        server = AppServer(url, data_dir)
        server.start()
        yield server
        server.kill()
    finally:
        postgres.stop()


def test_randomization_on_postgresql(open_browser: BrowserFactory, web_server: AppServer) -> None:
    assert web_server.database_url.startswith("postgresql")
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    randomization_flow(browser, ServerApi(web_server.url), screenshots=False)
