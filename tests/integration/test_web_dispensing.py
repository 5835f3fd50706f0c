"""The investigational-product page (``/trials/{id}/ip``) and the subject page's dispensations, at the
HTTP level (SQLite): the forms call the same services as the API, a refusal is shown beside its field
with what was typed kept, the reconciliation shows the numbers, roles see what they may."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import Api, build_api
from tests.integration.test_web_subject import _browser, _csrf

IVO = "ivo-shfrt-2l"
PAGE = f"/trials/{IVO}/ip"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _post(client: TestClient, action: str, data: dict[str, Any]) -> Any:
    token = _csrf(client.get(PAGE).text)
    return client.post(PAGE + action, data={**data, "csrf_token": token}, follow_redirects=False)


def _treated(api: Api) -> int:
    subject_id = api.enrolled_subject(IVO, "WEB-IP-1")
    start = {"treatment_start_date": "2026-03-09"}
    assert api.put("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/follow-up", start).status_code == 200
    dose = {"agent": "ivonescimab", "cycle": 1, "date": "2026-03-09", "given_dose_mg": 1200, "weight_kg": 60}
    assert (
        api.post("coord1", f"/api/trials/{IVO}/subjects/{subject_id}/administrations", dose).status_code
        == 201
    )
    return subject_id


RECEIPT = {
    "site_code": "S01",
    "agent": "ivonescimab",
    "lot_number": "WEB-LOT-7",
    "expiry_date": "2027-05-31",
    "quantity": "40",
    "received_date": "2026-03-02",
}


def test_receipt_dispensation_and_return_through_the_page(api: Api) -> None:
    subject_id = _treated(api)
    coordinator = _browser(api, "coord1")
    page = coordinator.get(PAGE)
    assert page.status_code == 200 and "Record a shipment received" in page.text
    refused = _post(coordinator, "/receipts", {**RECEIPT, "expiry_date": "2026-03-01"})
    assert refused.status_code == 422
    assert 'id="expiry_date-error"' in refused.text and "not after the receipt date" in refused.text
    assert 'value="WEB-LOT-7"' in refused.text  # what was typed is kept
    saved = _post(coordinator, "/receipts", RECEIPT)
    assert saved.status_code == 303 and saved.headers["location"].startswith(PAGE + "?saved=receipt")
    dispense = {
        "subject_id": str(subject_id),
        "agent": "ivonescimab",
        "lot_number": "WEB-LOT-7",
        "quantity": "7",
        "dispensed_date": "2026-03-09",
        "cycle": "",
    }
    too_many = _post(coordinator, "/dispensations", {**dispense, "quantity": "41"})
    assert too_many.status_code == 422 and "only 40 vial(s)" in too_many.text
    assert _post(coordinator, "/dispensations", dispense).status_code == 303
    shown = coordinator.get(PAGE).text
    assert "WEB-IP-1" in shown and "disagrees" in shown  # 7 vials out for a 6-vial dose
    row_id = api.get("coord1", f"/api/trials/{IVO}/subjects/{subject_id}/dispensations").json()[0]["id"]
    back = {"quantity_returned": "1", "returned_date": "2026-03-09"}
    assert _post(coordinator, f"/dispensations/{row_id}/return", back).status_code == 303
    assert "agrees" in coordinator.get(PAGE).text and "disagrees" not in coordinator.get(PAGE).text
    correction = _post(coordinator, f"/dispensations/{row_id}/return", {**back, "quantity_returned": "2"})
    assert correction.status_code == 422 and 'id="reason-error"' in correction.text
    # the subject page loads the subject's dispensations (htmx), or shows them as a page without JavaScript
    subject_page = coordinator.get(f"/trials/{IVO}/subjects/{subject_id}").text
    assert f'hx-get="/trials/{IVO}/subjects/{subject_id}/dispensing"' in subject_page
    fragment = coordinator.get(
        f"/trials/{IVO}/subjects/{subject_id}/dispensing", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "WEB-LOT-7" in fragment.text and "<html" not in fragment.text
    full = coordinator.get(f"/trials/{IVO}/subjects/{subject_id}/dispensing")
    assert "<html" in full.text and "WEB-LOT-7" in full.text


def test_roles_links_and_other_sites(api: Api) -> None:
    subject_id = _treated(api)
    monitor = _browser(api, "monitor")
    page = monitor.get(PAGE)
    assert page.status_code == 200 and "Record a shipment received" not in page.text
    assert f"/trials/{IVO}/ip" in monitor.get(f"/trials/{IVO}").text
    assert 'href="/trials/scr-escc-01/ip"' not in monitor.get("/trials/scr-escc-01").text  # no IP there
    refused = _post(monitor, "/receipts", RECEIPT)
    assert refused.status_code == 403
    other = _browser(api, "coord2")  # a site of scr-escc-01 only: no subject of ivo-shfrt-2l visible
    assert other.get(f"/trials/{IVO}/subjects/{subject_id}/dispensing").status_code == 404
    assert _post(other, "/receipts", RECEIPT).status_code == 404
    chinese = _browser(api, "coord1").get(PAGE, headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 200 and "试验用药品" in chinese.text
    assert dt.date.today().isoformat() in page.text  # reconciled as of today
