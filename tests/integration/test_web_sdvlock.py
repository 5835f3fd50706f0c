"""Data-management pages of issue 14 (SQLite, HTTP level): the locks page creates a lock and takes it
through the two-role unlock; the subject's SDV checklist verifies checked fields; the progress page
counts them; the subject page's sign-off section signs the casebook with the password re-entered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api_helpers import PASSWORD, Api, build_api
from tests.integration.test_api_forms import DEMOGRAPHICS, _save
from tests.integration.test_api_locks import add_data_managers
from tests.integration.test_web_subject import _browser, _csrf

IVO = "ivo-shfrt-2l"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        add_data_managers(built)
        yield built


def test_locks_page_lock_and_two_role_unlock(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "WEB-L-1")
    dm = _browser(api, "dm")
    page = dm.get(f"/trials/{IVO}/locks")
    assert page.status_code == 200 and "No freeze or lock yet." in page.text
    token = _csrf(page.text)
    refused = dm.post(
        f"/trials/{IVO}/locks", data={"kind": "lock", "scope": "subject", "reason": "x", "csrf_token": token}
    )
    assert refused.status_code == 422 and "reason" in refused.text
    body = {"kind": "lock", "scope": "subject", "subject_id": str(subject_id), "reason": "ready for analysis"}
    created = dm.post(f"/trials/{IVO}/locks", data={**body, "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303
    listing = dm.get(f"/trials/{IVO}/locks").text
    assert "ready for analysis" in listing and "Request unlock" in listing
    step = {"reason": "correction needed", "csrf_token": _csrf(listing)}
    assert (
        dm.post(f"/trials/{IVO}/locks/1/unlock-request", data=step, follow_redirects=False).status_code == 303
    )
    stat = _browser(api, "stat")
    stat_page = stat.get(f"/trials/{IVO}/locks").text
    assert "Release the lock" in stat_page
    released = stat.post(
        f"/trials/{IVO}/locks/1/unlock-release",
        data={**step, "csrf_token": _csrf(stat_page)},
        follow_redirects=False,
    )
    assert released.status_code == 303 and "Released by stat" in stat.get(f"/trials/{IVO}/locks").text


def test_sdv_checklist_progress_and_signoff(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "WEB-V-1")
    record_id = _save(api, subject_id, "demographics", DEMOGRAPHICS).json()["id"]
    monitor = _browser(api, "monitor")
    url = f"/trials/{IVO}/subjects/{subject_id}/sdv"
    page = monitor.get(url)
    assert page.status_code == 200 and page.text.count('type="checkbox"') == len(DEMOGRAPHICS)
    data = {
        "item": [f"form_records|{record_id}|ecog", f"form_records|{record_id}|sex"],
        "csrf_token": _csrf(page.text),
    }
    assert monitor.post(url, data=data, follow_redirects=False).status_code == 303
    assert monitor.get(url).text.count('type="checkbox"') == len(DEMOGRAPHICS) - 2
    progress = monitor.get(f"/trials/{IVO}/sdv").text
    assert f'<td class="num">{len(DEMOGRAPHICS)}</td><td class="num">2</td>' in progress

    investigator = _browser(api, "inv1")
    subject_page = investigator.get(f"/trials/{IVO}/subjects/{subject_id}").text
    assert "Casebook sign-off" in subject_page
    fragment = investigator.get(f"/trials/{IVO}/subjects/{subject_id}/signoff").text
    assert "Not signed yet." in fragment
    digest = fragment.split('name="data_sha256" value="')[1][:64]
    form = {"password": PASSWORD, "data_sha256": digest, "csrf_token": _csrf(subject_page)}
    signed = investigator.post(
        f"/trials/{IVO}/subjects/{subject_id}/signoff", data=form, follow_redirects=False
    )
    assert signed.status_code == 303
    assert "by inv1" in investigator.get(f"/trials/{IVO}/subjects/{subject_id}/signoff").text


READ_PAGES = (
    "/",
    "/trials/{p}",
    "/trials/{p}/alerts",
    "/trials/{p}/safety-report",
    "/trials/{p}/screening-log",
)


def test_reading_pages_still_works_under_a_database_lock(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "WEB-R-1")
    assert api.ae(IVO, subject_id, 3, related=True).status_code == 201
    body = {"kind": "lock", "scope": "database", "reason": "final analysis"}
    assert api.post("dm", f"/api/trials/{IVO}/locks", body).status_code == 201
    for user in ("monitor", "inv1", "safety", "stat"):
        browser = _browser(api, user)
        for path in (*READ_PAGES, f"/trials/{{p}}/subjects/{subject_id}"):
            url = path.format(p=IVO)
            if user in ("safety", "stat") and "subjects" in url:
                continue
            response = browser.get(url)
            assert response.status_code in (200, 403), (user, url, response.status_code)
            assert response.status_code == 200 or user != "monitor", (user, url)
