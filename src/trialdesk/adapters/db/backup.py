"""Online backups and restores of the trial database (``trialdesk backup`` / ``trialdesk restore``).

* SQLite: the ``sqlite3`` online-backup API (https://www.sqlite.org/backup.html) copies a consistent
  snapshot of the live file while the server keeps running (WAL readers do not block writers); the copy
  is switched to rollback-journal mode so it is one self-contained file.
* PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot in one transaction) and ``pg_restore
  --single-transaction --exit-on-error`` (all or nothing). The binaries come from ``pg_bin_dir``, else
  the newest ``/usr/lib/postgresql/*/bin`` (Debian), else ``PATH``; pg_dump must be at least the server's
  major version. The password goes through ``PGPASSWORD``, never the command line.

Backup files are created with mode 0600 (they hold patient data) and never overwrite an existing file.
A restore refuses a target that already holds tables unless ``force`` is given.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

TIMEOUT_SECONDS = 3600


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says why and what to do."""


def backup(engine: Engine, out: Path, pg_bin_dir: Path | None = None) -> None:
    """Write a consistent copy of ``engine``'s database to the new file ``out`` (mode 0600)."""
    _create_new_private(out)
    try:
        if engine.dialect.name == "sqlite":
            _backup_sqlite(_sqlite_path(engine), out)
        else:
            _run(engine, pg_bin_dir, "pg_dump", "--format=custom", "--file", str(out))
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def restore(engine: Engine, source: Path, pg_bin_dir: Path | None = None, *, force: bool = False) -> None:
    """Restore the backup ``source`` into ``engine``'s database (refused over existing tables unless
    ``force``)."""
    if not source.is_file():
        raise BackupError(f"backup file {source} not found")
    occupied = bool(inspect(engine).get_table_names())
    if occupied and not force:
        raise BackupError(
            f"the target database already holds tables: restore into an empty database, or pass --force to "
            f"replace it ({engine.url.render_as_string(hide_password=True)})"
        )
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _restore_sqlite(source, _sqlite_path(engine))
    else:
        clean = ["--clean", "--if-exists"] if occupied else []
        _run(
            engine, pg_bin_dir, "pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", *clean, str(source),
        )  # fmt: skip


def _create_new_private(path: Path) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} exists already: a backup never overwrites a file") from None
    except OSError as exc:
        raise BackupError(f"cannot create {path}: {exc.strerror}") from None


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _backup_sqlite(database: Path, out: Path) -> None:
    with closing(sqlite3.connect(database, timeout=60)) as source, closing(sqlite3.connect(out)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")


def _restore_sqlite(source: Path, database: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_file:
            backup_file.execute("PRAGMA schema_version").fetchone()
            if not os.path.exists(database):
                database.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            with closing(sqlite3.connect(database, timeout=60)) as target:
                backup_file.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite backup: {exc}") from None


def pg_binary(name: str, pg_bin_dir: Path | None = None) -> Path:
    """The PostgreSQL client program ``name`` (``pg_dump``/``pg_restore``)."""
    if pg_bin_dir is not None:
        candidates = [str(pg_bin_dir / name)]
    else:
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major_version)[::-1]
        found = shutil.which(name)
        candidates += [found] if found else []
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise BackupError(f"{name} not found: install the PostgreSQL client or set TRIALDESK_PG_BIN_DIR")


def _major_version(path: str) -> int:
    part = path.split("/")[4]
    return int(part) if part.isdigit() else 0


def _run(engine: Engine, pg_bin_dir: Path | None, program: str, *args: str) -> None:
    url = make_url(engine.url)
    command = [str(pg_binary(program, pg_bin_dir)), "--dbname", str(url.database)]
    for flag, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            command += [flag, str(value)]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, timeout=TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise BackupError(
            f"{program} failed ({result.returncode}): {(result.stderr or result.stdout).strip()}"
        )
