"""The subject page's end-of-treatment and end-of-study forms (SQLite, HTTP level): the same service as
the API, a refusal beside its field with the typed values kept, the recorded disposition shown, the
forms hidden from a monitor, the page in Simplified Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api_helpers import Api, build_api
from tests.integration.test_web_subject import _browser, _post

IVO = "ivo-shfrt-2l"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def _treated_page(api: Api, number: str) -> tuple[int, str]:
    subject_id = api.enrolled_subject(IVO, number)
    url = f"/api/trials/{IVO}/subjects/{subject_id}/follow-up"
    assert api.put("inv1", url, {"treatment_start_date": _days_ago(60)}).status_code == 200
    return subject_id, f"/trials/{IVO}/subjects/{subject_id}"


def test_end_of_treatment_then_end_of_study_from_the_subject_page(api: Api) -> None:
    _, page = _treated_page(api, "WEB-D01")
    client = _browser(api, "coord1")
    shown = client.get(page).text
    assert 'id="disposition"' in shown and "not recorded: in follow-up" in shown
    toxicity = {"date": _days_ago(10), "reason": "adverse_event", "detail": "pneumonitis"}
    refused = _post(client, page, "/end-of-treatment", toxicity)
    assert refused.status_code == 422
    assert 'id="adverse_event_id-error"' in refused.text and 'value="pneumonitis"' in refused.text
    ended = _post(client, page, "/end-of-treatment", {**toxicity, "reason": "progressive_disease"})
    assert ended.status_code == 303, ended.text
    assert ended.headers["location"].endswith("#disposition")
    shown = client.get(page).text
    assert f"{_days_ago(10)} · progressive disease" in shown and "off treatment" in shown
    assert f'id="eot-date" name="date" type="text" value="{_days_ago(10)}"' in shown  # ready to correct
    unchanged = _post(client, page, "/end-of-treatment", {**toxicity, "reason": "physician_decision"})
    assert unchanged.status_code == 422 and 'id="correction_reason-error"' in unchanged.text
    early = _post(client, page, "/end-of-study", {"date": _days_ago(11), "reason": "lost_to_follow_up"})
    assert early.status_code == 422 and 'id="date-error"' in early.text
    left = _post(client, page, "/end-of-study", {"date": _days_ago(2), "reason": "lost_to_follow_up"})
    assert left.status_code == 303, left.text
    assert f"{_days_ago(2)} · lost to follow-up" in client.get(page).text


def test_a_bad_reason_code_is_refused_and_a_monitor_sees_no_form(api: Api) -> None:
    _, page = _treated_page(api, "WEB-D02")
    client = _browser(api, "coord1")
    refused = _post(client, page, "/end-of-study", {"date": _days_ago(1), "reason": "bored"})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    monitor = _browser(api, "monitor").get(page).text
    assert 'id="disposition"' in monitor and "Record the end of study" not in monitor


def test_the_disposition_card_in_simplified_chinese(api: Api) -> None:
    _, page = _treated_page(api, "WEB-D03")
    client = _browser(api, "coord1")
    shown = client.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert "治疗结束与研究结束" in shown and "记录研究结束" in shown
