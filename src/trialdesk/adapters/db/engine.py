"""Engines and units of work for SQLite (embedded default) and PostgreSQL (multi-site server).

A *write* unit of work serializes with every other writer before it changes anything: on SQLite by
``BEGIN IMMEDIATE``, on PostgreSQL by locking the audit-chain head row first. Taking that lock
first, always, keeps the hash chain linear and rules out lock-order deadlocks between writers.
SQLite runs in WAL mode with ``synchronous=FULL`` so an acknowledged commit survives a crash.
An engine made with an :class:`~trialdesk.adapters.db.anchor.AuditAnchor` signs the chain head after
every write unit of work that grew the audit chain (a checkpoint outside the database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from trialdesk.adapters.db.anchor import AuditAnchor
from trialdesk.adapters.db.audit import HEAD_KEY
from trialdesk.adapters.db.models import AuditHead

ANCHOR_OPTION = "trialdesk_audit_anchor"


STORAGE_FULL_MARKERS = ("database or disk is full", "no space left on device", "disk full")
"""How SQLite (SQLITE_FULL), the operating system (ENOSPC) and PostgreSQL (SQLSTATE 53100 disk_full)
word a full disk in the driver's error text."""
STORAGE_FULL_SQLSTATE = "53100"


def is_storage_full(error: BaseException) -> bool:
    """Whether a database error means the storage is full (SQLite ``SQLITE_FULL``, PostgreSQL
    ``disk_full`` or an ``ENOSPC`` reported by either); the transaction it ended was rolled back."""
    original = getattr(error, "orig", None) or error
    if getattr(original, "sqlstate", None) == STORAGE_FULL_SQLSTATE:
        return True
    text = str(original).lower()
    return any(marker in text for marker in STORAGE_FULL_MARKERS)


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, anchor: AuditAnchor | None = None, *, pool_size: int = 5, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings trialdesk relies on; with ``anchor``, every write
    unit of work on it appends a signed checkpoint of the chain head it wrote. ``pool_size``: the
    PostgreSQL connections kept open (10 more may open in a burst); SQLite keeps SQLAlchemy's default."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            _create_private(Path(database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, **kwargs)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10, **kwargs)
    return engine if anchor is None else engine.execution_options(**{ANCHOR_OPTION: anchor})


def anchor_of(engine: Engine) -> AuditAnchor | None:
    """The audit anchor ``engine`` was made with (None: checkpoints are not written)."""
    anchor = engine.get_execution_options().get(ANCHOR_OPTION)
    return anchor if isinstance(anchor, AuditAnchor) else None


def _create_private(database: Path) -> None:
    """Create the SQLite file (and its folder) readable by its owner only (mode 0600; SQLite gives the
    -wal and -shm files the database file's mode); an existing file is left as it is."""
    database.parent.mkdir(parents=True, exist_ok=True)
    if not database.exists():
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def unit_of_work(
    engine: Engine, actor: str | None, reason: str | None = None, write: bool = True
) -> Iterator[Session]:
    """A session whose changes commit together on success and roll back on any error.

    ``actor`` (username) and ``reason`` are recorded on every audit row written in it.
    """
    bind = (
        engine.execution_options(sqlite_begin="IMMEDIATE")
        if write and engine.dialect.name == "sqlite"
        else engine
    )
    session = Session(bind=bind, expire_on_commit=False)
    session.info["actor"] = actor
    session.info["reason"] = reason
    try:
        if write and engine.dialect.name == "postgresql":
            session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
        yield session
        if write:
            session.commit()
            _checkpoint(engine, session)
        # a read-only unit ends in close(): its transaction rolls back, loaded objects stay readable
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _checkpoint(engine: Engine, session: Session) -> None:
    """After a commit that grew the chain, sign its new head (when the engine has an anchor)."""
    head = session.info.pop(HEAD_KEY, None)
    anchor = anchor_of(engine)
    if head is not None and anchor is not None:
        anchor.checkpoint(*head)
