"""Lesions in radiotherapy fields on the subject page in a real Chromium (issue 13): a coordinator ticks
the irradiated lesion and its course, the subset table and the out-of-field (abscopal) response appear,
and the section passes axe-core in English and in Chinese at tablet width."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET, require_tools
from tests.integration.api_helpers import PASSWORD, build_api
from tests.support.server import AppServer

SCR = "scr-escc-01"
BASELINE = dt.date.today() - dt.timedelta(days=60)
LESIONS = [
    {"id": "P1", "site": "oesophagus", "nodal": False, "role": "target", "diameter_mm": 40},
    {"id": "L1", "site": "liver", "nodal": False, "role": "target", "diameter_mm": 30},
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, int]]:
    """A run-in subject of SCR-ESCC-01 (arm A: LDRT + CFRT) with a baseline and one follow-up scan
    (P1 40 -> 20 mm, L1 30 -> 18 mm), prepared through the JSON API before the server starts."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("rt-fields-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    api = build_api(url, data_dir)
    with api.client:
        subject_id = api.enrolled_subject(SCR, "WEB-RT01")
        base = f"/api/trials/{SCR}/subjects/{subject_id}"
        baseline = {"date": BASELINE.isoformat(), "lesions": LESIONS}
        assert api.put("inv1", f"{base}/tumour-baseline", baseline).status_code == 200
        scan = {"date": (BASELINE + dt.timedelta(days=50)).isoformat(), "measurements": {"P1": 20, "L1": 18}}
        assert api.put("inv1", f"{base}/tumour-assessments/C3", scan).status_code == 200
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, data_dir)
    server.start()
    yield server, subject_id
    server.kill()


@pytest.fixture(scope="module")
def web_server(prepared: tuple[AppServer, int]) -> AppServer:
    return prepared[0]


def test_tick_the_irradiated_lesion_then_see_both_subsets(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}/subjects/{prepared[1]}")
    page = browser.page
    section = page.locator("#rt-fields")
    expect(section.get_by_role("heading", name="Lesions in radiotherapy fields")).to_be_visible()
    section.get_by_label("P1 lies in an RT field").check()
    section.get_by_label("RT course of P1").select_option("cfrt")
    section.get_by_role("button", name="Save the RT fields").click()
    table = page.get_by_role("table", name="Target lesions in and out of the RT fields")
    expect(table).to_contain_text("-50.0 %")  # in field: P1 40 -> 20
    expect(table).to_contain_text("-40.0 %")  # out of field: L1 30 -> 18
    expect(page.locator("#rt-fields .abscopal")).to_have_text("yes")
    browser.check("rt-fields")


def test_the_section_in_chinese_at_tablet_width(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{SCR}/subjects/{prepared[1]}")
    expect(browser.page.get_by_role("heading", name="放疗照射野内的病灶")).to_be_visible()
    browser.page.locator("#rt-fields").scroll_into_view_if_needed()
    browser.check("rt-fields")
