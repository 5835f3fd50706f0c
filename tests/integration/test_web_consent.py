"""The subject page's informed-consent section and the home page's re-consents due, at the HTTP level
(SQLite): the screening consent listed, the re-consent flag naming the visit it is due at, the form
refusing another site's staff member beside the field (typed values kept), the flag gone once signed;
monitors read without the form; the section in Simplified Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import Api, build_api
from tests.integration.test_api_consent import BASE, IVO, _on, _revise_consent, _treated
from tests.integration.web_helpers import csrf_token as _csrf
from tests.integration.web_helpers import signed_in as _browser


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _post(client: TestClient, page: str, data: dict[str, Any]) -> Any:
    token = _csrf(client.get(page).text)
    return client.post(page + "/consents", data={**data, "csrf_token": token}, follow_redirects=False)


def _section(html: str) -> str:
    start = html.index('id="consent"')
    return html[start : html.index("</section>", start)]


def test_reconsent_is_flagged_on_the_subject_and_home_pages_and_recorded_through_the_form(api: Api) -> None:
    subject_id = _treated(api, "IVO-WC-1")
    _revise_consent(api)
    page = f"/trials/{IVO}/subjects/{subject_id}"
    coordinator = _browser(api, "coord1")
    with _on("2026-06-02"):
        section = _section(coordinator.get(page).text)
        assert "2026-02-27" in section and "(at screening)" in section
        assert "re-consent required" in section
        assert (
            "Consent version 2.0 (in use from 2026-06-01) must be signed by Cycle 5 day 1 on 2026-06-01"
            in section
        )
        home = coordinator.get("/").text
        assert "Re-consent to version 2.0: IVO-WC-1" in home and f"/subjects/{subject_id}#consent" in home
        typed = {"version": "2.0", "consent_date": "2026-06-01", "obtained_by": "coord2"}
        refused = _post(coordinator, page, typed)
        assert refused.status_code == 422
        assert 'id="obtained_by-error"' in refused.text and 'value="2026-06-01"' in refused.text
        saved = _post(coordinator, page, {**typed, "obtained_by": "inv1"})
        assert saved.status_code == 303 and saved.headers["location"].endswith("#consent")
        section = _section(coordinator.get(page).text)
        assert "re-consent required" not in section and "Inv1" in section
        assert "Re-consent to version 2.0" not in coordinator.get("/").text
    consents = api.get("monitor", f"{BASE}/{subject_id}/consents").json()["consents"]
    assert [(c["version"], c["obtained_by"], c["entered_by"]) for c in consents][-1] == (
        "2.0",
        "inv1",
        "coord1",
    )


def test_monitors_read_the_consents_without_the_form_and_the_section_speaks_chinese(api: Api) -> None:
    subject_id = _treated(api, "IVO-WC-2")
    _revise_consent(api)
    page = f"/trials/{IVO}/subjects/{subject_id}"
    monitor = _browser(api, "monitor")
    with _on("2026-06-10"):
        section = _section(monitor.get(page).text)
        assert "re-consent overdue" in section and 'action="' not in section
        monitor.cookies.set("lang", "zh_CN")
        chinese = _section(monitor.get(page).text)
    assert "知情同意" in chinese and "重新知情同意已逾期" in chinese
