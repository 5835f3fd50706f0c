"""Case report form pages (SQLite): the subject page links the forms; the entry page is generated from
the protocol's form definition, posts to the same service as the API, shows each refusal beside its
field with the typed values kept, asks for a reason to change a saved value; monitors read only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import Api, build_api
from tests.integration.web_helpers import csrf_token as _csrf
from tests.integration.web_helpers import signed_in as _browser

SCR = "scr-escc-01"

PG_SGA = {"v.assessed_on": "2026-02-20", "v.total_score": "7", "v.category": "B"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _post(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    token = _csrf(client.get(url).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_subject_page_links_the_forms_and_the_index_lists_them(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-F01")
    coordinator = _browser(api, "coord1")
    subject_page = coordinator.get(f"/trials/{SCR}/subjects/{subject_id}").text
    assert f"/trials/{SCR}/subjects/{subject_id}/forms" in subject_page
    index = coordinator.get(f"/trials/{SCR}/subjects/{subject_id}/forms")
    assert index.status_code == 200
    assert "Scored Patient-Generated Subjective Global Assessment (PG-SGA)" in index.text
    assert 'id="concomitant_medications"' in index.text and "repeat=1" in index.text
    zh = coordinator.get(f"/trials/{SCR}/subjects/{subject_id}/forms", headers={"Accept-Language": "zh-CN"})
    assert "病例报告表" in zh.text and "人口学" in zh.text


def test_entry_page_saves_refuses_beside_the_field_and_asks_a_reason(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-F02")
    url = f"/trials/{SCR}/subjects/{subject_id}/forms/pg_sga?visit=SCR&repeat=1"
    coordinator = _browser(api, "coord1")
    page = coordinator.get(url)
    assert (
        page.status_code == 200 and 'name="v.total_score"' in page.text and 'name="v.category"' in page.text
    )
    refused = _post(coordinator, url, {**PG_SGA, "v.total_score": "75"})
    assert refused.status_code == 422
    assert 'id="v-total_score-error"' in refused.text and "outside the plausible range 0-60" in refused.text
    assert 'value="2026-02-20"' in refused.text  # what was typed is kept
    saved = _post(coordinator, url, PG_SGA)
    assert saved.status_code == 303 and "saved=pg_sga" in saved.headers["location"]
    assert api.get("monitor", f"/api/trials/{SCR}/subjects/{subject_id}/forms/pg_sga?visit=SCR").json()[
        "values"
    ]["total_score"] == {"value": 7, "unit": "{score}"}
    change = _post(coordinator, url, {**PG_SGA, "v.total_score": "8"})
    assert change.status_code == 422 and 'id="reason-error"' in change.text
    assert (
        _post(coordinator, url, {**PG_SGA, "v.total_score": "8", "reason": "sum corrected"}).status_code
        == 303
    )
    monitor = _browser(api, "monitor").get(url).text
    assert 'value="8"' in monitor and '<fieldset class="card" disabled' in monitor
    assert _browser(api, "coord2").get(url).status_code == 404


def test_a_number_typed_in_another_unit_is_converted(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-F03")
    url = f"/trials/{SCR}/subjects/{subject_id}/forms/vital_signs?visit=SCR&repeat=1"
    coordinator = _browser(api, "coord1")
    data = {"v.measured_on": "2026-02-20", "v.weight": "132.3", "u.weight": "[lb_av]", "v.systolic_bp": "x"}
    refused = _post(coordinator, url, data)
    assert refused.status_code == 422 and "whole number" in refused.text
    data["v.systolic_bp"] = "120"
    assert _post(coordinator, url, data).status_code == 303
    values = api.get("coord1", f"/api/trials/{SCR}/subjects/{subject_id}/forms/vital_signs?visit=SCR").json()
    assert values["values"]["weight"]["value"] == pytest.approx(60.0102705)  # 132.3 x 0.45359237 kg
