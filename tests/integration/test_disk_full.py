"""A full disk under the SQLite data folder: a clean answer, nothing half-written, and recovery.

The data folder (database, WAL, audit key and checkpoint file) lives on a small tmpfs of its own,
mounted for this test (the suite runs as root; ``make test`` on a fresh machine). A ballast file then
takes every free byte, as a log file or an export filling the disk would. Screenings sent meanwhile
must be answered 201 (they fitted) or 503 with rule ``storage_full``, never 500; every acknowledged one
must be in the database and every refused one absent; reads keep working; the audit chain, its deep
replay and its signed checkpoints verify. When the ballast goes, the same running server accepts
writes again with no restart.

Where no tmpfs can be mounted (not root, no mount permission) the same scenario runs in-process on a
failing-storage shim: SQLite's own ``PRAGMA max_page_count`` makes the database "full" (SQLITE_FULL, the
error a full disk gives) and raising it is "freeing space". Bounded: at most 120 screenings, 10 s each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, select, text

from tests.integration.api_helpers import PASSWORD, build_api, patient
from tests.integration.web_helpers import signed_in
from tests.support.server import AppServer, free_port
from trialdesk.adapters.db.anchor import AuditAnchor, check_checkpoints
from trialdesk.adapters.db.audit import verify_chain
from trialdesk.adapters.db.engine import is_storage_full, make_engine
from trialdesk.adapters.db.models import Subject
from trialdesk.adapters.db.replay import deep_verify
from trialdesk.config import Settings

SCR = "scr-escc-01"
TMPFS_BYTES = 24 * 1024 * 1024
MAX_SCREENINGS = 120


@dataclass
class Outcome:
    """What the server answered while the disk was full."""

    acknowledged: list[str] = field(default_factory=list)
    """Screening numbers answered 201."""
    refused: list[str] = field(default_factory=list)
    """Screening numbers answered 503 storage_full."""
    other: list[str] = field(default_factory=list)
    """Any other answer (status and body): must stay empty."""


def _mount_tmpfs(folder: Path) -> bool:
    """Mount a tmpfs of :data:`TMPFS_BYTES` on ``folder``; False when this machine does not allow it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return result.returncode == 0


@contextmanager
def _small_filesystem(tmp_path: Path) -> Iterator[Path | None]:
    """A folder on its own small tmpfs (None where mounting is not allowed); unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if not _mount_tmpfs(folder):
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False, timeout=30)


HEADROOM_BYTES = 256 * 1024
"""Free space the ballast leaves: a few screenings fit before the disk is full."""


def _fill(folder: Path) -> Path:
    """Take all but :data:`HEADROOM_BYTES` of ``folder``'s filesystem with a ballast file; return it."""
    ballast = folder / "ballast.bin"
    chunk = b"\0" * (1024 * 1024)
    with open(ballast, "wb") as handle:
        while True:
            stats = os.statvfs(folder)
            free = stats.f_bavail * stats.f_frsize - HEADROOM_BYTES
            if free <= 0:
                break
            try:
                handle.write(chunk[: min(len(chunk), free)])
                handle.flush()
            except OSError:
                break
    return ballast


def _screen_until_refused(post: Callable[[str], tuple[int, Any]], prefix: str) -> Outcome:
    """Screen new patients until three in a row are refused (or :data:`MAX_SCREENINGS` are sent)."""
    outcome = Outcome()
    refused_in_a_row = 0
    for index in range(MAX_SCREENINGS):
        number = f"{prefix}-{index}"
        status, body = post(number)
        if status == 201:
            outcome.acknowledged.append(number)
            refused_in_a_row = 0
        elif status == 503 and isinstance(body, dict) and body.get("rule") == "storage_full":
            outcome.refused.append(number)
            refused_in_a_row += 1
            if refused_in_a_row == 3:
                break
        else:
            outcome.other.append(f"{status}: {body}")
    return outcome


def _screening_numbers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(Subject.screening_number)).scalars())


def _assert_intact(engine: Engine, anchor: AuditAnchor | None) -> None:
    """The chain, its deep replay against every audited table and its signed checkpoints all verify."""
    with engine.connect() as connection:
        assert verify_chain(connection).ok
        deep = deep_verify(connection)
        assert deep.ok, deep.differences[:5]
        if anchor is not None:
            anchored = check_checkpoints(connection, anchor)
            assert anchored.ok, anchored.problems


