"""Tamper evidence against a knowledgeable attacker (issue 15), on SQLite and PostgreSQL.

* ``trialdesk audit verify --deep`` replays the audit trail and finds direct edits, deletions and
  insertions of clinical rows, naming the table, row and field;
* the HMAC-signed checkpoints (key file outside the database) catch a chain whose tail was truncated
  and whose hashes were recomputed - which the hash chain alone accepts - and a wrong key.

Bounded: one site, one user, one subject, a few rows, a few units of work per test.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, String, select, text
from typer.testing import CliRunner

from trialdesk.adapters.db.anchor import AuditAnchor, check_checkpoints, hmac_sha256
from trialdesk.adapters.db.audit import FIELDS, GENESIS_HASH, row_hash, verify_chain
from trialdesk.adapters.db.engine import make_engine, unit_of_work
from trialdesk.adapters.db.migrate import upgrade
from trialdesk.adapters.db.models import (
    AdverseEvent,
    Allocation,
    AuditRecord,
    LabResultRow,
    Site,
    Subject,
    User,
)
from trialdesk.adapters.db.replay import _migration_default, deep_verify
from trialdesk.entrypoints.cli.main import app

NOW = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def anchor(data_dir: Path) -> AuditAnchor:
    return AuditAnchor(data_dir / "audit-key", data_dir / "audit-checkpoints.jsonl")


@pytest.fixture
def anchored(database_url: str, anchor: AuditAnchor) -> Iterator[Engine]:
    """A migrated database whose engine writes signed checkpoints (key created at set-up)."""
    engine = make_engine(database_url, anchor=anchor)
    upgrade(engine)
    with engine.connect() as connection:
        assert anchor.set_up(connection) is True
    yield engine
    engine.dispose()


@pytest.fixture
def cli_env(database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(data_dir))


def _seed(engine: Engine) -> dict[str, int]:
    """One site, user, enrolled subject, allocation (arm A), grade-3 AE and lab result, audited."""
    with unit_of_work(engine, "inv1") as session:
        site = Site(protocol_id="scr-escc-01", code="S01", name="Site 1", created_at=NOW)
        user = User(username="inv1", full_name="Inv", role="investigator", password_hash="x", created_at=NOW)
        session.add_all([site, user])
        session.flush()
        subject = Subject(
            protocol_id="scr-escc-01",
            site_id=site.id,
            screening_number="SCR-001",
            status="enrolled",
            screening_date=dt.date(2026, 4, 1),
            patient_record={"id": "SCR-001", "ecog": 1},
            created_at=NOW,
        )
        session.add(subject)
        session.flush()
        allocation = Allocation(
            subject_id=subject.id,
            protocol_id="scr-escc-01",
            phase_id="iib",
            arm_id="A",
            method="permuted_blocks",
            stratum="S01|ecog=1",
            strata_values={"site": "S01", "ecog": "1"},
            allocated_at=NOW,
            allocated_by=user.id,
        )
        ae = AdverseEvent(
            subject_id=subject.id,
            term="Pneumonitis",
            grade=3,
            onset_date=dt.date(2026, 5, 1),
            attributions={"pd1": "probable", "ldrt": "possible"},
            created_at=NOW,
        )
        lab = LabResultRow(
            subject_id=subject.id,
            test="ALT",
            value=120,  # an int in a Float column: audited as "120", read back as 120.0
            unit="U/L",
            uln=40,
            value_canonical=120,
            uln_canonical=40,
            collected_date=dt.date(2026, 5, 1),
            source="manual",
            entered_by="inv1",
            created_at=NOW,
        )
        session.add_all([allocation, ae, lab])
        session.flush()
        ids = {"subject": subject.id, "allocation": allocation.id, "ae": ae.id, "lab": lab.id}
    with unit_of_work(engine, "inv1", reason="re-graded after CT review") as session:
        stored = session.get(AdverseEvent, ids["ae"])
        assert stored is not None
        stored.grade = 2
    return ids


def _direct(engine: Engine, *statements: str) -> None:
    """Run SQL as a database owner would, past the application (no audit row is written)."""
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _verify(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["audit", "verify", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def _differences(report: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (d["table"], d["record_id"], d["field"], d["problem"], d["expected"], d["found"])
        for d in report["deep"]["differences"]
    }


@pytest.mark.usefixtures("cli_env")
def test_untouched_data_verifies_deep_and_lists_the_tables_it_skips(anchored: Engine) -> None:
    _seed(anchored)
    code, report = _verify("--deep")
    assert code == 0, report
    assert report["verified"] and report["anchor"]["state"] == "anchored"
    assert report["anchor"]["unanchored_rows"] == 0 and report["anchor"]["checkpoints"] == 3
    deep = report["deep"]
    assert deep["ok"] and deep["rows"]["adverse_events"] == 1 and deep["rows"]["allocations"] == 1
    assert {"auth_tokens", "login_failures", "stratum_counters", "audit_log"} <= set(deep["skipped"])


@pytest.mark.usefixtures("cli_env")
def test_direct_edit_of_an_ae_grade_and_an_allocation_arm_is_reported_by_table_row_and_field(
    anchored: Engine,
) -> None:
    ids = _seed(anchored)
    _direct(
        anchored,
        f"UPDATE adverse_events SET grade = 1 WHERE id = {ids['ae']}",
        f"UPDATE allocations SET arm_id = 'B' WHERE id = {ids['allocation']}",
        f"UPDATE lab_results SET value = 12.5 WHERE id = {ids['lab']}",
    )
    code, report = _verify("--deep")
    assert code == 1 and report["ok"] is True  # the hash chain itself is intact: only --deep sees it
    assert _differences(report) == {
        ("adverse_events", str(ids["ae"]), "grade", "changed", "2", "1"),
        ("allocations", str(ids["allocation"]), "arm_id", "changed", "A", "B"),
        ("lab_results", str(ids["lab"]), "value", "changed", "120", "12.5"),
    }
    table = CliRunner().invoke(app, ["audit", "verify", "--deep"], terminal_width=200)
    assert table.exit_code == 1
    assert "adverse_events" in table.stdout and "arm_id" in table.stdout and "3 differences" in table.stdout


@pytest.mark.usefixtures("cli_env")
def test_direct_delete_and_insert_of_clinical_rows_are_reported(anchored: Engine) -> None:
    ids = _seed(anchored)
    _direct(
        anchored,
        f"DELETE FROM lab_results WHERE id = {ids['lab']}",
        "INSERT INTO adverse_events (id, subject_id, term, grade, onset_date, attributions, created_at) "
        f"VALUES (900, {ids['subject']}, 'Fatigue', 1, '2026-05-02', '{{}}', '2026-05-02 09:00:00')",
    )
    code, report = _verify("--deep")
    assert code == 1
    problems = {(d[0], d[1], d[3]) for d in _differences(report)}
    assert problems == {
        ("lab_results", str(ids["lab"]), "deleted"),
        ("adverse_events", "900", "not_in_audit"),
    }


def _drop_append_only_triggers(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        _direct(engine, "ALTER TABLE audit_log DISABLE TRIGGER USER")
    else:
        _direct(engine, "DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete")


def _truncate_and_recompute(engine: Engine, keep: int) -> None:
    """What a database superuser who knows the chain format can do: drop the append-only triggers,
    delete the tail after row ``keep``, forge row 2's content and recompute every hash and the head."""
    _drop_append_only_triggers(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq > :keep"), {"keep": keep})
        connection.execute(text("UPDATE audit_log SET reason = 'forged' WHERE seq = 2"))
        table = AuditRecord.__table__
        rows = connection.execute(select(table).order_by(table.c.seq)).mappings().all()
        prev = GENESIS_HASH
        for row in rows:
            digest = row_hash(prev, {name: row[name] for name in FIELDS})
            connection.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
        connection.execute(
            text("UPDATE audit_head SET last_seq = :s, last_hash = :h"), {"s": keep, "h": prev}
        )


@pytest.mark.parametrize(
    ("dropped", "found"), [(2, "the chain was truncated"), (0, "the chain was rewritten")]
)
@pytest.mark.usefixtures("cli_env")
def test_truncated_or_recomputed_chain_verifies_as_a_chain_but_fails_the_signed_checkpoints(
    anchored: Engine, dropped: int, found: str
) -> None:
    _seed(anchored)
    with anchored.connect() as connection:
        head = verify_chain(connection).rows
    _truncate_and_recompute(anchored, keep=head - dropped)
    with anchored.connect() as connection:
        assert verify_chain(connection).ok  # the hash chain alone is fooled
    code, report = _verify()
    assert code == 1 and report["ok"] is True and report["anchor"]["state"] == "broken"
    assert found in " ".join(report["anchor"]["problems"])


@pytest.mark.usefixtures("cli_env")
def test_a_wrong_key_or_a_forged_checkpoint_is_detected(anchored: Engine, anchor: AuditAnchor) -> None:
    _seed(anchored)
    assert _verify()[0] == 0
    original = anchor.key_file.read_text()
    anchor.key_file.write_text("ab" * 32 + "\n")
    code, report = _verify()
    assert code == 1 and "signed with another key" in " ".join(report["anchor"]["problems"])
    anchor.key_file.write_text(original)
    lines = anchor.checkpoint_file.read_text().splitlines()
    forged = json.loads(lines[-1]) | {"seq": 1}
    anchor.checkpoint_file.write_text("\n".join([*lines, json.dumps(forged)]) + "\n")
    code, report = _verify()
    assert code == 1 and "HMAC does not verify" in " ".join(report["anchor"]["problems"])


@pytest.mark.usefixtures("cli_env")
def test_rows_written_past_the_anchor_are_reported_until_signed(
    anchored: Engine, database_url: str, anchor: AuditAnchor
) -> None:
    _seed(anchored)
    unanchored = make_engine(database_url)  # e.g. a script writing straight to the database
    with unit_of_work(unanchored, "intruder") as session:
        session.add(Site(protocol_id="scr-escc-01", code="S09", name="Ghost", created_at=NOW))
    unanchored.dispose()
    code, report = _verify()
    assert code == 1 and report["anchor"]["unanchored_rows"] == 1
    signed = CliRunner().invoke(app, ["audit", "anchor"])
    assert signed.exit_code == 0, signed.output
    assert _verify()[0] == 0
    with anchored.connect() as connection:
        assert check_checkpoints(connection, anchor).ok


def test_a_database_never_anchored_is_a_warning_in_development_and_a_failure_elsewhere(
    engine: Engine, database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(data_dir))
    code, report = _verify()
    assert code == 0 and report["anchor"]["state"] == "not_anchored"
    monkeypatch.setenv("TRIALDESK_ENVIRONMENT", "test")
    if engine.dialect.name == "postgresql":
        monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url.replace("postgres@", "postgres:pw@"))
    code, report = _verify()
    assert code == 1 and report["verified"] is False


