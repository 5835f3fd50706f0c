"""Helpers for tests of the server-rendered pages: the form's CSRF token, a client signed in by the form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.integration.api_helpers import PASSWORD, Api


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on the page; fails the test when the page has none."""
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match, "page without a CSRF token"
    return match.group(1)


def signed_in(api: Api, username: str) -> TestClient:
    """A second client on the same app (its own cookies), signed in as ``username`` through the form."""
    client = TestClient(api.client.app)
    token = csrf_token(client.get("/login").text)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return client
