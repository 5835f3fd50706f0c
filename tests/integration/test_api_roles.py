"""Every role x endpoint family: allowed or refused (401/403), on SQLite and PostgreSQL.

Site scoping (another site's subject is 404) is covered in test_api_operations.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api_helpers import Api, patient

SCR = "scr-escc-01"
ROLES = ["coord1", "inv1", "stat", "safety", "monitor", "dm", "admin"]


def _request(api: Api, user: str, family: str, n: int) -> Any:
    """One representative request of each endpoint family, made as ``user``."""
    if family == "create_site":
        return api.post(user, "/api/sites", {"protocol_id": SCR, "code": f"N{n}", "name": "New site"})
    if family == "create_user":
        body = {"username": f"u{n}", "full_name": "U", "role": "monitor", "password": "long enough pw"}
        return api.post(user, "/api/users", body)
    if family == "list_users":
        return api.get(user, "/api/users")
    if family == "screen":
        return api.post(
            user, f"/api/trials/{SCR}/subjects", {"site_code": "S01", "patient": patient(SCR, f"R-{n}")}
        )
    if family == "read_subjects":
        return api.get(user, f"/api/trials/{SCR}/subjects")
    if family == "screening_log":
        return api.get(user, f"/api/trials/{SCR}/screening-log")
    if family == "trial_state":
        return api.get(user, f"/api/trials/{SCR}")
    if family == "gate_evidence":
        return api.get(user, f"/api/trials/{SCR}/gate-evidence")
    if family == "phase_move":
        return api.post(user, f"/api/trials/{SCR}/phase", {"target": "run_in_review", "reason": "role test"})
    if family == "randomization_list":
        return api.get(user, f"/api/trials/{SCR}/randomization-lists")
    if family == "audit":
        return api.get(user, "/api/audit")
    raise AssertionError(family)


ALLOWED = {
    "create_site": {"admin"},
    "create_user": {"admin"},
    "list_users": {"admin"},
    "screen": {"coord1", "inv1"},
    "read_subjects": {"coord1", "inv1", "stat", "safety", "monitor", "dm"},
    "screening_log": {"coord1", "inv1", "stat", "safety", "monitor", "dm"},
    "trial_state": set(ROLES),
    "gate_evidence": {"stat", "safety", "monitor"},  # the safety review only (not the data manager)
    "phase_move": {"safety"},
    "randomization_list": {"stat"},
    "audit": {"monitor", "dm", "admin"},
}


@pytest.mark.parametrize("family", sorted(ALLOWED))
def test_role_matrix(api: Api, family: str) -> None:
    results = {}
    for n, user in enumerate(ROLES):
        response = _request(api, user, family, n)
        results[user] = response.status_code
    allowed = {user for user, code in results.items() if code < 400}
    refused = {user: code for user, code in results.items() if code >= 400}
    assert allowed == ALLOWED[family], results
    assert set(refused.values()) <= {403}, results


@pytest.mark.parametrize("family", sorted(ALLOWED))
def test_every_family_needs_a_token(api: Api, family: str) -> None:
    response = _request_anonymous(api, family)
    assert response.status_code == 401


def _request_anonymous(api: Api, family: str) -> Any:
    saved = dict(api.tokens)
    api.tokens["anonymous"] = "not-a-token"
    try:
        return _request(api, "anonymous", family, 99)
    finally:
        api.tokens.clear()
        api.tokens.update(saved)


def test_role_change_is_audited_as_a_security_event(api: Api) -> None:
    users = api.get("admin", "/api/users").json()
    monitor = next(u for u in users if u["username"] == "monitor")
    site = api.site_ids[(SCR, "S01")]
    no_reason = api.patch(
        "admin", f"/api/users/{monitor['id']}/role", {"role": "coordinator", "site_ids": [site], "reason": ""}
    )
    assert no_reason.status_code == 422
    changed = api.patch(
        "admin",
        f"/api/users/{monitor['id']}/role",
        {"role": "coordinator", "site_ids": [site], "reason": "moved to site S01"},
    )
    assert changed.status_code == 200 and changed.json()["role"] == "coordinator"
    rows = api.get("admin", "/api/audit", params={"username": "admin"}).json()["items"]
    events = [
        (r["action"], r["field"], r["old_value"], r["new_value"]) for r in rows if r["table"] == "users"
    ]
    assert ("update", "role", "monitor", "coordinator") in events
    assert ("role_change", None, "monitor", "coordinator") in events


def test_audit_reads_are_audited_and_filterable(api: Api) -> None:
    subject_id = api.post(
        "coord1", f"/api/trials/{SCR}/subjects", {"site_code": "S01", "patient": patient(SCR, "AUD-1")}
    ).json()["id"]
    page = api.get("monitor", "/api/audit", params={"subject_id": subject_id, "page_size": 2}).json()
    assert page["total"] >= 2 and len(page["items"]) == 2
    assert {row["subject_id"] for row in page["items"]} == {subject_id}
    exports = [
        r
        for r in api.get("admin", "/api/audit", params={"username": "monitor"}).json()["items"]
        if r["action"] == "export"
    ]
    assert exports, "reading the audit trail is itself audited"


def test_the_admin_reads_administration_events_never_clinical_rows(api: Api) -> None:
    subject_id = api.post(
        "coord1", f"/api/trials/{SCR}/subjects", {"site_code": "S01", "patient": patient(SCR, "AUD-2")}
    ).json()["id"]
    monitor_view = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()
    assert monitor_view["total"] > 0
    admin_view = api.get("admin", "/api/audit", params={"subject_id": subject_id}).json()
    assert admin_view["total"] == 0 and admin_view["items"] == []
    everything = api.get("admin", "/api/audit", params={"page_size": 1000}).json()["items"]
    assert {row["table"] for row in everything} <= {"users", "sites", "user_sites", "audit_log"}
    assert any(row["action"] == "login_success" for row in everything)
