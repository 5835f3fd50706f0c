"""The subject page's "Lesions in radiotherapy fields" section (SQLite): a checkbox per baseline lesion
saved through the same service as the API, the subset table and the out-of-field response shown, and a
late change without a reason refused beside the reason field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api_helpers import Api, build_api
from tests.integration.test_web_subject import _browser, _days_ago, _post

SCR = "scr-escc-01"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def test_in_field_checkboxes_then_the_subset_table(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "WEB-RT1")
    page = f"/trials/{SCR}/subjects/{subject_id}"
    client = _browser(api, "inv1")
    baseline = {
        "date": _days_ago(20),
        "lesions[0].id": "P1", "lesions[0].site": "oesophagus", "lesions[0].nodal": "no",
        "lesions[0].role": "target", "lesions[0].diameter_mm": "40",
        "lesions[1].id": "L1", "lesions[1].site": "liver", "lesions[1].nodal": "no",
        "lesions[1].role": "target", "lesions[1].diameter_mm": "30",
    }  # fmt: skip
    assert _post(client, page, "/tumour-baseline", baseline).status_code == 303
    shown = client.get(page).text
    assert 'id="rt-fields"' in shown and 'name="fields[0].in_field"' in shown
    flags = {
        "fields[0].lesion_id": "P1", "fields[0].in_field": "on", "fields[0].intervention": "cfrt",
        "fields[1].lesion_id": "L1", "fields[1].intervention": "cfrt",
    }  # fmt: skip
    saved = _post(client, page, "/lesion-rt-fields", flags)
    assert saved.status_code == 303, saved.text
    fraction = {"intervention": "cfrt", "fraction_number": 1, "date": _days_ago(10), "dose_gy": 2.0}
    assert (
        api.post("coord1", f"/api/trials/{SCR}/subjects/{subject_id}/rt-fractions", fraction).status_code
        == 201
    )
    visit = {"visit": "C3", "date": _days_ago(1), "measurements.P1": "20", "measurements.L1": "18"}
    assert _post(client, page, "/tumour-assessments", visit).status_code == 303
    shown = client.get(page).text
    assert "-40.0 %" in shown and "-50.0 %" in shown  # out of field L1 30 -> 18; in field P1 40 -> 20
    assert 'class="abscopal">yes' in shown
    late = {**flags, "fields[1].in_field": "on"}
    refused = _post(client, page, "/lesion-rt-fields", late)
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    fixed = _post(
        client, page, "/lesion-rt-fields", {**late, "reason": "CFRT volume covered the liver lesion"}
    )
    assert fixed.status_code == 303
    assert 'class="abscopal">not evaluable' in client.get(page).text
