"""Randomization under real concurrency (many processes and threads, PostgreSQL) and a crash test.

Bounded: at most a few hundred requests to a server on 127.0.0.1, each with a timeout.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.integration.api_helpers import (
    PASSWORD,
    build_api,
    enrolled_in_phase,
    open_randomized_phase,
    patient,
)
from tests.support.postgres import PostgresServer
from tests.support.server import AppServer
from trialdesk.adapters.db.anchor import AuditAnchor, check_checkpoints
from trialdesk.adapters.db.audit import verify_chain
from trialdesk.adapters.db.engine import make_engine, unit_of_work
from trialdesk.adapters.db.models import Allocation, AllocationSlot
from trialdesk.adapters.db.replay import deep_verify

SCR = "scr-escc-01"
N_RANDOMIZATIONS = 200


def _login(base: str, user: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/api/auth/token", data={"username": user, "password": PASSWORD}, timeout=30
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_parallel_randomizations_on_postgresql_use_each_slot_once_and_stay_balanced(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database()
    api = build_api(url, tmp_path)
    assert open_randomized_phase(api, SCR).status_code == 200
    assert (
        api.post("stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 60}).status_code
        == 201
    )
    subjects = enrolled_in_phase(api, SCR, "iib", N_RANDOMIZATIONS)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(url, tmp_path, workers=3)
    server.start()
    try:
        headers = {"S01": _login(server.url, "coord1"), "S02": _login(server.url, "coord2")}
        start = threading.Barrier(16)

        def fire(item: tuple[int, str]) -> int:
            subject_id, site = item
            with httpx.Client(base_url=server.url, timeout=60) as client:
                return client.post(
                    f"/api/trials/{SCR}/subjects/{subject_id}/randomize", json={}, headers=headers[site]
                ).status_code

        def fire_after_barrier(items: list[tuple[int, str]]) -> list[int]:
            start.wait(timeout=60)
            return [fire(item) for item in items]

        chunks = [subjects[i::16] for i in range(16)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = [code for result in pool.map(fire_after_barrier, chunks) for code in result]
        # a second, simultaneous attempt on already-randomized subjects must be refused, never re-allocated
        with ThreadPoolExecutor(max_workers=8) as pool:
            repeats = list(pool.map(fire, subjects[:16]))
    finally:
        server.stop()
    assert Counter(statuses) == {200: N_RANDOMIZATIONS}
    assert set(repeats) == {409}
    engine = make_engine(url)
    with unit_of_work(engine, None, write=False) as session:
        allocations = list(session.scalars(select(Allocation)))
        slots = list(session.scalars(select(AllocationSlot).where(AllocationSlot.subject_id.is_not(None))))
        with engine.connect() as connection:
            assert verify_chain(connection).ok
            # three server processes appended their checkpoints to one file: every one verifies, and the
            # trail replays to exactly the allocations and slots in the tables
            assert check_checkpoints(connection, _anchor(tmp_path)).ok
            assert deep_verify(connection).ok
    engine.dispose()
    assert len(allocations) == N_RANDOMIZATIONS == len({a.subject_id for a in allocations})
    assert len({a.slot_id for a in allocations}) == N_RANDOMIZATIONS
    per_stratum: dict[str, list[AllocationSlot]] = {}
    for slot in slots:
        per_stratum.setdefault(slot.stratum, []).append(slot)
    for stratum, used in per_stratum.items():
        sequences = sorted(s.sequence for s in used)
        assert sequences == list(range(1, len(used) + 1)), f"gap in {stratum}"
        arms = Counter(s.arm_id for s in used)
        assert abs(arms["A"] - arms["B"]) <= 2, f"{stratum} imbalance {arms}"  # max block 4 -> at most 2


def test_crash_during_a_write_burst_loses_no_acknowledged_write(database_url: str, tmp_path: Path) -> None:
    api = build_api(database_url, tmp_path)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    server = AppServer(database_url, tmp_path)
    server.start()
    headers = _login(server.url, "coord1")
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for index in range(40):
                if stop.is_set():
                    return
                body = {"site_code": "S01", "patient": patient(SCR, f"CRASH-{worker}-{index}")}
                try:
                    response = client.post(f"/api/trials/{SCR}/subjects", json=body, headers=headers)
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(response.json()["id"])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=60)
    while len(acknowledged) < 25 and dt.datetime.now() < deadline:
        threading.Event().wait(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 25
    restarted = AppServer(database_url, tmp_path)
    restarted.start()
    try:
        monitor = _login(restarted.url, "monitor")
        listed = httpx.get(f"{restarted.url}/api/trials/{SCR}/subjects", headers=monitor, timeout=30).json()
    finally:
        restarted.stop()
    present = {s["id"] for s in listed}
    assert set(acknowledged) <= present
    engine = make_engine(database_url)
    with engine.connect() as connection:
        report = verify_chain(connection)
        deep = deep_verify(connection)
        anchor = check_checkpoints(connection, _anchor(tmp_path))
    engine.dispose()
    assert report.ok, report
    assert deep.ok, deep.differences
    # a kill between a commit and its checkpoint leaves at most the last writes unanchored, nothing else
    assert all("not anchored by a checkpoint" in problem for problem in anchor.problems), anchor.problems


def _anchor(data_dir: Path) -> AuditAnchor:
    return AuditAnchor(data_dir / "audit-key", data_dir / "audit-checkpoints.jsonl")


pytestmark = pytest.mark.slow
