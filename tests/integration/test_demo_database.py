"""The demo database of ``make run`` (``trialdesk serve --demo``): both trials with subjects at every
stage, built through the real API; every demo account signs in on the web login page and at the API
token endpoint; the demo is refused in production and never touches the real database."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.integration.web_helpers import csrf_token as _csrf
from tests.support.demo import demo_database_copy
from trialdesk.config import Settings, UnsafeSettings
from trialdesk.entrypoints.api.app import create_app
from trialdesk.entrypoints.cli.main import app as cli
from trialdesk.entrypoints.demo import DEMO_SUBJECTS, is_demo_database
from trialdesk.entrypoints.demo_accounts import DEMO_ACCOUNTS

IVO, SCR = "ivo-shfrt-2l", "scr-escc-01"

STATUSES = {
    "screen-failed": "screen_failed",
    "waiting for attestations": "screening",
    "enrolled, not yet treated": "enrolled",
    "on treatment": "on_treatment",
    "in follow-up": "follow_up",
    "died": "died",
}
"""Stages that are a subject's current status."""

JOINED = " x JOIN subjects s ON s.id = x.subject_id WHERE s.protocol_id = :p"
RECORDS = {
    "adverse event": "adverse_events" + JOINED,
    "AE confirmed from a lab result": "adverse_events" + JOINED + " AND x.lab_result_id IS NOT NULL",
    "lab result": "lab_results" + JOINED,
    "tumour assessment": "tumour_assessments" + JOINED,
    "progression (RECIST 1.1)": "response_evaluations"
    + JOINED
    + " AND x.rules = 'recist1.1' AND x.progression_date IS NOT NULL",
    "death date": "subjects s WHERE s.protocol_id = :p AND s.death_date IS NOT NULL",
    "open data query": "data_queries" + JOINED + " AND x.status = 'open'",
    "answered data query": "data_queries" + JOINED + " AND x.status = 'answered'",
    "closed data query": "data_queries" + JOINED + " AND x.status = 'closed'",
}
"""Stages that are records of a subject (``FROM`` clauses)."""


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_database_copy(tmp_path_factory, tmp_path_factory.mktemp("demo-db"))


@pytest.fixture(scope="module")
def client(demo_db: Path) -> Iterator[TestClient]:
    """The web application on the demo database, in demo mode (as ``serve --demo`` starts it)."""
    settings = Settings(database_url=f"sqlite:///{demo_db}", data_dir=demo_db.parent, demo=True)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _count(database: Path, sql: str, protocol_id: str) -> int:
    with closing(sqlite3.connect(database)) as connection:
        value: int = connection.execute(sql, {"p": protocol_id}).fetchone()[0]
        return value


@pytest.mark.parametrize("protocol_id", [IVO, SCR])
def test_each_trial_has_subjects_at_every_stage(demo_db: Path, protocol_id: str) -> None:
    by_status = "SELECT count(*) FROM subjects WHERE protocol_id = :p AND status = "
    stages = {stage: f"{by_status}'{status}'" for stage, status in STATUSES.items()}
    stages.update({stage: f"SELECT count(*) FROM {clause}" for stage, clause in RECORDS.items()})
    missing = [stage for stage, sql in stages.items() if _count(demo_db, sql, protocol_id) == 0]
    assert not missing, f"{protocol_id}: no subject {missing}"
    enrolled = "SELECT count(*) FROM subjects WHERE protocol_id = :p AND enrolled_at IS NOT NULL"
    assert _count(demo_db, enrolled, protocol_id) == DEMO_SUBJECTS[protocol_id] + 1  # + the latest patient
    synthetic = "SELECT count(*) FROM subjects WHERE protocol_id = :p AND screening_number NOT LIKE 'SYN-%'"
    assert _count(demo_db, synthetic, protocol_id) == 0


def test_scr_escc_01_ran_its_run_in_signed_the_gate_and_randomized_both_arms(demo_db: Path) -> None:
    run_in = "SELECT count(*) FROM subjects WHERE protocol_id = :p AND phase_id = 'iia' AND arm_id = 'A'"
    assert _count(demo_db, run_in, SCR) >= 20
    for arm in ("A", "B"):
        randomized = (
            "SELECT count(*) FROM allocations a JOIN subjects s ON s.id = a.subject_id "
            f"WHERE s.protocol_id = :p AND s.phase_id = 'iib' AND s.arm_id = '{arm}'"
        )
        assert _count(demo_db, randomized, SCR) > 0, f"nobody randomized to arm {arm}"
    gate = (
        "SELECT count(*) FROM phase_transitions WHERE protocol_id = :p AND to_state = 'randomized_open' "
        "AND signature_id IS NOT NULL"
    )
    assert _count(demo_db, gate, SCR) == 1
    assert is_demo_database(demo_db)


