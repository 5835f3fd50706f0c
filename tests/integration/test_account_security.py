"""Accounts (issue 15; 21 CFR Part 11 s11.10(d), s11.300): lock-out, per-address rate limit,
constant-work sign-in, bounded usernames, password change and the forced change after a reset, no
change of one's own role, no-store caching and private files. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.integration.api_helpers import PASSWORD, Api
from trialdesk.adapters.db.engine import make_engine, unit_of_work
from trialdesk.adapters.db.models import AuditRecord, LoginFailure
from trialdesk.services import auth

NEW_PASSWORD = "a fresh meadow of poppies"


def _login(api: Api, username: str, password: str) -> Any:
    return api.client.post("/api/auth/token", data={"username": username, "password": password})


def _audit_rows(api: Api) -> int:
    with unit_of_work(api.client.app.state.engine, None, write=False) as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def test_five_failures_lock_the_username_for_fifteen_minutes(api: Api) -> None:
    for _ in range(5):
        assert _login(api, "coord1", "wrong password here").status_code == 401
    locked = _login(api, "coord1", PASSWORD)  # even the right password is refused while locked
    assert locked.status_code == 429 and locked.json()["rule"] == "account_locked"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert _login(api, "coord2", PASSWORD).status_code == 200  # other accounts are not affected
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, None) as session:  # the window passes
        session.execute(
            update(LoginFailure).values(failed_at=LoginFailure.failed_at - dt.timedelta(minutes=16))
        )
    assert _login(api, "coord1", PASSWORD).status_code == 200


def test_an_unknown_username_locks_the_same_way_so_lock_out_reveals_nothing(api: Api) -> None:
    for _ in range(5):
        assert _login(api, "nobody-here", "wrong password here").status_code == 401
    assert _login(api, "nobody-here", "wrong password here").status_code == 429


def test_a_success_clears_earlier_failures(api: Api) -> None:
    for _ in range(4):
        _login(api, "inv1", "wrong password here")
    assert _login(api, "inv1", PASSWORD).status_code == 200
    for _ in range(4):
        _login(api, "inv1", "wrong password here")
    assert _login(api, "inv1", PASSWORD).status_code == 200


def test_sign_in_verifies_one_hash_whether_or_not_the_user_exists(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time of a refused sign-in does not reveal whether the username exists: an unknown user
    costs the same one argon2 verification (against a stand-in hash) as a known one."""
    calls: list[str] = []
    real = auth.password_matches

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "password_matches", counting)
    assert _login(api, "coord1", "wrong password here").status_code == 401
    assert _login(api, "no-such-user", "wrong password here").status_code == 401
    assert len(calls) == 2 and calls[1] == auth._DUMMY_HASH


def test_an_overlong_username_is_refused_before_anything_is_written(api: Api) -> None:
    before = _audit_rows(api)
    response = _login(api, "u" * 10_000, "whatever password")
    assert response.status_code == 422 and response.json()["field"] == "username"
    assert _audit_rows(api) == before


