"""`trialdesk data check [PROTOCOL_ID] [--json]`: stored rows that break the issue-10 date rules are
reported (table or JSON, exit 1), never altered; clean data exit 0. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AdverseEvent, Subject
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"
runner = CliRunner()


def test_data_check_reports_violations_and_alters_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(database_url, tmp_path)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "IVO-CHK-1")
        start = {"treatment_start_date": "2026-03-09"}
        assert api.put("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/follow-up", start).status_code == 200
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)

    clean = runner.invoke(app, ["data", "check", IVO])
    assert clean.exit_code == 0, clean.output
    assert "no violations" in clean.output

    # Rows as an earlier version could store them (straight through the ORM, audited):
    with unit_of_work(engine, "bootstrap", reason="test set-up: legacy rows") as session:
        session.execute(
            update(Subject)
            .where(Subject.id == subject_id)
            .values(death_date=dt.date(2026, 4, 1), status="died", treatment_end_date=dt.date(2026, 3, 1))
        )
        session.add(
            AdverseEvent(
                subject_id=subject_id,
                term="Fatigue",
                grade=1,
                onset_date=dt.date(2026, 5, 1),
                attributions={},
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        session.add(
            AdverseEvent(
                subject_id=subject_id,
                term="Nausea",
                grade=1,
                onset_date=dt.date(2026, 2, 1),  # before consent 2026-02-27, not a baseline condition
                attributions={},
                created_at=dt.datetime.now(dt.UTC),
            )
        )

    table = runner.invoke(app, ["data", "check", IVO])
    assert table.exit_code == 1, table.output
    assert "IVO-CHK-1" in table.output and "break a rule" in table.output

    result = runner.invoke(app, ["data", "check", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    found = {(v["record"].split(" (")[0], v["field"]) for v in report["violations"]}
    assert ("subject", "death_date") in found  # the AE of 2026-05-01 follows the death
    assert ("subject", "treatment_end_date") in found
    (death,) = [v for v in report["violations"] if v["field"] == "death_date"]
    assert "adverse event" in death["reason"] and "2026-05-01" in death["reason"]
    assert any(record.startswith("adverse event") and field == "onset_date" for record, field in found)
    assert report["count"] == len(report["violations"]) >= 4
    with unit_of_work(engine, "bootstrap") as session:  # reported, never altered
        subject = session.get(Subject, subject_id)
        assert subject is not None and subject.death_date == dt.date(2026, 4, 1)
        assert len(session.scalars(select(AdverseEvent)).all()) == 2
    engine.dispose()


def test_data_check_on_a_database_without_schema_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    result = runner.invoke(app, ["data", "check"])
    assert result.exit_code == 2 and "db upgrade" in result.output
