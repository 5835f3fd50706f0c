"""Database fixtures: every persistence test runs on SQLite AND on a real PostgreSQL server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.integration.api_helpers import Api, build_api
from tests.support.postgres import PostgresServer
from trialdesk.adapters.db.engine import make_engine
from trialdesk.adapters.db.migrate import upgrade


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session, stopped at the end."""
    try:
        server = PostgresServer()
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations ran on, once per session (checkpointed: no WAL beside it)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.sqlite3"
    eng = make_engine(f"sqlite:///{path}")
    try:
        upgrade(eng)
        with eng.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        eng.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend with the current schema: a copy of a template the migrations
    ran on once per session (the migrations themselves are tested on empty databases elsewhere)."""
    if request.param == "sqlite":
        database = tmp_path / "trialdesk.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), database)  # its mode too (0600)
        return f"sqlite:///{database}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(migrated=True)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database engine on each backend."""
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The application on a fresh database of each backend, with sites and one user per role."""
    built = build_api(database_url, tmp_path)
    with built.client:
        yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]
