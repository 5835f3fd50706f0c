"""`trialdesk protocol list|show|validate`, in tables and --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.main import app
from trialdesk.protocols import builtin_protocol_dir

runner = CliRunner()


def test_protocol_list_json_lists_both_trials() -> None:
    result = runner.invoke(app, ["protocol", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["id"], r["target_enrolment"]) for r in rows] == [("ivo-shfrt-2l", 37), ("scr-escc-01", 160)]


def test_protocol_list_table() -> None:
    result = runner.invoke(app, ["protocol", "list"])
    assert result.exit_code == 0
    assert "ivo-shfrt-2l" in result.stdout and "scr-escc-01" in result.stdout


def test_protocol_show_json_is_the_full_model() -> None:
    result = runner.invoke(app, ["protocol", "show", "scr-escc-01", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["stopping_rules"][0]["threshold"] == 2
    assert len(data["eligibility"]["criteria"]) == 20


def test_protocol_show_table_includes_open_parameters() -> None:
    result = runner.invoke(app, ["protocol", "show", "ivo-shfrt-2l"], terminal_width=200)
    assert result.exit_code == 0
    assert "inc-d-hemoglobin" in result.stdout
    assert "Parameters left open by the seed" in result.stdout


def test_protocol_show_unknown_id_names_known_ids() -> None:
    result = runner.invoke(app, ["protocol", "show", "nope"])
    assert result.exit_code == 2
    assert "unknown protocol 'nope' (known: ivo-shfrt-2l, scr-escc-01)" in result.stderr


def test_protocol_validate_builtin_file() -> None:
    result = runner.invoke(
        app, ["protocol", "validate", str(builtin_protocol_dir() / "ivo-shfrt-2l.yaml"), "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "file": str(builtin_protocol_dir() / "ivo-shfrt-2l.yaml"),
        "valid": True,
        "id": "ivo-shfrt-2l",
        "version": "1.0",
    }


def test_protocol_validate_bad_file_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: Bad Id\nversion: '1'\n", encoding="utf-8")
    result = runner.invoke(app, ["protocol", "validate", str(bad), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    locations = {e["location"] for e in data["errors"]}
    assert {"id", "design", "eligibility", "endpoints"} <= locations


def test_protocol_validate_table_output_escapes_markup(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: Bad Id\n", encoding="utf-8")
    result = runner.invoke(app, ["protocol", "validate", str(bad)], terminal_width=200)
    assert result.exit_code == 1
    assert "[a-z0-9][a-z0-9-]*" in result.stdout  # the pattern is shown, not eaten as markup


def test_extra_protocol_dir_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (builtin_protocol_dir() / "ivo-shfrt-2l.yaml").read_text(encoding="utf-8")
    (tmp_path / "third.yaml").write_text(
        text.replace("id: ivo-shfrt-2l", "id: third-trial"), encoding="utf-8"
    )
    monkeypatch.setenv("TRIALDESK_PROTOCOL_DIRS", json.dumps([str(tmp_path)]))
    result = runner.invoke(app, ["protocol", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.stdout)] == ["ivo-shfrt-2l", "scr-escc-01", "third-trial"]
