"""Security headers: pages carry a same-origin content-security policy with no inline script or
style; every answer refuses MIME sniffing, framing and referrers."""

from __future__ import annotations

from pathlib import Path

from tests.integration.api_helpers import build_api


def test_pages_and_api_answers_carry_the_security_headers(tmp_path: Path) -> None:
    client = build_api(f"sqlite:///{tmp_path / 'h.sqlite3'}", tmp_path).client
    page = client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    for response in (
        page,
        client.get("/health"),
        client.get("/static/app.css"),
        client.get("/api/protocols"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in client.get("/docs").headers  # its own inline start-up script
    assert page.headers["cache-control"] == "no-store"
