"""`trialdesk user add`, `trialdesk site add` (bootstrap) and `trialdesk openapi`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.main import app

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("TRIALDESK_DATA_DIR", str(tmp_path))  # never the audit key of a ./data folder
    return tmp_path


def test_first_admin_then_site_then_site_user(db_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALDESK_NEW_USER_PASSWORD", "a long admin password")
    created = runner.invoke(app, ["user", "add", "root-admin", "--role", "admin", "--full-name", "Ada Admin"])
    assert created.exit_code == 0, created.output
    site = runner.invoke(app, ["site", "add", "scr-escc-01", "SH01", "Shanghai Chest Hospital"])
    assert site.exit_code == 0, site.output
    coordinator = runner.invoke(app, ["user", "add", "coord", "--role", "coordinator", "--site", "1"])
    assert coordinator.exit_code == 0, coordinator.output
    verify = runner.invoke(app, ["audit", "verify", "--json"])
    assert json.loads(verify.stdout)["ok"] is True and json.loads(verify.stdout)["rows"] >= 4


def test_password_prompt_with_confirmation(db_env: Path) -> None:
    result = runner.invoke(
        app, ["user", "add", "prompted", "--role", "monitor"], input="secret password 1\nsecret password 1\n"
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "wiz", "--role", "wizard"], "role: unknown role 'wizard'"),
        (["user", "add", "Bad Name", "--role", "admin"], "username: username must be"),
        (
            ["user", "add", "coordx", "--role", "coordinator"],
            "site_ids: a coordinator must belong to at least one site",
        ),
        (["site", "add", "nope", "S1", "Somewhere"], "protocol_id: unknown protocol 'nope'"),
    ],
)
def test_bad_input_is_a_clear_error(
    db_env: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("TRIALDESK_NEW_USER_PASSWORD", "a long enough password")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_short_password_is_refused(db_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALDESK_NEW_USER_PASSWORD", "short")
    result = runner.invoke(app, ["user", "add", "shorty", "--role", "monitor"])
    assert result.exit_code == 2 and "at least 12 characters" in result.stderr


def test_single_centre_trial_accepts_one_site(db_env: Path) -> None:
    assert runner.invoke(app, ["site", "add", "ivo-shfrt-2l", "C1", "The centre"]).exit_code == 0
    second = runner.invoke(app, ["site", "add", "ivo-shfrt-2l", "C2", "Another centre"])
    assert second.exit_code == 2 and "single-centre" in second.stderr


def test_openapi_prints_the_api_document() -> None:
    result = runner.invoke(app, ["openapi"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["info"]["title"] == "trialdesk"
    assert "/api/trials/{protocol_id}/subjects/{subject_id}/randomize" in document["paths"]
    assert "/api/audit" in document["paths"]


def test_the_password_is_never_a_command_line_argument(db_env: Path) -> None:
    result = runner.invoke(app, ["user", "add", "argv", "--role", "monitor", "--password", "visible in ps"])
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_password_from_standard_input(db_env: Path) -> None:
    result = runner.invoke(
        app,
        ["user", "add", "fromstdin", "--role", "monitor", "--password-stdin"],
        input="a pass phrase from a pipe\n",
    )
    assert result.exit_code == 0, result.output
    common = runner.invoke(
        app, ["user", "add", "weak", "--role", "monitor", "--password-stdin"], input="1234567890qwerty\n"
    )
    assert common.exit_code == 2 and "commonly used" in common.stderr
