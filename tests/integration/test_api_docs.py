"""/docs and /redoc work offline: every script, style and icon they reference is served by trialdesk."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from trialdesk.config import Settings
from trialdesk.entrypoints.api.app import build_app_without_database

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data_dir: Path = tmp_path_factory.mktemp("data")
    return TestClient(build_app_without_database(Settings(data_dir=data_dir)))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_page_loads_nothing_from_another_origin(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    references = [a or b for a, b in REFERENCE.findall(response.text)]
    assert any(ref.endswith(".js") for ref in references), references
    assert "openapi.json" in " ".join(references)
    for ref in references:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc, f"{page} references {ref} on another origin"
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert asset.content, ref
    assert "googleapis" not in response.text and "cdn" not in response.text.lower()


def test_documentation_pages_are_not_api_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith(("/docs", "/redoc")) for path in paths)
