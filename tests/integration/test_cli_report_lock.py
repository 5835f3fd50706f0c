"""`trialdesk report PROTOCOL --lock N` and `trialdesk safety report PROTOCOL --lock N` (issue 14):
a report built from a database lock names the lock and its hash on the title page, and the same lock
gives a byte-identical PDF twice (no creation time embedded; the safety report's "generated" time is
the lock's; locked data cannot change). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api
from tests.integration.test_api_locks import add_data_managers
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"
runner = CliRunner()


def locked_trial(database_url: str, tmp_path: Path, number: str) -> tuple[int, dict[str, Any]]:
    """An enrolled ivo-shfrt-2l subject with a related grade 2 AE (onset 2026-05-01), a subject lock on
    it, then a database lock by the data manager: ``(subject lock id, database lock)``."""
    api = build_api(database_url, tmp_path)
    with api.client:
        add_data_managers(api)
        subject_id = api.enrolled_subject(IVO, number)
        assert api.ae(IVO, subject_id, 2, related=True).status_code == 201
        subject_lock = {
            "kind": "lock",
            "scope": "subject",
            "subject_id": subject_id,
            "reason": "subject done",
        }
        subject_lock_id = int(api.post("dm", f"/api/trials/{IVO}/locks", subject_lock).json()["id"])
        body = {"kind": "lock", "scope": "database", "reason": "final analysis"}
        database_lock: dict[str, Any] = api.post("dm", f"/api/trials/{IVO}/locks", body).json()
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    return subject_lock_id, database_lock


def test_report_from_a_lock_is_byte_identical_and_names_the_lock(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject_lock_id, created = locked_trial(database_url, tmp_path, "IVO-R-1")
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)

    outputs = [tmp_path / "one.pdf", tmp_path / "two.pdf", tmp_path / "one.html"]
    for target in outputs:
        fmt = target.suffix[1:]
        result = runner.invoke(
            app, ["report", IVO, "--lock", str(created["id"]), "--format", fmt, "--out", str(target)]
        )
        assert result.exit_code == 0, result.output
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert (outputs[0].stat().st_mode & 0o777) == 0o600
    html = outputs[2].read_text(encoding="utf-8")
    assert f"Built from database lock #{created['id']}, SHA-256 {created['content_sha256']}" in html

    safety = [tmp_path / "s1.pdf", tmp_path / "s2.pdf"]
    for target in safety:
        args = ["safety", "report", IVO, "--lock", str(created["id"]), "--format", "pdf", "-o", str(target)]
        assert runner.invoke(app, args).exit_code == 0
    assert safety[0].read_bytes() == safety[1].read_bytes()
    as_json = runner.invoke(app, ["safety", "report", IVO, "--lock", str(created["id"])])
    assert f"Built from database lock #{created['id']}" in as_json.stdout

    refused = runner.invoke(app, ["report", IVO, "--lock", str(subject_lock_id)])
    assert refused.exit_code == 2 and "not an active cut-off or database lock" in refused.output
    both = runner.invoke(app, ["report", IVO, "--lock", "1", "--cutoff", "2026-01-01"])
    assert both.exit_code != 0 and "--lock and --cutoff" in both.output
