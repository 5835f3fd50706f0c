"""`trialdesk safety report PROTOCOL_ID --format json|html|pdf`, reading the trial database (SQLite and
PostgreSQL), through the same service as the API."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api, enrolment_moment
from trialdesk.entrypoints.cli.main import app
from trialdesk.services import clock

SCR = "scr-escc-01"
runner = CliRunner()


def test_safety_report_in_each_format(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(database_url, tmp_path)
    with api.client:
        subject_id = api.enrolled_subject(SCR, "SCR-CLI1")
        assert api.ae(SCR, subject_id, 5, related=True).status_code == 201
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)

    result = runner.invoke(app, ["safety", "report", SCR])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol_id"] == SCR and report["phase_state"] == "run_in_open"
    rule = report["tables"]["stopping_rules"][0]
    assert (rule["rule_id"], rule["count"], rule["threshold"], rule["met"]) == (
        "runin-grade5-trae",
        1,
        2,
        False,
    )
    (death,) = report["tables"]["deaths"]
    assert (death["cause"], death["treatment_related"]) == ("Death NOS", True)
    assert "pd1: probable" in death["attribution"]

    assert report["cutoff"] == clock.today().isoformat()

    # Cut-off rule (docs/analysis.md): the subject enrolled on 2026-04-17 (api_helpers.enrolment_moment)
    # is not in a report cut off the day before, so neither its grade-5 AE (onset 2026-05-01) nor its
    # death count, and the run-in stopping rule counts nobody.
    yesterday = (enrolment_moment(SCR).date() - dt.timedelta(days=1)).isoformat()
    earlier = runner.invoke(app, ["safety", "report", SCR, "--cutoff", yesterday])
    assert earlier.exit_code == 0, earlier.output
    before = json.loads(earlier.stdout)
    assert before["cutoff"] == yesterday and before["tables"]["deaths"] == []
    assert before["tables"]["exposure"] == [
        {"group": "Total", "enrolled": 0, "exposed": 0, "treatment_started": 0, "deaths": 0}
    ]
    assert before["tables"]["stopping_rules"][0]["count"] == 0
    future = (clock.today() + dt.timedelta(days=1)).isoformat()
    refused = runner.invoke(app, ["safety", "report", SCR, "--cutoff", future])
    assert refused.exit_code == 2 and "cutoff" in refused.output and "future" in refused.output
    not_a_date = runner.invoke(app, ["safety", "report", SCR, "--cutoff", "yesterday"])
    assert not_a_date.exit_code == 2 and "--cutoff" in not_a_date.output

    html_file, pdf_file = tmp_path / "report.html", tmp_path / "report.pdf"
    html = runner.invoke(app, ["safety", "report", SCR, "--format", "html", "--output", str(html_file)])
    assert html.exit_code == 0, html.output
    assert "Deaths, with cause and attribution" in html_file.read_text(encoding="utf-8")
    pdf = runner.invoke(app, ["safety", "report", SCR, "--format", "pdf", "-o", str(pdf_file)])
    assert pdf.exit_code == 0, pdf.output
    assert pdf_file.read_bytes().startswith(b"%PDF")


def test_safety_report_errors_are_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    unknown = runner.invoke(app, ["safety", "report", "no-such-trial"])
    assert unknown.exit_code == 2 and "no-such-trial" in unknown.output
    no_output = runner.invoke(app, ["safety", "report", SCR, "--format", "pdf"])
    assert no_output.exit_code == 2 and "--output" in no_output.output
    empty = runner.invoke(app, ["safety", "report", SCR])
    assert empty.exit_code == 2 and "trialdesk db upgrade" in empty.output
