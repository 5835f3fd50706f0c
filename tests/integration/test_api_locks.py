"""Freeze and lock (issue 14), through the API on SQLite AND PostgreSQL: every write path refuses
changes to frozen or locked data with a 409 naming the freeze or lock and writes nothing; a freeze is
lifted by one user with a reason; a lock is released only by two different people of the two
unlocking roles (data manager, statistician), each with a reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.integration.api_helpers import PASSWORD, Api
from tests.integration.test_api_forms import DEMOGRAPHICS, _save, _url
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, DataLock, FormValue
from trialdesk.services import admin

IVO = "ivo-shfrt-2l"
LOCKS = f"/api/trials/{IVO}/locks"


def add_data_managers(api: Api) -> None:
    """A second data manager (dm2) beside the harness's ``dm``."""
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap") as session:
        for name in ("dm2",):
            admin.add_user(
                session, None, username=name, full_name=name, role="data_manager", password=PASSWORD
            )


def _count(api: Api, model: Any) -> int:
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def _audit_rows(api: Api) -> int:
    return _count(api, AuditRecord)


def test_a_subject_lock_refuses_every_write_and_needs_two_roles_to_release(api: Api) -> None:
    add_data_managers(api)
    subject_id = api.enrolled_subject(IVO, "IVO-L-1")
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS).status_code == 200
    body = {"kind": "lock", "scope": "subject", "subject_id": subject_id, "reason": "interim cut"}
    assert api.post("monitor", LOCKS, body).status_code == 403
    assert api.post("dm", LOCKS, {**body, "reason": ""}).json()["field"] == "reason"
    created = api.post("dm", LOCKS, body)
    assert created.status_code == 201, created.text
    lock = created.json()
    assert lock["active"] and len(lock["content_sha256"]) == 64 and lock["created_by"] == "dm"
    assert api.post("dm", LOCKS, body).json()["rule"] == "lock_exists"

    before = (_audit_rows(api), _count(api, FormValue))
    changed = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 2}, reason="typo found")
    assert changed.status_code == 409, changed.text
    assert changed.json()["rule"] == "data_locked" and f"lock #{lock['id']}" in changed.json()["detail"]
    assert api.ae(IVO, subject_id, 2, related=True).status_code == 409
    assert (_audit_rows(api), _count(api, FormValue)) == before  # nothing written
    assert api.get("coord1", _url(subject_id, "demographics")).json()["values"]["ecog"]["value"] == 1

    url = f"{LOCKS}/{lock['id']}"
    assert api.post("dm", f"{url}/unlock-release", {"reason": "no request yet"}).json()["rule"] == (
        "unlock_two_roles"
    )
    assert api.post("coord1", f"{url}/unlock-request", {"reason": "please"}).status_code == 403
    assert api.post("dm", f"{url}/lift", {"reason": "not a freeze"}).json()["rule"] == "lock_kind"
    assert api.post("dm", f"{url}/unlock-request", {"reason": "correction needed"}).status_code == 200
    for same in ("dm", "dm2"):  # the requester, then another person of the SAME role
        refused = api.post(same, f"{url}/unlock-release", {"reason": "agree to unlock"})
        assert refused.status_code == 409 and refused.json()["rule"] == "unlock_two_roles"
    released = api.post("stat", f"{url}/unlock-release", {"reason": "agree to unlock"})
    assert released.status_code == 200 and released.json()["released_by"] == "stat"
    assert not released.json()["active"]
    assert (
        _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 2}, reason="typo").status_code == 200
    )
    listing = api.get("monitor", LOCKS).json()
    assert [(x["id"], x["release_requested_by"], x["released_by"]) for x in listing] == [
        (lock["id"], "dm", "stat")
    ]


