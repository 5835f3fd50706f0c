"""The data query pages at the HTTP level (SQLite): the data manager raises a query from the form entry
page, the coordinator sees it on the home page, the subject page and beside the field, answers on the
thread page; refusals are shown beside the field; the queries page lists and counts; another site's
query is a 404 page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import Api, build_api
from tests.integration.test_api_forms import DEMOGRAPHICS
from tests.integration.test_web_subject import _browser, _csrf

IVO = "ivo-shfrt-2l"
SCR = "scr-escc-01"
LIST = f"/trials/{IVO}/queries"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _post(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    token = _csrf(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def test_raise_answer_and_close_through_the_pages(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "WEB-Q-1")
    form_url = f"/api/trials/{IVO}/subjects/{subject_id}/forms/demographics?visit=SCR"
    record_id = api.put("coord1", form_url, {"values": DEMOGRAPHICS}).json()["id"]
    entry = f"/trials/{IVO}/subjects/{subject_id}/forms/demographics?visit=SCR&repeat=1"
    manager = _browser(api, "dm")
    raise_link = (
        f"/trials/{IVO}/queries-new?target_table=form_records&amp;target_id={record_id}&amp;field=weight"
    )
    assert raise_link in manager.get(entry).text
    raise_page = f"/trials/{IVO}/queries-new?target_table=form_records&target_id={record_id}&field=weight"
    assert f'value="{record_id}"' in manager.get(raise_page).text
    data = {"target_table": "form_records", "target_id": str(record_id), "field": "weight"}
    refused = _post(manager, raise_page, LIST, {**data, "text": ""})
    assert refused.status_code == 422 and 'id="text-error"' in refused.text
    unknown = _post(manager, raise_page, LIST, {**data, "field": "nickname", "text": "?"})
    assert unknown.status_code == 422 and 'id="field-error"' in unknown.text
    opened = _post(manager, raise_page, LIST, {**data, "text": "Weight 150 lb? Please check the source."})
    assert opened.status_code == 303
    thread = opened.headers["location"].split("?")[0]
    # the coordinator: home page, subject page fragment, badge beside the field, the thread
    coordinator = _browser(api, "coord1")
    assert "1 open data query to answer" in coordinator.get("/").text
    fragment = coordinator.get(f"/trials/{IVO}/subjects/{subject_id}/queries", headers={"HX-Request": "true"})
    assert "Weight 150 lb?" in fragment.text and "<html" not in fragment.text
    assert f'href="{thread}"' in coordinator.get(entry).text
    page = coordinator.get(thread)
    assert page.status_code == 200 and "Your answer" in page.text and "Close the query" not in page.text
    claimed = _post(coordinator, thread, thread + "/answer", {"text": "fixed", "data_changed": "1"})
    assert claimed.status_code == 422 and 'id="data_changed-error"' in claimed.text
    answered = _post(coordinator, thread, thread + "/answer", {"text": "The source says 68 kg: correct."})
    assert answered.status_code == 303
    assert "1 answered data query to review" in manager.get("/").text
    review = manager.get(thread).text
    assert "Close the query" in review and "Re-open the query" in review and "Your answer" not in review
    assert _post(manager, thread, thread + "/close", {"text": "Agreed"}).status_code == 303
    closed = manager.get(thread).text
    assert "The source says 68 kg" in closed and "Agreed" in closed and "Close the query" not in closed
    listing = manager.get(LIST + "?status=closed")
    assert (
        listing.status_code == 200
        and "WEB-Q-1" in listing.text
        and "Counts per site and per form" in listing.text
    )
    assert "WEB-Q-1" not in manager.get(LIST + "?status=open").text
    assert "must be one of" in manager.get(LIST + "?status=bogus").text
    # the same answer again: refused naming the rule, shown on the thread page
    again = _post(coordinator, thread, thread + "/answer", {"text": "again"})
    assert again.status_code == 409 and "only a query that is open" in again.text


def test_another_sites_query_is_a_404_page(api: Api) -> None:
    subject_id = api.screen(SCR, "WEB-Q-2", "coord2", "S02").json()["id"]
    body = {"target_table": "subjects", "target_id": str(subject_id), "field": "screening_date", "text": "?"}
    query_id = api.post("monitor", f"/api/trials/{SCR}/queries", body).json()["id"]
    coordinator = _browser(api, "coord1")
    assert coordinator.get(f"/trials/{SCR}/queries/{query_id}").status_code == 404
    assert "WEB-Q-2" not in coordinator.get(f"/trials/{SCR}/queries").text
    assert "WEB-Q-2" in _browser(api, "inv2").get(f"/trials/{SCR}/queries").text
