"""Source data verification (issue 14) through the API on SQLite and PostgreSQL: the risk-based plan
puts every demographics field (eligibility, 100%) in the subject's items; the monitor verifies a
whole record; a later change of a value makes that item "changed" (unverified) again; progress per
site counts planned, verified and changed items."""

from __future__ import annotations

from tests.integration.api_helpers import Api
from tests.integration.test_api_forms import DEMOGRAPHICS, _save

IVO = "ivo-shfrt-2l"


def test_sdv_of_a_record_resets_when_a_value_changes(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-V-1")
    record_id = _save(api, subject_id, "demographics", DEMOGRAPHICS).json()["id"]
    url = f"/api/trials/{IVO}/subjects/{subject_id}/sdv"
    items = [i for i in api.get("monitor", url).json() if i["table"] == "form_records"]
    assert {i["field"] for i in items} == set(DEMOGRAPHICS) and {i["state"] for i in items} == {"unverified"}
    whole = {"table": "form_records", "record_id": str(record_id), "field": "*"}
    assert api.post("coord1", url, whole).status_code == 403
    unknown = api.post("monitor", url, {**whole, "field": "nickname"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "field"
    verified = api.post("monitor", url, whole)
    assert verified.status_code == 200, verified.text
    mine = [i for i in verified.json() if i["record_id"] == str(record_id)]
    assert {i["state"] for i in mine} == {"verified"} and {i["verified_by"] for i in mine} == {"monitor"}
    progress = api.get("monitor", f"/api/trials/{IVO}/sdv/progress").json()
    assert progress == [
        {
            "site_code": "S01",
            "planned": len(DEMOGRAPHICS),
            "verified": len(DEMOGRAPHICS),
            "changed": 0,
            "percent": 100.0,
        }
    ]

    changed = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 2}, reason="typo found")
    assert changed.status_code == 200
    states = {
        i["field"]: i["state"] for i in api.get("monitor", url).json() if i["record_id"] == str(record_id)
    }
    assert states.pop("ecog") == "changed" and set(states.values()) == {"verified"}
    after = api.get("monitor", f"/api/trials/{IVO}/sdv/progress").json()[0]
    assert (after["verified"], after["changed"]) == (len(DEMOGRAPHICS) - 1, 1)
    again = api.post("monitor", url, {**whole, "field": "ecog"})
    assert again.status_code == 200, again.text
    assert {i["state"] for i in again.json() if i["record_id"] == str(record_id)} == {"verified"}
