"""kill -9 of PostgreSQL in the middle of a write burst: no acknowledged write is lost, the audit chain
verifies, the outage is answered with a clean 503, and the running application recovers by itself once
the database is back (crash recovery from the WAL on restart).

Bounded: one throw-away PostgreSQL cluster of its own (the session's server is never killed), one
application server on 127.0.0.1, four writers sending at most 60 screenings each with a 10 s timeout.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.integration.api_helpers import PASSWORD, build_api, patient
from tests.support.postgres import PostgresServer
from tests.support.server import AppServer, free_port
from trialdesk.adapters.db.audit import verify_chain
from trialdesk.adapters.db.engine import make_engine

SCR = "scr-escc-01"


def _login(base: str, user: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/api/auth/token", data={"username": user, "password": PASSWORD}, timeout=30
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


class Burst:
    """Writers screening new patients until stopped; what the server acknowledged (201) and when."""

    def __init__(self, base_url: str, headers: dict[str, str], writers: int = 4) -> None:
        self.base_url = base_url
        self.headers = headers
        self.acknowledged: list[tuple[float, int]] = []
        self.refusals: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(w,)) for w in range(writers)]

    def _write(self, worker: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            for index in range(60):
                if self.stop.is_set():
                    return
                body = {"site_code": "S01", "patient": patient(SCR, f"PGKILL-{worker}-{index}")}
                try:
                    answer = client.post(f"/api/trials/{SCR}/subjects", json=body, headers=self.headers)
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.refusals[type(exc).__name__] += 1
                    time.sleep(0.2)
                    continue
                with self.lock:
                    if answer.status_code == 201:
                        self.acknowledged.append((time.monotonic(), answer.json()["id"]))
                    else:
                        self.refusals[str(answer.status_code)] += 1
                if answer.status_code != 201:
                    time.sleep(0.2)

    def __enter__(self) -> Burst:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.05)


def _burst_with_a_crash(postgres: PostgresServer, url: str, tmp_path: Path) -> tuple[Burst, float, set[int]]:
    """Writers on a live server; kill -9 PostgreSQL after 20 acknowledged writes, restart it 1 s later,
    wait for 10 more; returns the burst, when PostgreSQL was killed and the subject ids then listed."""
    server = AppServer(url, tmp_path)
    server.start()
    try:
        with Burst(server.url, _login(server.url, "coord1")) as burst:
            burst.wait_for(20)
            postgres.kill()
            killed_at = time.monotonic()
            time.sleep(1.0)  # the writers meet the dead database
            postgres.restart()
            burst.wait_for(len(burst.acknowledged) + 10)  # the same application server recovers
        monitor = _login(server.url, "monitor")
        listed = httpx.get(f"{server.url}/api/trials/{SCR}/subjects", headers=monitor, timeout=30).json()
    finally:
        server.stop()
    return burst, killed_at, {subject["id"] for subject in listed}


def test_kill_9_of_postgresql_mid_burst_loses_no_acknowledged_write(tmp_path: Path) -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        url = postgres.create_database()
        api = build_api(url, tmp_path)
        api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
        burst, killed_at, present = _burst_with_a_crash(postgres, url, tmp_path)
        engine = make_engine(url)
        with engine.connect() as connection:
            report = verify_chain(connection)
        engine.dispose()
    finally:
        postgres.stop()
    before = [subject for at, subject in burst.acknowledged if at < killed_at]
    after = [subject for at, subject in burst.acknowledged if at > killed_at]
    assert len(before) >= 20 and len(after) >= 10, (len(before), len(after), burst.refusals)
    assert {subject for _, subject in burst.acknowledged} <= present
    assert report.ok, report
    # the outage was answered with the documented 503 (rule database_unavailable), never a bare 500
    assert burst.refusals["503"] >= 1 and "500" not in burst.refusals, burst.refusals


def test_an_unreachable_database_answers_503_with_the_documented_body(tmp_path: Path) -> None:
    api = build_api(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    headers = api.headers("coord1")
    app = api.client.app
    app.state.engine.dispose()  # type: ignore[attr-defined]
    app.state.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")  # type: ignore[attr-defined]
    answer = api.client.post(
        f"/api/trials/{SCR}/subjects",
        json={"site_code": "S01", "patient": patient(SCR, "X")},
        headers=headers,
    )
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json()["rule"] == "database_unavailable" and "not completed" in answer.json()["detail"]
    app.state.engine.dispose()  # type: ignore[attr-defined]


pytestmark = pytest.mark.slow