def test_a_form_record_freeze_stops_entry_until_lifted_with_a_reason(api: Api) -> None:
    add_data_managers(api)
    subject_id = api.enrolled_subject(IVO, "IVO-L-2")
    record_id = _save(api, subject_id, "demographics", DEMOGRAPHICS).json()["id"]
    body = {"kind": "freeze", "scope": "form_record", "form_record_id": record_id, "reason": "ready for SDV"}
    frozen = api.post("monitor", LOCKS, body)
    assert frozen.status_code == 201, frozen.text
    assert api.post("monitor", LOCKS, {**body, "scope": "database"}).json()["field"] == "scope"
    refused = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 0}, reason="wrong ECOG")
    assert refused.status_code == 409 and refused.json()["rule"] == "data_frozen"
    assert api.ae(IVO, subject_id, 2, related=True).status_code == 201  # other data of the subject moves
    url = f"{LOCKS}/{frozen.json()['id']}"
    assert api.post("coord1", f"{url}/lift", {"reason": "need to fix"}).status_code == 403
    assert api.post("monitor", f"{url}/lift", {"reason": "x"}).json()["field"] == "reason"
    assert api.post("dm", f"{url}/lift", {"reason": "site query on ECOG"}).status_code == 200
    ok = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 0}, reason="wrong ECOG")
    assert ok.status_code == 200, ok.text


def test_cutoff_and_database_locks(api: Api) -> None:
    add_data_managers(api)
    subject_id = api.enrolled_subject(IVO, "IVO-L-3")
    cut = {"kind": "lock", "scope": "cutoff", "cutoff_date": "2026-05-02", "reason": "DSMB cut-off"}
    assert api.post("dm", LOCKS, {**cut, "cutoff_date": "2999-01-01"}).json()["field"] == "cutoff_date"
    assert api.post("dm", LOCKS, {**cut, "cutoff_date": None}).json()["field"] == "cutoff_date"
    assert api.post("dm", LOCKS, cut).status_code == 201
    early = api.ae(IVO, subject_id, 2, related=True)  # onset 2026-05-01: on/before the cut-off
    assert early.status_code == 409 and "cut-off 2026-05-02" in early.json()["detail"]
    database = api.post("dm", LOCKS, {"kind": "lock", "scope": "database", "reason": "final analysis"})
    assert database.status_code == 201
    screened = api.screen(IVO, "IVO-L-4")
    assert screened.status_code == 409 and screened.json()["rule"] == "data_locked"
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        hashes = connection.execute(select(DataLock.content_sha256).order_by(DataLock.id)).scalars().all()
    assert len(hashes) == 2 and all(len(h) == 64 for h in hashes)


def test_report_from_a_lock_through_the_api(api: Api) -> None:
    add_data_managers(api)
    api.enrolled_subject(IVO, "IVO-L-5")
    lock = api.post("dm", LOCKS, {"kind": "lock", "scope": "database", "reason": "final analysis"}).json()
    url = f"{LOCKS}/{lock['id']}/report"
    assert api.get("dm", url).status_code == 403  # the data manager does not run analyses
    first, second = api.get("monitor", url), api.get("monitor", url)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.content == second.content
    html = api.get("stat", url, params={"format": "html"}).text
    assert f"Built from database lock #{lock['id']}, SHA-256 {lock['content_sha256']}" in html


def test_a_cutoff_lock_lets_later_facts_in(api: Api) -> None:
    add_data_managers(api)
    subject_id = api.enrolled_subject(IVO, "IVO-L-6")
    base = f"/api/trials/{IVO}/subjects/{subject_id}"
    assert api.put("inv1", f"{base}/follow-up", {"treatment_start_date": "2026-03-09"}).status_code == 200
    cut = {"kind": "lock", "scope": "cutoff", "cutoff_date": "2026-04-30", "reason": "DSMB cut-off"}
    assert api.post("dm", LOCKS, cut).status_code == 201
    later = api.put(
        "inv1",
        f"{base}/follow-up",
        {"treatment_start_date": "2026-03-09", "last_known_alive_date": "2026-06-01"},
    )
    assert later.status_code == 200, later.text  # a fact dated after the cut-off
    earlier = api.put(
        "inv1", f"{base}/follow-up", {"treatment_start_date": "2026-03-10", "reason": "date was wrong"}
    )
    assert earlier.status_code == 409 and earlier.json()["rule"] == "data_locked", earlier.text
