"""`trialdesk export sdtm|adam --lock N | --cutoff DATE` (issue 16): an export from a database lock is the
lock's data (the same lock gives the same datasets twice), a cut-off leaves out what came after it, a
lock that is not a cut-off or database lock is refused, and bad options fail with the option's name.
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api
from tests.integration.test_cli_report_lock import locked_trial
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"
SCR = "scr-escc-01"
runner = CliRunner()


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_export_from_a_lock_and_at_a_cutoff(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject_lock_id, lock = locked_trial(database_url, tmp_path, "IVO-X-1")
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)

    folders = [tmp_path / "one", tmp_path / "two"]
    for folder in folders:
        args = ["export", "sdtm", IVO, "--lock", str(lock["id"]), "--format", "csv", "--out", str(folder)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folders[0].iterdir() if p.suffix == ".csv")
    assert names == sorted(p.name for p in folders[1].iterdir() if p.suffix == ".csv")
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    events = _rows(folders[0] / "ae.csv")
    assert [(e["USUBJID"], e["AEDECOD"], e["AETOXGR"], e["AESTDTC"], e["AEREL"]) for e in events] == [
        ("IVO-SHFRT-2L-IVO-X-1", "Pneumonitis", "2", "2026-05-01", "RELATED")
    ]
    assert [s["SUBJID"] for s in _rows(folders[0] / "dm.csv")] == ["IVO-X-1"]

    before = tmp_path / "before"
    result = runner.invoke(
        app, ["export", "sdtm", IVO, "--cutoff", "2026-04-30", "--format", "csv", "--out", str(before)]
    )
    assert result.exit_code == 0, result.output
    assert _rows(before / "ae.csv") == []  # the AE began after the cut-off

    adam = tmp_path / "adam"
    result = runner.invoke(
        app, ["export", "adam", IVO, "--lock", str(lock["id"]), "--format", "json", "--out", str(adam)]
    )
    assert result.exit_code == 0, result.output
    assert (adam / "adae.json").exists() and (adam / "define.xml").exists()

    refused = runner.invoke(
        app, ["export", "sdtm", IVO, "--lock", str(subject_lock_id), "--out", str(tmp_path / "x")]
    )
    assert refused.exit_code == 2 and "not an active cut-off or database lock" in refused.output
    both = runner.invoke(
        app, ["export", "sdtm", IVO, "--lock", "1", "--cutoff", "2026-01-01", "--out", str(tmp_path)]
    )
    assert both.exit_code != 0 and "--lock and --cutoff" in both.output
    bad = runner.invoke(app, ["export", "adam", IVO, "--format", "sas7bdat", "--out", str(tmp_path / "y")])
    assert bad.exit_code != 0 and "--format" in bad.output
    future = runner.invoke(
        app, ["export", "adam", IVO, "--cutoff", "2999-01-01", "--out", str(tmp_path / "z")]
    )
    assert future.exit_code != 0 and "cut-off" in future.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


def test_only_analysis_roles_export_and_every_site_is_in_their_export(
    database_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.adapters.db.models import User
    from trialdesk.services.actors import actor_for
    from trialdesk.services.cdisc_export import export_package
    from trialdesk.services.errors import PermissionDenied

    api = build_api(database_url, tmp_path)
    with api.client:
        api.enrolled_subject(SCR, "SCR-S1", site="S01")
        api.enrolled_subject(SCR, "SCR-S2", user="coord2", site="S02")
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    protocol = api.client.app.state.registry.get(SCR)  # type: ignore[attr-defined]
    try:
        for username in ("coord1", "inv2", "dm"):
            with unit_of_work(engine, username) as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                with pytest.raises(PermissionDenied):
                    export_package(session, actor_for(session, user), protocol, "sdtm", "csv")
        for username in ("stat", "monitor"):
            with unit_of_work(engine, username) as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                package = export_package(session, actor_for(session, user), protocol, "sdtm", "csv")
                assert {r["SITEID"] for r in package.datasets["DM"].rows} == {"S01", "S02"}
    finally:
        engine.dispose()
