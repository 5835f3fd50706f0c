"""Casebook sign-off (issue 14) through the API on SQLite and PostgreSQL: the investigator signs the
hash shown with the password re-entered; any later change of the casebook invalidates the sign-off
("changed": sign again); signing a stale hash or with a wrong password is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


def test_the_odm_copy_carries_the_casebook_signature_while_it_holds(api: Api) -> None:
    """ODM 1.3.2: a SignatureDef (meaning, legal reason) in AdminData and the investigator's Signature
    on the subject's SubjectData (UserRef, LocationRef, SignatureRef, DateTimeStamp), in a document
    valid against the CDISC schema; a change of the casebook removes it; a copy as of a past day has
    it only while nothing of the casebook changed since the signing."""
    from lxml import etree

    from trialdesk.adapters.odm.validation import SCHEMA_FILE

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    schema = etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))
    subject_id = api.enrolled_subject(IVO, "IVO-S-ODM")
    saved = _save(api, subject_id, "demographics", DEMOGRAPHICS)
    assert saved.status_code == 200
    url = f"/api/trials/{IVO}/subjects/{subject_id}/signoff"
    shown = api.get("inv1", url).json()
    assert (
        api.post("inv1", url, {"password": PASSWORD, "data_sha256": shown["current_sha256"]}).status_code
        == 200
    )

    def signature_of(params: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
        answer = api.get("monitor", f"/api/trials/{IVO}/export/odm", params=params or {})
        assert answer.status_code == 200, answer.text
        tree = etree.fromstring(answer.content)
        assert schema.validate(tree), schema.error_log
        subject = tree.xpath("//odm:SubjectData[@SubjectKey='IVO-S-ODM']", namespaces=ns)[0]
        signed = subject.xpath("odm:Signature/*", namespaces=ns)
        meaning = tree.xpath("//odm:SignatureDef[@OID='SD.CASEBOOK']/odm:Meaning/text()", namespaces=ns)
        return [_ref(e) for e in signed], meaning

    signed, meaning = signature_of()
    assert signed[:3] == ["UserRef=U.inv1", "LocationRef=L.S01", "SignatureRef=SD.CASEBOOK"]
    assert signed[3].startswith("DateTimeStamp=") and "confirm they are accurate" in meaning[0]
    today = {"as_of": dt.datetime.now(dt.UTC).date().isoformat()}
    assert signature_of(today) == (signed, meaning)  # signed today, nothing changed since
    query = {"target_table": "form_records", "target_id": str(saved.json()["id"]), "field": "weight"}
    opened = api.post(
        "monitor", f"/api/trials/{IVO}/queries", {**query, "text": "Weight from the clinic note?"}
    )
    assert opened.status_code == 201, opened.text
    assert signature_of(today) == (signed, meaning)  # a query is about the data, not a change of it
    changed = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 2}, reason="typo found")
    assert changed.status_code == 200
    assert signature_of() == ([], [])


def _ref(element: Any) -> str:
    """``Tag=value`` of a child of an ODM Signature (its reference attribute, or its text)."""
    from lxml import etree

    value = (
        element.get("UserOID") or element.get("LocationOID") or element.get("SignatureOID") or element.text
    )
    return f"{etree.QName(element).localname}={value}"
