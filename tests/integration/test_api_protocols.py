"""The read-only protocol API and /health, in-process and through a real `trialdesk serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.server import free_port
from trialdesk.config import Settings
from trialdesk.entrypoints.api.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_health_lists_loaded_protocols(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["protocols"] == ["ivo-shfrt-2l", "scr-escc-01"]


def test_list_protocols(client: TestClient) -> None:
    rows = client.get("/api/protocols").json()
    assert [r["id"] for r in rows] == ["ivo-shfrt-2l", "scr-escc-01"]
    assert rows[1]["phases"] == ["iia", "iib"] and rows[1]["arms"] == ["A", "B"]


def test_get_protocol_returns_full_spec(client: TestClient) -> None:
    data = client.get("/api/protocols/ivo-shfrt-2l").json()
    assert data["design"]["target_enrolment"]["value"] == 37
    assert data["tumour_assessment"]["lesion_counting"]["regional_nodes"] == "single_lesion"


def test_unknown_protocol_is_404_naming_known_ids(client: TestClient) -> None:
    response = client.get("/api/protocols/nope")
    assert response.status_code == 404
    assert "known: ivo-shfrt-2l, scr-escc-01" in response.json()["detail"]
    # the documented error body (found by schemathesis: the route answered {"detail"} alone)
    assert response.json()["field"] == "protocol_id" and "rule" in response.json()


def test_openapi_document_describes_protocol_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/api/protocols", "/api/protocols/{protocol_id}"} <= set(paths)


def test_trialdesk_serve_answers_health_on_loopback(tmp_path: Path) -> None:
    """What `make run` starts: the real CLI entry point under uvicorn, bound to 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "TRIALDESK_DATA_DIR": str(tmp_path)}
    cmd = [
        sys.executable,
        "-m",
        "trialdesk.entrypoints.cli.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"server did not start: {output}")
                time.sleep(0.2)
        assert response.json()["protocols"] == ["ivo-shfrt-2l", "scr-escc-01"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/protocols", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
