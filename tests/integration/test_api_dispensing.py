"""Investigational-product dispensing API (issue 13): receipts at a site, dispensations to subjects,
returns, and the reconciliation per site and lot with the check against the doses given; the
refusals name the field and write nothing; another site's subject or lot is not reachable. SQLite and
PostgreSQL.

The trial is a multi-centre copy of ivo-shfrt-2l (``ivo-ip``: ivonescimab, 200 mg vials), so that a
second site exists; subjects are added through the audited ORM, doses through the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from tests.integration.api_helpers import Api, build_api, patient
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, IpDispensation, IpReceipt, Subject
from trialdesk.protocols.loader import builtin_protocol_dir

TRIAL = "ivo-ip"
BASE = f"/api/trials/{TRIAL}"
START = dt.date(2026, 3, 9)


def multicentre_ivo(directory: Path) -> Path:
    """A multi-centre copy of the built-in ivo-shfrt-2l protocol file with the id ``ivo-ip``."""
    data = yaml.safe_load((builtin_protocol_dir() / "ivo-shfrt-2l.yaml").read_text(encoding="utf-8"))
    data["id"] = TRIAL
    data["design"]["centres"] = "multi"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{TRIAL}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return directory


def add_subject(api: Api, number: str, site: str = "S01", **changes: Any) -> int:
    """A subject on treatment since ``START`` at ``site``, added through the audited ORM."""
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap", reason="test set-up") as session:
        fields: dict[str, Any] = {
            "protocol_id": TRIAL,
            "site_id": api.site_ids[(TRIAL, site)],
            "screening_number": number,
            "status": "on_treatment",
            "screening_date": START - dt.timedelta(days=5),
            "patient_record": patient("ivo-shfrt-2l", number),
            "consent_date": START - dt.timedelta(days=6),
            "phase_id": "main",
            "arm_id": "ivo-shfrt",
            "enrolled_at": dt.datetime(2026, 3, 6, 9, tzinfo=dt.UTC),
            "treatment_start_date": START,
            "created_at": dt.datetime.now(dt.UTC),
        }
        fields.update(changes)
        subject = Subject(**fields)
        session.add(subject)
        session.flush()
        return subject.id


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    built = build_api(database_url, tmp_path, [multicentre_ivo(tmp_path / "protocols")])
    with built.client:
        yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _receipt(api: Api, user: str = "coord1", **changes: Any) -> Any:
    body = {
        "site_code": "S01",
        "agent": "ivonescimab",
        "lot_number": "IVO-2601",
        "expiry_date": "2027-06-30",
        "quantity": 60,
        "received_date": "2026-03-02",
    }
    body.update(changes)
    return api.post(user, f"{BASE}/ip/receipts", body)


def _dispense(api: Api, subject_id: int, user: str = "coord1", **changes: Any) -> Any:
    body = {"agent": "ivonescimab", "lot_number": "IVO-2601", "quantity": 6, "dispensed_date": "2026-03-09"}
    body.update(changes)
    return api.post(user, f"{BASE}/subjects/{subject_id}/dispensations", body)


def _dose(api: Api, subject_id: int, cycle: int, day: str, given: float, **extra: Any) -> None:
    body = {"agent": "ivonescimab", "cycle": cycle, "date": day, "given_dose_mg": given, "weight_kg": 60}
    body.update(extra)
    response = api.post("coord1", f"{BASE}/subjects/{subject_id}/administrations", body)
    assert response.status_code == 201, response.text


def _count(api: Api, model: type[Any]) -> int:
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def test_receipt_dispense_return_and_the_reconciliation(api: Api) -> None:
    subject_id = add_subject(api, "IP-001")
    receipt = _receipt(api, entered_by="someone else")
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["unit"] == "vial" and receipt.json()["entered_by"] == "coord1"
    # cycle 1: 20 mg/kg x 60 kg = 1200 mg = 6 vials of 200 mg; cycle 2 reduced to 1000 mg = 5 vials
    _dose(api, subject_id, 1, "2026-03-09", 1200)
    _dose(api, subject_id, 2, "2026-03-30", 1000, deviation_reason="reduction")
    first = _dispense(api, subject_id, cycle=1)
    assert first.status_code == 201, first.text
    assert first.json()["expiry_date"] == "2027-06-30"  # the lot's expiry, from the receipt
    second = _dispense(api, subject_id, cycle=2, dispensed_date="2026-03-30")
    assert second.status_code == 201, second.text
    # one vial of cycle 2 came back unused
    back = {"quantity_returned": 1, "returned_date": "2026-03-30"}
    returned = api.put("coord1", f"{BASE}/dispensations/{second.json()['id']}/return", back)
    assert returned.status_code == 200, returned.text
    data = api.get("monitor", f"{BASE}/ip/reconciliation").json()
    [lot] = data["lots"]
    assert (lot["received"], lot["dispensed"], lot["returned"]) == (60, 12, 1)
    assert (lot["available"], lot["on_hand"], lot["expired"]) == (48, 49, False)
    [check] = data["subjects"]
    assert check["screening_number"] == "IP-001" and check["units_expected"] == 11
    assert check["units_used"] == 11 and not check["flagged"] and data["flagged"] == 0
    assert data["units"] == {"ivonescimab": "vial"}
    listed = api.get("inv1", f"{BASE}/subjects/{subject_id}/dispensations").json()
    assert [(d["cycle"], d["quantity_dispensed"], d["quantity_returned"]) for d in listed] == [
        (1, 6, None),
        (2, 6, 1),
    ]
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        tables = set(connection.execute(select(AuditRecord.table_name)).scalars())
    assert {"ip_receipts", "ip_dispensations"} <= tables


def test_a_return_not_recorded_is_flagged_and_a_correction_needs_a_reason(api: Api) -> None:
    subject_id = add_subject(api, "IP-002")
    assert _receipt(api).status_code == 201
    _dose(api, subject_id, 1, "2026-03-09", 1000, deviation_reason="reduction")
    dispensed = _dispense(api, subject_id)  # 6 vials for a 1000 mg dose (5 vials)
    flagged = api.get("coord1", f"{BASE}/ip/reconciliation").json()
    assert flagged["flagged"] == 1 and flagged["subjects"][0]["difference"] == 1
    url = f"{BASE}/dispensations/{dispensed.json()['id']}/return"
    assert api.put("coord1", url, {"quantity_returned": 1, "returned_date": "2026-03-10"}).status_code == 200
    assert api.get("coord1", f"{BASE}/ip/reconciliation").json()["flagged"] == 0
    # as of the day before the return, the vial was still out
    before = api.get("coord1", f"{BASE}/ip/reconciliation", params={"as_of": "2026-03-09"}).json()
    assert before["flagged"] == 1
    correction = api.put("coord1", url, {"quantity_returned": 2, "returned_date": "2026-03-10"})
    assert correction.status_code == 422 and correction.json()["field"] == "reason"
    body = {
        "quantity_returned": 0,
        "returned_date": "2026-03-10",
        "reason": "vial was opened, wrongly logged",
    }
    assert api.put("coord1", url, body).status_code == 200


def test_expired_stock_on_hand_is_counted(api: Api) -> None:
    assert _receipt(api, lot_number="OLD-1", expiry_date="2026-04-30", quantity=10).status_code == 201
    data = api.get("coord1", f"{BASE}/ip/reconciliation", params={"as_of": "2026-05-01"}).json()
    [lot] = data["lots"]
    assert lot["expired"] and lot["expired_on_hand"] == 10
    usable = api.get("coord1", f"{BASE}/ip/reconciliation", params={"as_of": "2026-04-30"}).json()
    assert usable["lots"][0]["expired_on_hand"] == 0  # usable up to and including the expiry date


BAD_RECEIPTS: list[tuple[dict[str, Any], int, str | None, str]] = [
    ({"agent": "shfrt"}, 422, "agent", "not an investigational product"),
    ({"expiry_date": "2026-03-02"}, 422, "expiry_date", "not after the receipt date"),
    ({"quantity": 0}, 422, "quantity", "between 1 and"),
    ({"quantity": 50000}, 422, "quantity", "between 1 and"),
    ({"received_date": "2099-01-01", "expiry_date": "2100-01-01"}, 422, "received_date", "future"),
    ({"lot_number": "  "}, 422, "lot_number", "printable"),
    ({"site_code": "S02"}, 404, None, "no site S02"),  # coord1 is not at S02
]


def test_bad_receipts_are_refused_naming_the_field_and_nothing_is_written(api: Api) -> None:
    for changes, status, field, words in BAD_RECEIPTS:
        response = _receipt(api, **changes)
        assert response.status_code == status, (changes, response.text)
        assert response.json()["field"] == field, (changes, response.json())
        assert words in response.json()["detail"], (changes, response.json())
    assert _receipt(api).status_code == 201
    other_expiry = _receipt(api, expiry_date="2027-12-31")
    assert other_expiry.status_code == 422 and "one lot has one expiry" in other_expiry.json()["detail"]
    assert _count(api, IpReceipt) == 1
    assert _receipt(api, user="monitor").status_code == 403


def test_bad_dispensations_are_refused_naming_the_field_and_nothing_is_written(api: Api) -> None:
    subject_id = add_subject(api, "IP-003")
    other_site = add_subject(api, "IP-004", site="S02")
    assert _receipt(api).status_code == 201
    assert _receipt(api, user="coord2", site_code="S02", lot_number="IVO-S02").status_code == 201
    assert _receipt(api, lot_number="EXP-1", expiry_date="2026-03-31", quantity=10).status_code == 201
    assert _receipt(api, lot_number="LATE-1", received_date="2026-03-20").status_code == 201
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"lot_number": "NOPE"}, "lot_number", "has not been received at site S01"),
        ({"lot_number": "IVO-S02"}, "lot_number", "has not been received at site S01"),  # S02's lot
        ({"lot_number": "EXP-1", "dispensed_date": "2026-04-01"}, "lot_number", "expired on 2026-03-31"),
        ({"quantity": 101}, "quantity", "between 1 and"),
        ({"quantity": 0}, "quantity", "between 1 and"),
        ({"lot_number": "LATE-1"}, "lot_number", "after the dispensing date"),
        ({"dispensed_date": "2026-03-05"}, "dispensed_date", "before the subject's enrolment"),
        ({"dispensed_date": "2099-01-01"}, "dispensed_date", "future"),
        ({"agent": "shfrt"}, "agent", "not an investigational product"),
        ({"cycle": 0}, "cycle", "neither recorded nor within"),
    ]
    for changes, field, words in cases:
        response = _dispense(api, subject_id, **changes)
        assert response.status_code == 422, (changes, response.text)
        assert response.json()["field"] == field, (changes, response.json())
        assert words in response.json()["detail"], (changes, response.json())
    assert _dispense(api, subject_id, quantity=50).status_code == 201
    more = _dispense(api, subject_id, quantity=11)  # 60 received, 50 out: 10 left
    assert more.status_code == 422 and more.json()["field"] == "quantity"
    assert "only 10 vial(s) of lot IVO-2601 are left" in more.json()["detail"]
    assert _dispense(api, other_site).status_code == 404  # another site's subject
    assert _dispense(api, other_site, user="coord2", lot_number="IVO-S02").status_code == 201
    assert _count(api, IpDispensation) == 2


def test_dead_or_not_enrolled_subjects_and_bad_returns(api: Api) -> None:
    dead = add_subject(api, "IP-005", status="died", death_date=dt.date(2026, 3, 20))
    waiting = add_subject(api, "IP-006", status="screening", enrolled_at=None, arm_id=None, phase_id=None)
    assert _receipt(api).status_code == 201
    after_death = _dispense(api, dead, dispensed_date="2026-03-21")
    assert after_death.status_code == 422 and after_death.json()["field"] == "dispensed_date"
    assert "death" in after_death.json()["detail"]
    refused = _dispense(api, waiting)
    assert refused.status_code == 409 and refused.json()["rule"] == "subject_status"
    dispensed = _dispense(api, dead).json()
    url = f"{BASE}/dispensations/{dispensed['id']}/return"
    too_many = api.put("coord1", url, {"quantity_returned": 7, "returned_date": "2026-03-10"})
    assert too_many.status_code == 422 and too_many.json()["field"] == "quantity_returned"
    too_early = api.put("coord1", url, {"quantity_returned": 1, "returned_date": "2026-03-08"})
    assert too_early.status_code == 422 and too_early.json()["field"] == "returned_date"
    assert api.put("coord2", url, {"quantity_returned": 1, "returned_date": "2026-03-10"}).status_code == 404
    unknown = f"{BASE}/dispensations/999999/return"
    assert (
        api.put("coord1", unknown, {"quantity_returned": 1, "returned_date": "2026-03-10"}).status_code == 404
    )


def test_reconciliation_by_role_and_site(api: Api) -> None:
    add_subject(api, "IP-007")
    add_subject(api, "IP-008", site="S02")
    assert _receipt(api).status_code == 201
    assert _receipt(api, user="coord2", site_code="S02", lot_number="IVO-S02").status_code == 201
    own = api.get("coord2", f"{BASE}/ip/reconciliation").json()
    assert own["sites"] == ["S02"] and [lot["site_code"] for lot in own["lots"]] == ["S02"]
    assert api.get("coord2", f"{BASE}/ip/reconciliation", params={"site": "S01"}).status_code == 404
    for user in ("monitor", "admin", "stat"):
        everything = api.get(user, f"{BASE}/ip/reconciliation")
        assert everything.status_code == 200, (user, everything.text)
        assert everything.json()["sites"] == ["S01", "S02"]
    one = api.get("monitor", f"{BASE}/ip/reconciliation", params={"site": "S01"}).json()
    assert [lot["lot_number"] for lot in one["lots"]] == ["IVO-2601"]
    receipts = api.get("coord2", f"{BASE}/ip/receipts").json()
    assert [(r["site_code"], r["lot_number"]) for r in receipts] == [("S02", "IVO-S02")]
    assert api.get("coord1", "/api/trials/scr-escc-01/ip/reconciliation").json()["lots"] == []


def test_the_trial_report_has_the_reconciliation_per_site(api: Api) -> None:
    from trialdesk.services.treatment_report import IP_RECONCILIATION, treatment_tables

    subject_id = add_subject(api, "IP-009")
    assert _receipt(api).status_code == 201
    assert (
        _receipt(api, user="coord2", site_code="S02", lot_number="OLD", expiry_date="2026-04-30").status_code
        == 201
    )
    _dose(api, subject_id, 1, "2026-03-09", 1200)
    assert _dispense(api, subject_id, quantity=7).status_code == 201
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    registry = api.client.app.state.registry  # type: ignore[attr-defined]
    with unit_of_work(engine, None, write=False) as session:
        rows = treatment_tables(session, registry.get(TRIAL), dt.date(2026, 6, 1))[IP_RECONCILIATION]
        before = treatment_tables(session, registry.get(TRIAL), dt.date(2026, 3, 1))[IP_RECONCILIATION]
    assert rows == [
        {
            "Site": "S01",
            "Product (unit)": "ivonescimab (vial)",
            "Lots": "1",
            "Received": "60",
            "Dispensed": "7",
            "Returned": "0",
            "On hand": "53",
            "Expired on hand": "0",
            "Subjects: log vs doses disagree": "1 of 1",
        },
        {
            "Site": "S02",
            "Product (unit)": "ivonescimab (vial)",
            "Lots": "1",
            "Received": "60",
            "Dispensed": "0",
            "Returned": "0",
            "On hand": "60",
            "Expired on hand": "60",
            "Subjects: log vs doses disagree": "0 of 0",
        },
    ]
    assert before == []  # nothing received by the cut-off
