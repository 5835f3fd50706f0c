"""The audit trail: every change audited, append-only in the database, tamper-evident by hash chain."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from trialdesk.adapters.db.audit import AuditContextMissing, ReasonRequired, verify_chain
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, Site
from trialdesk.entrypoints.cli.main import app


def _add_sites(engine: Engine, n: int) -> None:
    for i in range(n):
        with unit_of_work(engine, "alice") as session:
            session.add(
                Site(
                    protocol_id="scr-escc-01",
                    code=f"S{i:02d}",
                    name=f"Site {i}",
                    created_at=datetime.now(UTC),
                )
            )


def _audit_rows(engine: Engine) -> list[AuditRecord]:
    with unit_of_work(engine, None, write=False) as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))


def test_insert_and_update_are_audited_with_who_what_old_new_why(engine: Engine) -> None:
    _add_sites(engine, 1)
    with unit_of_work(engine, "bob", reason="official name") as session:
        session.scalars(select(Site)).one().name = "Shanghai Chest Hospital"
    insert_row, update_row = _audit_rows(engine)
    assert (insert_row.action, insert_row.table_name, insert_row.record_id, insert_row.username) == (
        "insert",
        "sites",
        "1",
        "alice",
    )
    assert json.loads(insert_row.new_value or "{}")["name"] == "Site 0"
    assert (update_row.field, update_row.old_value, update_row.new_value) == (
        "name",
        "Site 0",
        "Shanghai Chest Hospital",
    )
    assert (update_row.username, update_row.reason) == ("bob", "official name")
    assert update_row.prev_hash == insert_row.hash


def test_change_without_reason_is_refused_and_nothing_is_written(engine: Engine) -> None:
    _add_sites(engine, 1)
    with pytest.raises(ReasonRequired, match="needs a reason"), unit_of_work(engine, "bob") as session:
        session.scalars(select(Site)).one().name = "changed"
    with unit_of_work(engine, None, write=False) as session:
        assert session.scalars(select(Site)).one().name == "Site 0"
    assert len(_audit_rows(engine)) == 1


def test_change_without_user_is_refused(engine: Engine) -> None:
    with pytest.raises(AuditContextMissing), unit_of_work(engine, None) as session:
        session.add(Site(protocol_id="p", code="X", name="X", created_at=datetime.now(UTC)))


def test_delete_is_audited_with_the_old_row(engine: Engine) -> None:
    _add_sites(engine, 1)
    with unit_of_work(engine, "carol", reason="created in error") as session:
        session.delete(session.scalars(select(Site)).one())
    last = _audit_rows(engine)[-1]
    assert last.action == "delete" and json.loads(last.old_value or "{}")["code"] == "S00"


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"])
def test_database_refuses_update_and_delete_of_audit_rows(engine: Engine, statement: str) -> None:
    _add_sites(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        assert verify_chain(connection).ok


def _tamper(engine: Engine, seq: int) -> None:
    """Change one audit row 'by hand', as a database superuser would, bypassing the triggers."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(
                text("UPDATE audit_log SET new_value = 'Forged' WHERE seq = :seq"), {"seq": seq}
            )
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(
                text("UPDATE audit_log SET new_value = 'Forged' WHERE seq = :seq"), {"seq": seq}
            )


def test_tampering_with_one_row_makes_audit_verify_fail_at_that_row(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _add_sites(engine, 5)
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--json"])
    report = json.loads(ok.stdout)
    assert ok.exit_code == 0 and {k: report[k] for k in ("ok", "rows", "broken_seq", "problem")} == {
        "ok": True,
        "rows": 5,
        "broken_seq": None,
        "problem": None,
    }
    assert report["anchor"]["state"] == "not_anchored"  # written without an anchor: a warning in development
    _tamper(engine, 3)
    broken = runner.invoke(app, ["audit", "verify", "--json"])
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert report["broken_seq"] == 3 and report["rows"] == 2 and "edited" in report["problem"]
    table = runner.invoke(app, ["audit", "verify"], terminal_width=200)
    assert table.exit_code == 1 and "BROKEN at row 3" in table.stdout


def test_db_upgrade_command_creates_the_schema_and_the_audit_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/fresh/trialdesk.sqlite3"
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", url)
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(tmp_path / "fresh"))
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    key = tmp_path / "fresh" / "audit-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and "audit key created" in result.stdout
    verify = CliRunner().invoke(app, ["audit", "verify", "--json"])
    report = json.loads(verify.stdout)
    assert verify.exit_code == 0 and report["ok"] is True and report["anchor"]["state"] == "anchored"