def _body(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


def test_a_full_disk_refuses_writes_cleanly_and_the_server_recovers(tmp_path: Path) -> None:
    with _small_filesystem(tmp_path) as folder:
        if folder is None:
            _full_database_shim_scenario(tmp_path)
            return
        url = f"sqlite:///{folder / 'trialdesk.sqlite3'}"
        api = build_api(url, folder)
        api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
        engine = make_engine(url)
        with engine.connect() as connection:  # an empty WAL: the next writes must grow it
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        server = AppServer(url, folder)
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                outcome, recovered = _full_then_freed(client, folder)
        finally:
            server.stop()
        settings = Settings(database_url=url, data_dir=folder)
        anchor = AuditAnchor(settings.effective_audit_key_file, settings.effective_audit_checkpoint_file)
        present = _screening_numbers(engine)
        _assert_intact(engine, anchor)
        engine.dispose()
    assert not outcome.other, outcome.other
    assert len(outcome.refused) >= 3 and outcome.acknowledged, outcome  # some fitted, then the disk was full
    assert set(outcome.acknowledged) <= present
    assert not set(outcome.refused) & present, "a refused screening was (half-)written"
    assert recovered in present


def _full_then_freed(client: httpx.Client, folder: Path) -> tuple[Outcome, str]:
    """Fill the disk, screen until refused, check reads still work, free the disk, screen once more."""

    def login(user: str) -> dict[str, str]:
        answer = client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    coordinator, monitor = login("coord1"), login("monitor")

    def post(number: str) -> tuple[int, Any]:
        body = {"site_code": "S01", "patient": patient(SCR, number)}
        answer = client.post(f"/api/trials/{SCR}/subjects", json=body, headers=coordinator)
        return answer.status_code, _body(answer)

    ballast = _fill(folder)
    outcome = _screen_until_refused(post, "FULL")
    listed = client.get(f"/api/trials/{SCR}/subjects", headers=monitor)
    assert listed.status_code == 200, listed.text  # reading needs no space
    ballast.unlink()
    status, body = post("AFTER-1")
    assert status == 201, body  # the same server, no restart
    return outcome, "AFTER-1"


def _full_database_shim_scenario(tmp_path: Path) -> None:
    """The same checks in-process, with SQLite's page limit standing in for the full disk."""
    url = f"sqlite:///{tmp_path / 'trialdesk.sqlite3'}"
    api = build_api(url, tmp_path)
    engine: Engine = api.client.app.state.engine  # type: ignore[attr-defined]
    limit: dict[str, int | None] = {"pages": None}

    @event.listens_for(engine, "begin")
    def _page_limit(connection: Any) -> None:
        if limit["pages"] is not None:
            connection.exec_driver_sql(f"PRAGMA max_page_count={limit['pages']}")

    with engine.connect() as connection:
        limit["pages"] = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())
    headers = api.headers("coord1")

    def post(number: str) -> tuple[int, Any]:
        body = {"site_code": "S01", "patient": patient(SCR, number)}
        answer = api.client.post(f"/api/trials/{SCR}/subjects", json=body, headers=headers)
        return answer.status_code, _body(answer)

    outcome = _screen_until_refused(post, "FULL")
    limit["pages"] = 1_073_741_823
    status, body = post("AFTER-1")
    assert status == 201, body
    present = _screening_numbers(engine)
    _assert_intact(engine, None)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    assert not outcome.other, outcome.other
    assert len(outcome.refused) >= 3, outcome
    assert set(outcome.acknowledged) <= present and not set(outcome.refused) & present


@pytest.mark.parametrize(
    ("message", "full"),
    [
        ("database or disk is full", True),  # SQLite SQLITE_FULL
        ('could not extend file "base/16384/2619": No space left on device', True),  # PostgreSQL
        ("connection refused", False),
        ("database is locked", False),
    ],
)
def test_storage_full_is_told_apart_from_an_unreachable_database(message: str, full: bool) -> None:
    assert is_storage_full(RuntimeError(message)) is full


def test_an_unfinished_checkpoint_line_is_cut_back_not_left_torn(tmp_path: Path) -> None:
    anchor = AuditAnchor(tmp_path / "key", tmp_path / "checkpoints")
    anchor.ensure_key()
    assert anchor.checkpoint(1, "a" * 64)
    before = anchor.checkpoint_file.read_bytes()
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])  # a disk that fills half-way through the line

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", short_write)
        assert anchor.checkpoint(2, "b" * 64) is False  # logged, never raised: the commit stands
    assert anchor.checkpoint_file.read_bytes() == before
    assert anchor.checkpoint(3, "c" * 64)
    assert [c.seq for c in anchor.read()] == [1, 3]


pytestmark = pytest.mark.slow


def test_a_page_request_gets_a_503_page_in_its_language_when_the_database_is_gone(tmp_path: Path) -> None:
    api = build_api(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    browser = signed_in(api, "coord1")
    app = api.client.app
    app.state.engine.dispose()  # type: ignore[attr-defined]
    app.state.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")  # type: ignore[attr-defined]
    english = browser.get("/", headers={"Accept-Language": "en"})
    chinese = browser.get("/", headers={"Accept-Language": "zh-CN"})
    app.state.engine.dispose()  # type: ignore[attr-defined]
    assert english.status_code == chinese.status_code == 503
    assert english.headers["content-type"].startswith("text/html") and english.headers["retry-after"] == "5"
    assert "nothing was saved" in english.text
    assert "未保存任何内容" in chinese.text