def test_one_address_may_try_only_so_often(database_url: str, tmp_path: Path) -> None:
    from tests.integration.api_helpers import build_api

    os.environ["TRIALDESK_LOGIN_RATE_PER_MINUTE"] = "3"
    try:
        limited = build_api(database_url, tmp_path)
    finally:
        os.environ["TRIALDESK_LOGIN_RATE_PER_MINUTE"] = "10000"
    with limited.client:
        assert [_login(limited, "coord1", PASSWORD).status_code for _ in range(3)] == [200, 200, 200]
        refused = _login(limited, "coord1", PASSWORD)
        assert refused.status_code == 429 and refused.json()["rule"] == "login_rate_limit"
        assert int(refused.headers["Retry-After"]) >= 1
    limited.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_password_change_needs_the_old_password_and_the_policy(api: Api) -> None:
    url = "/api/auth/password"
    wrong = api.post("coord1", url, {"old_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and wrong.json()["field"] == "old_password"
    weak = api.post("coord1", url, {"old_password": PASSWORD, "new_password": "1234567890qwerty"})
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"
    assert "commonly used" in weak.json()["detail"]
    same = api.post("coord1", url, {"old_password": PASSWORD, "new_password": PASSWORD})
    assert same.status_code == 422
    other_session = _login(api, "coord1", PASSWORD).json()["access_token"]
    assert (
        api.post("coord1", url, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 204
    )
    assert api.get("coord1", "/api/auth/me").status_code == 200  # this session stays
    gone = api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {other_session}"})
    assert gone.status_code == 401  # every other session ended
    assert _login(api, "coord1", NEW_PASSWORD).status_code == 200
    events = api.get("monitor", "/api/audit", params={"table": "users", "page_size": 500}).json()["items"]
    assert "password_change" in {row["action"] for row in events}
    assert not any(NEW_PASSWORD in str(row) for row in events)


def test_after_an_admin_reset_only_the_password_change_is_allowed(api: Api) -> None:
    users = {u["username"]: u["id"] for u in api.get("admin", "/api/users").json()}
    temporary = "handed over on paper 42"
    reset = api.post(
        "admin", f"/api/users/{users['inv1']}/password", {"password": temporary, "reason": "forgot"}
    )
    assert reset.status_code == 200
    issued = _login(api, "inv1", temporary).json()
    assert issued["password_change_required"] is True
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    blocked = api.client.get("/api/trials/scr-escc-01/subjects", headers=headers)
    assert blocked.status_code == 403 and blocked.json()["rule"] == "password_change_required"
    assert api.client.get("/api/auth/me", headers=headers).status_code == 200
    body = {"old_password": temporary, "new_password": NEW_PASSWORD}
    assert api.client.post("/api/auth/password", headers=headers, json=body).status_code == 204
    assert api.client.get("/api/trials/scr-escc-01/subjects", headers=headers).status_code == 200
    assert _login(api, "inv1", NEW_PASSWORD).json()["password_change_required"] is False


def test_the_browser_is_sent_to_the_password_change_after_a_reset(api: Api) -> None:
    users = {u["username"]: u["id"] for u in api.get("admin", "/api/users").json()}
    temporary = "handed over on paper 42"
    api.post("admin", f"/api/users/{users['coord2']}/password", {"password": temporary, "reason": "forgot"})
    browser = TestClient(api.client.app)
    page = browser.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    signed = browser.post(
        "/login",
        data={"username": "coord2", "password": temporary, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/account/password"
    home = browser.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/account/password"
    form = browser.get("/account/password")
    assert "An administrator reset your password" in form.text
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    data = {
        "old_password": temporary,
        "new_password": NEW_PASSWORD,
        "confirm_password": "typo",
        "csrf_token": csrf,
    }
    assert browser.post("/account/password", data=data).status_code == 422
    data["confirm_password"] = NEW_PASSWORD
    done = browser.post("/account/password", data=data)
    assert done.status_code == 200 and "Your password has been changed" in done.text
    assert browser.get("/", follow_redirects=False).status_code == 200


def test_nobody_changes_their_own_role(api: Api) -> None:
    users = {u["username"]: u["id"] for u in api.get("admin", "/api/users").json()}
    own = api.patch(
        "admin", f"/api/users/{users['admin']}/role", {"role": "statistician", "reason": "why not"}
    )
    assert own.status_code == 409 and own.json()["rule"] == "own_role"


def test_patient_data_is_never_cached(api: Api) -> None:
    assert api.get("coord1", "/api/trials/scr-escc-01/subjects").headers["cache-control"] == "no-store"
    assert api.client.get("/login").headers["cache-control"] == "no-store"
    assert "no-store" not in api.client.get("/static/app.css").headers.get("cache-control", "")


def test_the_sqlite_file_and_exports_are_private(tmp_path: Path) -> None:
    from trialdesk.entrypoints.cli.output import write_private

    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'trial.sqlite3'}")
    with engine.connect():
        pass
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "new" / "trial.sqlite3").stat().st_mode) == 0o600
    export = tmp_path / "report.pdf"
    export.write_bytes(b"old")
    export.chmod(0o644)
    write_private(export, b"%PDF-")
    assert stat.S_IMODE(export.stat().st_mode) == 0o600 and export.read_bytes() == b"%PDF-"


def test_privileged_grants_and_lock_outs_are_security_alerts_for_admins(api: Api) -> None:
    users = {u["username"]: u["id"] for u in api.get("admin", "/api/users").json()}
    body = {"role": "statistician", "reason": "takes over the analysis"}
    assert api.patch("admin", f"/api/users/{users['monitor']}/role", body).status_code == 200
    created = api.post(
        "admin",
        "/api/users",
        {
            "username": "dsmb2",
            "full_name": "D",
            "role": "safety_reviewer",
            "password": "a long enough phrase",
        },
    )
    assert created.status_code == 201
    assert _login(api, "dsmb2", "a long enough phrase").json()["password_change_required"] is True
    for _ in range(5):
        _login(api, "coord2", "wrong password here")
    events = api.get("admin", "/api/audit", params={"table": "users", "page_size": 500}).json()["items"]
    grants = [e for e in events if e["action"] == "privileged_role_granted"]
    assert {(g["old_value"], g["new_value"]) for g in grants} >= {
        ("monitor", "statistician"),
        (None, "safety_reviewer"),
    }
    assert [e["record_id"] for e in events if e["action"] == "account_locked"] == ["coord2"]
    browser = TestClient(api.client.app)
    page = browser.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    browser.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf})
    admin_page = browser.get("/admin").text
    assert "Security alerts (last 30 days)" in admin_page
    assert "privileged role granted" in admin_page and "sign-in locked out" in admin_page
    assert "takes over the analysis" in admin_page
