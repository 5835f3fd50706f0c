"""The trial page and the subject page with its forms, at the HTTP level (SQLite): the same services
as the API, errors beside the field with the typed values kept, another site's subject a 404 page,
links and arm per role (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import Api, build_api
from tests.integration.web_helpers import csrf_token as _csrf
from tests.integration.web_helpers import signed_in as _browser

SCR = "scr-escc-01"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _post(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    token = _csrf(client.get(page).text)
    return client.post(page + action, data={**data, "csrf_token": token}, follow_redirects=False)


def _days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def test_trial_page_lists_own_site_subjects_and_role_links(api: Api) -> None:
    own = api.enrolled_subject(SCR, "WEB-T01")
    other = api.enrolled_subject(SCR, "WEB-T02", user="coord2", site="S02")
    coordinator = _browser(api, "coord1")
    page = coordinator.get(f"/trials/{SCR}")
    assert page.status_code == 200
    assert f"/subjects/{own}" in page.text and f"/subjects/{other}" not in page.text
    assert "/screening/new" in page.text and "/allocation-lists" not in page.text
    statistician = _browser(api, "stat").get(f"/trials/{SCR}").text
    assert "/allocation-lists" in statistician and "/screening/new" not in statistician
    assert f"/subjects/{other}" in statistician  # cross-site role


def test_another_sites_subject_is_a_404_page(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T03")
    page = _browser(api, "coord2").get(f"/trials/{SCR}/subjects/{subject_id}")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


def test_ae_with_attribution_is_recorded_and_a_future_date_is_refused_beside_the_field(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T04")
    page = f"/trials/{SCR}/subjects/{subject_id}"
    investigator = _browser(api, "inv1")
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    typed = {"term": "Fatigue", "grade": "2", "onset_date": future, "attributions.pd1": "possible"}
    refused = _post(investigator, page, "/adverse-events", typed)
    assert refused.status_code == 422
    assert 'class="field-error" id="onset_date-error"' in refused.text
    assert f'value="{future}"' in refused.text and 'value="Fatigue"' in refused.text
    assert re.search(r'<option value="possible"\s+selected', refused.text)
    saved = _post(investigator, page, "/adverse-events", {**typed, "onset_date": _days_ago(2)})
    assert saved.status_code == 303, saved.text
    events = api.get("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/adverse-events").json()
    assert events[0]["term"] == "Fatigue" and events[0]["attributions"] == {"pd1": "possible"}
    shown = investigator.get(page).text
    assert "Fatigue" in shown and "pd1: possible" in shown


def test_term_search_and_grade_definitions(api: Api) -> None:
    client = _browser(api, "coord1")
    found = client.get(f"/trials/{SCR}/ctcae-terms", params={"term": "pneumo"}).text
    assert "Pneumonitis" in found
    chinese = client.get(
        f"/trials/{SCR}/ctcae-terms", params={"term": "乏力"}, headers={"Accept-Language": "zh-CN"}
    )
    assert "Fatigue (乏力)" in chinese.text
    grades = client.get(f"/trials/{SCR}/ctcae-grades", params={"term": "nausea"}).text
    assert 'value="Nausea"' in grades and "Grade 3" in grades and "Grade 4" not in grades


def test_lab_shows_its_proposed_grade_and_the_investigator_confirms_it(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T05")
    page = f"/trials/{SCR}/subjects/{subject_id}"
    coordinator = _browser(api, "coord1")
    lab = {"test": "hemoglobin", "value": "85", "unit": "g/L", "collected_date": _days_ago(1), "lln": "120"}
    assert _post(coordinator, page, "/labs", lab).status_code == 303
    shown = coordinator.get(page).text
    assert "Anemia grade 2" in shown and "awaiting an investigator" in shown
    investigator = _browser(api, "inv1")
    lab_id = api.get("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/labs").json()[0]["id"]
    confirmed = _post(investigator, page, f"/labs/{lab_id}/confirm", {"term": "Anemia"})
    assert confirmed.status_code == 303
    assert "confirmed as an adverse event" in investigator.get(page).text
    bad_unit = _post(coordinator, page, "/labs", {**lab, "unit": "furlongs"})
    assert bad_unit.status_code == 422 and 'id="unit-error"' in bad_unit.text


def test_baseline_and_visit_show_the_response_with_sums_and_change(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T06")
    page = f"/trials/{SCR}/subjects/{subject_id}"
    client = _browser(api, "coord1")
    baseline = {
        "date": _days_ago(20),
        "lesions[0].id": "T1", "lesions[0].site": "liver", "lesions[0].nodal": "no",
        "lesions[0].role": "target", "lesions[0].diameter_mm": "40",
        "lesions[1].id": "T2", "lesions[1].site": "lung", "lesions[1].nodal": "no",
        "lesions[1].role": "target", "lesions[1].diameter_mm": "30",
    }  # fmt: skip
    assert _post(client, page, "/tumour-baseline", baseline).status_code == 303
    visit = {"visit": "C3", "date": _days_ago(1), "measurements.T1": "25", "measurements.T2": "20"}
    saved = _post(client, page, "/tumour-assessments", visit)
    assert saved.status_code == 303, saved.text
    shown = client.get(page).text
    assert "70 <span" in shown and "45 <span" in shown  # sums in mm
    assert "-35.7 %" in shown and "PR" in shown


def test_status_change_needs_a_reason_and_keeps_the_values(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T07")
    page = f"/trials/{SCR}/subjects/{subject_id}"
    client = _browser(api, "coord1")
    refused = _post(client, page, "/status", {"status": "withdrawn", "reason": "", "date": _days_ago(1)})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    assert f'value="{_days_ago(1)}"' in refused.text


def test_follow_up_dates_then_an_ae_after_death_is_refused_beside_its_date(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T08")
    page = f"/trials/{SCR}/subjects/{subject_id}"
    client = _browser(api, "inv1")
    dates = {"treatment_start_date": _days_ago(30), "last_known_alive_date": _days_ago(5)}
    assert _post(client, page, "/follow-up", dates).status_code == 303
    assert _post(client, page, "/follow-up", {"death_date": _days_ago(4)}).status_code == 303
    shown = client.get(page).text
    assert f'value="{_days_ago(30)}"' in shown and "Died" in shown  # stored dates prefilled, timeline
    after = {"term": "Nausea", "grade": "1", "onset_date": _days_ago(2)}
    refused = _post(client, page, "/adverse-events", after)
    assert refused.status_code == 422, refused.text
    assert 'id="onset_date-error"' in refused.text and f'value="{_days_ago(2)}"' in refused.text
    died = _post(client, page, "/status", {"status": "died", "reason": "disease progression"})
    assert died.status_code == 303, died.text
    assert "Status changed to died: disease progression" in client.get(page).text


def test_monitor_reads_the_subject_page_without_forms(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-T09")
    monitor = _browser(api, "monitor")
    page = monitor.get(f"/trials/{SCR}/subjects/{subject_id}")
    assert page.status_code == 200 and "Timeline" in page.text
    assert "Record an adverse event" not in page.text and "Save the dates" not in page.text
    assert "Arm A" in page.text  # the API shows the arm to every role that reads subjects
    refused = monitor.post(
        f"/trials/{SCR}/subjects/{subject_id}/status",
        data={"status": "withdrawn", "reason": "test", "csrf_token": _csrf(page.text)},
    )
    assert refused.status_code == 403  # the service's role check, shown on the page
    assert _browser(api, "admin").get(f"/trials/{SCR}").status_code == 403


def test_the_subject_page_lists_its_cards_on_top_and_every_link_lands_on_one(api: Api) -> None:
    """The page is long: an "On this page" list, built from the cards actually rendered for this user
    and subject, in page order; no link points to a card that is not there (English and Chinese)."""
    subject_id = api.enrolled_subject(SCR, "WEB-T20")
    for user, language in (("coord1", "en"), ("monitor", "zh-CN")):
        page = _browser(api, user).get(
            f"/trials/{SCR}/subjects/{subject_id}", headers={"Accept-Language": language}
        )
        nav = re.search(
            r'<nav class="card trial-links" aria-labelledby="contents-title">(.*?)</nav>', page.text, re.S
        )
        assert nav is not None, user
        anchors = re.findall(r'href="#([\w-]+)"', nav.group(1))
        assert anchors[:2] == ["timeline", "adverse-events"] and "follow-up" in anchors
        positions = [page.text.index(f'<section class="card" id="{anchor}"') for anchor in anchors]
        assert positions == sorted(positions)  # each target exists, in page order
        assert ("本页内容" in nav.group(1)) is (language == "zh-CN")
