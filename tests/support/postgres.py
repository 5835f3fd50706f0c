"""A real, throw-away PostgreSQL server for the test suite.

Started once per test session from the Debian ``postgresql`` package's binaries, in a temporary
directory, listening on a free loopback port only, and stopped at the end. ``make test`` installs
the package (scripts/install-system-deps.sh); the suite fails, never skips, when it is missing.
When run as root, the server runs as the ``postgres`` system user (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.server import free_port


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: install the Debian package 'postgresql' "
        "(`bash scripts/install-system-deps.sh postgresql`, which `make test` runs)"
    )


def _process_ids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent_of(pid: int) -> int | None:
    """The parent process id from ``/proc/PID/stat`` (None when the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="trialdesk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        self._counter = 0
        self._template: str | None = None

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr or result.stdout}"
            )

    def start(self) -> None:
        """initdb (trust auth, loopback only) and start; waits until it accepts connections."""
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.restart()

    def restart(self) -> None:
        """Start the server on the existing cluster (after :meth:`kill`: crash recovery from the WAL)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200 -c fsync=on"
        log = self.root / "server.log"
        try:
            self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")
        except RuntimeError as exc:
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            raise RuntimeError("\n".join([str(exc), *tail])) from None

    def kill(self) -> None:
        """SIGKILL the postmaster, then every process it started (a crash: no shutdown checkpoint)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [pid for pid in _process_ids() if _parent_of(pid) == postmaster]
        for pid in [postmaster, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in [postmaster, *children]) and time.monotonic() < deadline:
            time.sleep(0.05)
        # An orphaned postmaster nobody reaps stays a zombie, which PostgreSQL takes for a running server:
        # remove its lock files (data folder, socket), as an administrator does after a crash.
        for lock in [self.data / "postmaster.pid", *self.root.glob(".s.PGSQL.*")]:
            lock.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the server and remove its directory.

        Immediate mode: the cluster is deleted, so a fast shutdown's checkpoint (every dirty page of
        hundreds of test databases written and fsynced) only cost time. The directory (about 14 MB
        per test database, gigabytes by the end of a worker's run: 2.5 s per 150 databases) is removed
        by a detached ``rm -rf``, so the worker does not wait for it (11-27 s at the end of each run).
        """
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            # the shell returns at once and leaves rm running in the background (no child to reap here)
            command = ["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", str(self.root)]
            subprocess.run(command, check=False, timeout=30)

    def admin_dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def create_database(self, prefix: str = "trialdesk_test", *, migrated: bool = False) -> str:
        """Create a fresh database and return its SQLAlchemy URL: empty, or (``migrated``) a copy of a
        template database the migrations ran on once per server (``CREATE DATABASE ... TEMPLATE``: a
        file copy, about ten times faster than running the migrations for every test)."""
        self._counter += 1
        name = f"{prefix}_{self._counter}"
        template = f' TEMPLATE "{self._migrated_template()}"' if migrated else ""
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _migrated_template(self) -> str:
        """The template database with the current schema (created on first use; no connection to it
        stays open, as PostgreSQL requires of a template)."""
        if self._template is None:
            from trialdesk.adapters.db.engine import make_engine
            from trialdesk.adapters.db.migrate import upgrade

            name = "trialdesk_migrated_template"
            with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            engine = make_engine(self.url(name))
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            self._template = name
        return self._template