def test_every_demo_account_signs_in_on_the_web_and_at_the_api(client: TestClient) -> None:
    login = client.get("/login").text
    assert "Demo data - not for clinical use" in login and "DEMO accounts" in login
    for account in DEMO_ACCOUNTS:
        assert account.username in login and account.password in login
        assert len(account.password) >= 12
        token = client.post(
            "/api/auth/token", data={"username": account.username, "password": account.password}
        )
        assert token.status_code == 200, (account.username, token.text)
        data = {"username": account.username, "password": account.password, "csrf_token": _csrf(login)}
        response = client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 303, (account.username, response.text)
        home = client.get("/")
        assert home.status_code == 200 and "Demo data - not for clinical use" in home.text
        client.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
        client.cookies.clear()
        login = client.get("/login").text


SERVE_SETS = (
    "TRIALDESK_DEMO",
    "TRIALDESK_DATABASE_URL",
    "TRIALDESK_AUDIT_KEY_FILE",
    "TRIALDESK_AUDIT_CHECKPOINT_FILE",
)
"""What ``serve`` may set in ``os.environ`` (undone after each test)."""


def _serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str
) -> tuple[int, str, dict[str, str]]:
    """``trialdesk serve ARGS`` with uvicorn replaced by a recorder of what the app factory would read."""
    started: dict[str, str] = {}

    def fake_run(*_args: object, **_kwargs: object) -> None:
        started.update({k: v for k, v in os.environ.items() if k.startswith("TRIALDESK_")})

    for name in (*SERVE_SETS, "TRIALDESK_ENVIRONMENT", "TRIALDESK_DATA_DIR"):
        monkeypatch.setenv(name, "")  # recorded, so that what serve sets in os.environ is undone
        monkeypatch.delenv(name)
    monkeypatch.setattr(uvicorn, "run", fake_run)  # serve imports uvicorn when it runs
    result = CliRunner().invoke(
        cli, ["serve", "--port", "8123", *args], env={"TRIALDESK_DATA_DIR": str(tmp_path), **env}
    )
    return result.exit_code, result.output, started


def test_serve_demo_uses_the_demo_file_and_prints_the_accounts(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_file = demo_database_copy_to(demo_db, tmp_path / "demo")
    code, output, started = _serve(tmp_path, monkeypatch, "--demo")
    assert code == 0, output
    assert started["TRIALDESK_DEMO"] == "1"
    assert started["TRIALDESK_DATABASE_URL"] == f"sqlite:///{demo_file.resolve()}"
    assert started["TRIALDESK_AUDIT_KEY_FILE"] == str(demo_file.resolve().parent / "audit-key")
    assert started["TRIALDESK_AUDIT_CHECKPOINT_FILE"].startswith(str(demo_file.resolve().parent))
    assert "Building" not in output  # the existing demo file is reused
    assert "http://127.0.0.1:8123/" in output
    for account in DEMO_ACCOUNTS:
        assert account.username in output and account.password in output

    code, output, started = _serve(tmp_path, monkeypatch, "--no-demo", TRIALDESK_DEMO="1")
    assert code == 0, output
    assert started["TRIALDESK_DEMO"] == "0" and "TRIALDESK_DATABASE_URL" not in started  # the real database
    assert "demo-sysadm-2026" not in output


def demo_database_copy_to(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "trialdesk-demo.sqlite3"
    target.write_bytes(source.read_bytes())
    return target


def test_serve_demo_is_refused_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for args, env in ((("--demo",), {}), ((), {"TRIALDESK_DEMO": "1"})):
        code, output, started = _serve(
            tmp_path, monkeypatch, *args, TRIALDESK_ENVIRONMENT="production", **env
        )
        assert code == 2 and not started
        assert "--demo is refused with TRIALDESK_ENVIRONMENT=production" in output
    assert not (tmp_path / "demo").exists()
    with pytest.raises(UnsafeSettings, match="TRIALDESK_DEMO=1 serves the demonstration database"):
        Settings(environment="production", demo=True, data_dir=tmp_path)


def test_the_demo_file_is_never_the_real_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo_file = tmp_path / "demo" / "trialdesk-demo.sqlite3"
    code, output, started = _serve(
        tmp_path, monkeypatch, "--demo", TRIALDESK_DATABASE_URL=f"sqlite:///{demo_file}"
    )
    assert code == 2 and not started and "never mixed with real data" in output

    demo_file.parent.mkdir()
    with closing(sqlite3.connect(demo_file)) as connection:  # real data where the demo file should be
        connection.execute("CREATE TABLE subjects (screening_number TEXT)")
        connection.execute("INSERT INTO subjects VALUES ('S01-001')")
        connection.commit()
    code, output, started = _serve(tmp_path, monkeypatch, "--demo", "--reset-demo")
    assert code == 2 and not started and "left untouched" in output
    assert demo_file.exists()

    code, output, _ = _serve(tmp_path, monkeypatch, "--reset-demo")
    assert code == 2 and "use it with --demo" in output
