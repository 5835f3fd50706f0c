"""Casebook sign-off (issue 14) through the API on SQLite and PostgreSQL: the investigator signs the
hash shown with the password re-entered; any later change of the casebook invalidates the sign-off
("changed": sign again); signing a stale hash or with a wrong password is refused."""

from __future__ import annotations

from tests.integration.api_helpers import PASSWORD, Api
from tests.integration.test_api_forms import DEMOGRAPHICS, _save

IVO = "ivo-shfrt-2l"


def test_signature_bound_to_the_casebook_and_invalidated_by_a_change(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-S-1")
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS).status_code == 200
    url = f"/api/trials/{IVO}/subjects/{subject_id}/signoff"
    shown = api.get("inv1", url).json()
    assert shown["state"] == "unsigned" and len(shown["current_sha256"]) == 64
    assert "confirm they are accurate" in shown["meaning"]
    body = {"password": PASSWORD, "data_sha256": shown["current_sha256"]}
    assert api.post("coord1", url, body).status_code == 403
    assert api.post("inv2", url, body).status_code == 404  # another site's investigator
    assert api.post("inv1", url, {**body, "password": "wrong password"}).status_code == 401
    assert api.post("inv1", url, {**body, "data_sha256": "0" * 64}).json()["rule"] == (
        "signature_bound_to_evidence"
    )
    signed = api.post("inv1", url, body)
    assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "signed" and signed.json()["signed_by"] == "inv1"
    assert api.get("monitor", url).json()["state"] == "signed"

    changed = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 2}, reason="typo found")
    assert changed.status_code == 200
    now = api.get("inv1", url).json()
    assert now["state"] == "changed" and now["current_sha256"] != now["signed_sha256"]
    again = api.post("inv1", url, {**body, "data_sha256": now["current_sha256"]})
    assert again.status_code == 200 and again.json()["state"] == "signed"
