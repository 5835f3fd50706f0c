"""`trialdesk schedule show|subject`: the protocol's visit schedule and a stored subject's calendar
(statuses from the stored treatment start and tumour assessments). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"
runner = CliRunner()


def test_schedule_show_lays_out_each_arm_by_day_of_treatment() -> None:
    result = runner.invoke(app, ["schedule", "show", "scr-escc-01", "--weeks", "13", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    arm_a = {v["visit_id"]: v for v in data["arms"]["A"]}
    arm_b = {v["visit_id"]: v for v in data["arms"]["B"]}
    assert [arm_a[k]["day"] for k in ("C1", "C2", "C3", "C4")] == [1, 22, 43, 64]
    assert arm_a["TA1"]["day"] == 43 and arm_a["TA2"]["day"] == 85
    assert arm_a["TA1"]["window_before"] == arm_a["TA1"]["window_after"] == 7
    assert {"RT-ldrt", "RT-cfrt"} <= set(arm_a) and "RT-cfrt" not in arm_b
    assert any("every 6 weeks" in rule["when"] for rule in data["rules"])
    table = runner.invoke(app, ["schedule", "show", IVO])
    assert table.exit_code == 0 and "SHFRT start (5 x 5 Gy)" in table.output


def test_schedule_show_unknown_protocol_is_a_clean_error() -> None:
    result = runner.invoke(app, ["schedule", "show", "nope"])
    assert result.exit_code == 2 and "nope" in result.output


def test_schedule_subject_shows_statuses_from_stored_data(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(database_url, tmp_path)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "IVO-CAL-1")
        start = {"treatment_start_date": "2026-03-09"}
        assert api.put("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/follow-up", start).status_code == 200
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    result = runner.invoke(app, ["schedule", "subject", IVO, "IVO-CAL-1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    visits = {v["visit_id"]: v for v in data["visits"]}
    assert data["arm"] == "ivo-shfrt" and data["treatment_start"] == "2026-03-09"
    assert visits["C1"]["planned"] == "2026-03-09"
    assert visits["TA1"]["planned"] == "2026-04-20"
    assert visits["TA1"]["status"] == "overdue"  # no scan recorded, window long past (today is later)
    table = runner.invoke(app, ["schedule", "subject", IVO, "IVO-CAL-1"])
    assert table.exit_code == 0 and "Tumour assessment 1" in table.output
    missing = runner.invoke(app, ["schedule", "subject", IVO, "NOBODY"])
    assert missing.exit_code == 2 and "NOBODY" in missing.output


def test_schedule_subject_before_treatment_start_says_why(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(database_url, tmp_path)
    with api.client:
        api.enrolled_subject(IVO, "IVO-CAL-2")
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    result = runner.invoke(app, ["schedule", "subject", IVO, "IVO-CAL-2"])
    assert result.exit_code == 2 and "no treatment start yet" in result.output