@pytest.mark.usefixtures("cli_env")
def test_key_rotation_archives_the_old_key_and_anchors_the_head_with_a_new_one(
    anchored: Engine, anchor: AuditAnchor
) -> None:
    _seed(anchored)
    old_key = anchor.key_file.read_text()
    rotated = CliRunner().invoke(app, ["audit", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    archives = list((anchor.key_file.parent / "audit-archive").iterdir())
    assert len(archives) == 1 and (archives[0] / "audit-key").read_text() == old_key
    assert anchor.key_file.read_text() != old_key and stat.S_IMODE(anchor.key_file.stat().st_mode) == 0o600
    assert len(anchor.read()) == 1
    code, report = _verify("--deep")
    assert code == 0 and report["anchor"]["anchored_seq"] == report["rows"]
    with unit_of_work(anchored, "inv1") as session:  # later writes are signed with the new key
        session.add(Site(protocol_id="scr-escc-01", code="S02", name="Site 2", created_at=NOW))
    assert _verify()[0] == 0


def test_key_rotation_is_refused_while_the_trail_does_not_verify(
    anchored: Engine, anchor: AuditAnchor, cli_env: None
) -> None:
    ids = _seed(anchored)
    _direct(anchored, f"UPDATE adverse_events SET grade = 4 WHERE id = {ids['ae']}")
    rotated = CliRunner().invoke(app, ["audit", "rotate-key"], terminal_width=200)
    assert rotated.exit_code == 1 and "key not rotated" in rotated.stdout
    assert not (anchor.key_file.parent / "audit-archive").exists()


def test_hmac_primitive_matches_rfc_4231_test_case_2() -> None:
    """RFC 4231 section 4.3 (HMAC-SHA-256, key "Jefe", data "what do ya want for nothing?")."""
    assert (
        hmac_sha256(b"Jefe", b"what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_columns_added_by_a_migration_are_expected_at_their_migration_default() -> None:
    """Rows inserted before 0007 have no ``must_change_password`` in their insert image: the column was
    added NOT NULL with server default false (migration 0007), nullable columns are NULL."""
    users = User.__table__.c
    assert _migration_default(users.must_change_password) == "false"
    assert _migration_default(users.password_changed_at) is None
    assert _migration_default(Column("n", Integer, server_default=text("'0'"))) == "0"
    assert _migration_default(Column("s", String(8), server_default="draft")) == "draft"


def test_deep_verify_of_untouched_orm_data_finds_no_false_difference(engine: Engine) -> None:
    _seed(engine)
    with engine.connect() as connection:
        report = deep_verify(connection)
        first = connection.execute(select(text("count(*)")).select_from(text("audit_log"))).scalar_one()
    assert report.ok, report.differences
    assert report.events == first  # every audit row of this data is an insert or update
