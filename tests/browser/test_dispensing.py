"""The investigational-product page and the subject page's dispensations in a real Chromium (issue 13):
a coordinator records a shipment (an expiry before the receipt is refused beside the field, the typed
lot kept), dispenses vials for an ivonescimab subject, and the reconciliation and the subject page
(loaded by htmx) show them; axe-core checks both pages, in English and in Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import require_tools
from tests.integration.api_helpers import PASSWORD, build_api
from tests.support.server import AppServer

IVO = "ivo-shfrt-2l"
START = dt.date.today() - dt.timedelta(days=30)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, int]]:
    """An ivonescimab subject at S01 who started treatment 30 days ago with a 1200 mg first dose."""
    require_tools()
    data_dir = tmp_path_factory.mktemp("dispensing-db")
    url = f"sqlite:///{data_dir / 'browser.sqlite3'}"
    api = build_api(url, data_dir)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "WEB-IP-01")
        base = f"/api/trials/{IVO}/subjects/{subject_id}"
        assert (
            api.put("inv1", f"{base}/follow-up", {"treatment_start_date": START.isoformat()}).status_code
            == 200
        )
        dose = {
            "agent": "ivonescimab",
            "cycle": 1,
            "date": START.isoformat(),
            "given_dose_mg": 1200,
            "weight_kg": 60,
        }
        assert api.post("coord1", f"{base}/administrations", dose).status_code == 201
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, data_dir)
    server.start()
    yield server, subject_id
    server.kill()


@pytest.fixture(scope="module")
def web_server(prepared: tuple[AppServer, int]) -> AppServer:
    return prepared[0]


def test_receive_dispense_and_see_the_reconciliation(
    open_browser: BrowserFactory, prepared: tuple[AppServer, int]
) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    browser.goto(f"/trials/{IVO}/ip")
    page = browser.page
    receipt = page.locator("form[action$='/ip/receipts']")
    receipt.get_by_label("Lot number").fill("BR-LOT-1")
    receipt.get_by_label("Expiry date").fill((START - dt.timedelta(days=30)).isoformat())
    receipt.get_by_label("Units received").fill("40")
    receipt.get_by_label("Received on").fill((START - dt.timedelta(days=7)).isoformat())
    receipt.get_by_role("button", name="Record the shipment").click()
    receipt = page.locator("form[action$='/ip/receipts']")
    expect(receipt.locator(".field-error")).to_contain_text("not after the receipt date")
    expect(receipt.get_by_label("Lot number")).to_have_value("BR-LOT-1")
    browser.check("ip-receipt-error")
    receipt.get_by_label("Expiry date").fill((START + dt.timedelta(days=365)).isoformat())
    receipt.get_by_role("button", name="Record the shipment").click()

    dispense = page.locator("form[action$='/ip/dispensations']")
    dispense.get_by_label("Subject").select_option(label="WEB-IP-01 (S01)")
    dispense.get_by_label("Lot number").fill("BR-LOT-1")
    dispense.get_by_label("Units dispensed").fill("6")
    dispense.get_by_label("Dispensed on").fill(START.isoformat())
    dispense.get_by_label("Cycle (optional)").fill("1")
    dispense.get_by_role("button", name="Record the dispensation").click()
    lots = page.get_by_role("table", name="Lots")
    expect(lots).to_contain_text("BR-LOT-1")
    expect(lots).to_contain_text("34")  # 40 received, 6 dispensed
    expect(
        page.get_by_role(
            "table", name="Units per subject: expected from the doses given against dispensed minus returned"
        )
    ).to_contain_text("agrees")
    browser.check("ip-page")

    browser.goto(f"/trials/{IVO}/subjects/{prepared[1]}")
    dispensed = page.get_by_role("table", name="Dispensations (units of the protocol's dispensing unit)")
    expect(dispensed).to_contain_text("BR-LOT-1")  # loaded by htmx into the subject page
    browser.check("subject-dispensing")


def test_the_ip_page_in_chinese(open_browser: BrowserFactory, prepared: tuple[AppServer, int]) -> None:
    browser = open_browser("zh_CN")
    browser.sign_in("monitor", PASSWORD)
    browser.goto(f"/trials/{IVO}/ip")
    expect(browser.page.get_by_role("heading", name="试验用药品：接收、发放与清点核对")).to_be_visible()
    browser.check("ip-page-zh")
