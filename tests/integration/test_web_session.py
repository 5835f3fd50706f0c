"""Browser sessions of the web pages: cookie flags, CSRF on every form, redirects, idle timeout and
logout (HTTP level; the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import PASSWORD, build_api
from tests.integration.web_helpers import csrf_token as _csrf


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    api = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    return api.client


def _login(client: TestClient, token: str, username: str = "coord1") -> object:
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


def _sign_in(client: TestClient, username: str = "coord1", next_path: str = "/") -> None:
    token = _csrf(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": next_path, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_pages_redirect_to_sign_in_and_back(client: TestClient) -> None:
    response = client.get("/?x=1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/?x=1"
    _sign_in(client)
    assert client.get("/").status_code == 200


def test_session_cookie_is_httponly_samesite_strict(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "coord1", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "trialdesk_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development; Secure everywhere else (next test)


def test_session_cookie_is_secure_outside_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    api.client.app.state.settings = api.client.app.state.settings.model_copy(update={"environment": "test"})  # type: ignore[attr-defined]
    token = _csrf(api.client.get("/login").text)
    response = api.client.post(
        "/login",
        data={"username": "coord1", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_forms_without_the_csrf_token_are_refused(client: TestClient) -> None:
    client.get("/login")
    refused = client.post("/login", data={"username": "coord1", "password": PASSWORD})
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    _sign_in(client)
    assert client.post("/logout", data={"csrf_token": "0" * 64}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_sign_in_never_redirects_to_another_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        token = _csrf(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": "coord1", "password": PASSWORD, "next": target, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


def test_wrong_password_keeps_the_username_and_is_audited(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"username": "coord1", "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    assert 'value="coord1"' in response.text and "Wrong username or password" in response.text
    assert 'value="nope"' not in response.text  # a password is never sent back


def test_sign_out_revokes_the_session(client: TestClient) -> None:
    _sign_in(client)
    home = client.get("/")
    old_cookie = client.cookies.get("trialdesk_session")
    client.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
    client.cookies.set("trialdesk_session", old_cookie or "")  # a stolen copy of the cookie
    assert client.get("/", follow_redirects=False).status_code == 303


def test_api_errors_stay_json_and_page_errors_are_html(client: TestClient) -> None:
    assert client.get("/api/nothing").json() == {"detail": "Not Found"}
    _sign_in(client)
    page = client.get("/nothing")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "no-store" in page.headers["cache-control"]


def test_a_session_idle_for_longer_than_the_timeout_is_refused_and_each_page_slides_it(
    client: TestClient,
) -> None:
    import datetime as dt

    from sqlalchemy import select

    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.adapters.db.models import AuthToken

    _sign_in(client)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "test", write=False) as session:
        before = session.scalars(select(AuthToken.expires_at)).one()
    assert client.get("/").status_code == 200
    with unit_of_work(engine, "test", write=False) as session:
        after = session.scalars(select(AuthToken.expires_at)).one()
    assert after >= before  # a page request slides the idle timeout forward
    with unit_of_work(engine, "test") as session:  # idle for longer than the timeout
        for row in session.scalars(select(AuthToken)):
            row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    refused = client.get("/", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
