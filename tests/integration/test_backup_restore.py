"""``trialdesk backup`` and ``trialdesk restore`` round-trip the trial database on SQLite (online-backup
API) and PostgreSQL (pg_dump/pg_restore of the test server's own version), and a restore is verified:
hash chain, signed checkpoints, deep replay of every audited table (issue 15).

Bounded: two enrolled subjects with an adverse event each, built through the API.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tests.integration.api_helpers import Api
from tests.support.postgres import PostgresServer
from trialdesk.adapters.db.engine import make_engine
from trialdesk.adapters.db.models import Base
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


def _fresh_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'trialdesk.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("trialdesk_restored")


def _trial_data(api: Api) -> None:
    for number in ("IVO-901", "IVO-902"):
        subject_id = api.enrolled_subject(IVO, number)
        assert api.ae(IVO, subject_id, 2, related=True).status_code == 201


def test_backup_and_restore_round_trip_verifies_deep_and_keeps_every_row(
    api: Api,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    _trial_data(api)
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(tmp_path))  # the app's data folder: key and checkpoints
    out = tmp_path / "backups" / "trialdesk.backup"
    out.parent.mkdir()
    runner = CliRunner()
    made = runner.invoke(app, ["backup", str(out)])  # online: the app is still running
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = runner.invoke(app, ["backup", str(out)])
    assert again.exit_code == 2 and "never overwrites" in again.stderr

    target = _fresh_url(database_url, tmp_path, request)
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", target)
    restored = runner.invoke(app, ["restore", str(out), "--json"])
    assert restored.exit_code == 0, restored.output
    report = json.loads(restored.stdout)
    assert report["verified"] and report["deep"]["ok"] and report["deep"]["rows"]["adverse_events"] == 2
    assert report["anchor"]["state"] == "anchored"  # checkpoints up to the backup's head still match
    source, copy = make_engine(database_url), make_engine(target)
    try:
        assert _counts(copy) == _counts(source) and _counts(copy)["subjects"] == 2
    finally:
        source.dispose()
        copy.dispose()
    verify = runner.invoke(app, ["audit", "verify", "--deep", "--json"])
    assert verify.exit_code == 0, verify.output  # the restored head was signed in a new checkpoint file
    refused = runner.invoke(app, ["restore", str(out)])
    assert refused.exit_code == 2 and "already holds tables" in refused.stderr
    forced = runner.invoke(app, ["restore", str(out), "--force"])
    assert forced.exit_code == 0, forced.output


def test_restore_of_a_file_that_is_not_a_backup_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'db' / 'trialdesk.sqlite3'}")
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(tmp_path / "db"))
    junk = tmp_path / "junk.backup"
    junk.write_text("not a database " * 100)
    result = CliRunner().invoke(app, ["restore", str(junk)])
    assert result.exit_code == 2 and "is not a SQLite backup" in result.stderr
