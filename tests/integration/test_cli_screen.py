"""`trialdesk screen PROTOCOL FILE [--json] [--at DATE]`: table, JSON, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli import output
from trialdesk.entrypoints.cli.main import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"


def screen(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["screen", *args], terminal_width=220)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("protocol_id", "name", "verdict", "code"),
    [
        ("ivo-shfrt-2l", "ivo-shfrt-2l-eligible.json", "eligible", 0),
        ("ivo-shfrt-2l", "ivo-shfrt-2l-eligible.fhir.json", "eligible", 0),
        ("ivo-shfrt-2l", "ivo-shfrt-2l-ineligible.json", "ineligible", 1),
        ("ivo-shfrt-2l", "ivo-shfrt-2l-incomplete.json", "incomplete", 3),
        ("scr-escc-01", "scr-escc-01-eligible.json", "eligible", 0),
        ("scr-escc-01", "scr-escc-01-eligible.fhir.json", "eligible", 0),
        ("scr-escc-01", "scr-escc-01-ineligible.json", "ineligible", 1),
        ("scr-escc-01", "scr-escc-01-incomplete.json", "incomplete", 3),
    ],
)
def test_json_output_and_exit_code(protocol_id: str, name: str, verdict: str, code: int) -> None:
    exit_code, out, _ = screen(protocol_id, str(EXAMPLES / name), "--json")
    assert exit_code == code
    data = json.loads(out)
    assert data["protocol"] == protocol_id
    assert data["verdict"] == verdict
    assert data["patient"]
    for criterion in data["criteria"]:
        assert {"id", "source", "kind", "status", "evidence"} <= set(criterion)
        assert criterion["status"] in {"met", "not_met", "unknown", "needs_attestation"}


def test_json_evidence_for_hemoglobin() -> None:
    _, out, _ = screen("ivo-shfrt-2l", str(EXAMPLES / "ivo-shfrt-2l-ineligible.json"), "--json")
    hb = next(c for c in json.loads(out)["criteria"] if c["id"] == "inc-d-hemoglobin")
    assert hb == {
        "id": "inc-d-hemoglobin",
        "source": "inclusion d",
        "kind": "inclusion",
        "status": "not_met",
        "evidence": "Hb 85 g/L, not >= 90 g/L (result of 2026-03-03)",
        "missing": [],
    }


def test_table_lists_every_criterion_and_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.console, "_width", 250)  # one table row per line
    exit_code, out, _ = screen("ivo-shfrt-2l", str(EXAMPLES / "ivo-shfrt-2l-incomplete.json"))
    assert exit_code == 3
    for text in (
        "inc-a-histology",
        "exc-k-refusal",
        "inclusion d",
        "needs_attestation",
        "unknown",
        "missing:",
    ):
        assert text in out
    assert "verdict: INCOMPLETE" in out
    assert "Hb 90 g/L >= 90 g/L" in out


def test_at_overrides_the_screening_date() -> None:
    exit_code, out, _ = screen(
        "ivo-shfrt-2l", str(EXAMPLES / "ivo-shfrt-2l-eligible.json"), "--json", "--at", "2026-04-30"
    )
    data = json.loads(out)
    assert exit_code == 3
    assert data["screening_date"] == "2026-04-30"
    assert next(c for c in data["criteria"] if c["id"] == "inc-d-hemoglobin")["status"] == "unknown"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "ivo-shfrt-2l-eligible.json"], "unknown protocol 'nope'"),
        (["ivo-shfrt-2l", "missing.json"], "cannot read the file"),
        (
            ["ivo-shfrt-2l", "ivo-shfrt-2l-eligible.json", "--at", "02/03/2026"],
            "--at: '02/03/2026' is not a date",
        ),
        (
            ["ivo-shfrt-2l", "ivo-shfrt-2l-eligible.json", "--at", "2026-02-01"],
            "is after the screening date 2026-02-01",
        ),
    ],
)
def test_errors_exit_2_with_a_message(args: list[str], message: str) -> None:
    file_args = [str(EXAMPLES / a) if a.endswith(".json") else a for a in args]
    exit_code, _, err = screen(*file_args)
    assert exit_code == 2
    assert message in err


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "X",\n "ecog": }', encoding="utf-8")
    exit_code, _, err = screen("ivo-shfrt-2l", str(bad))
    assert exit_code == 2
    assert "bad.json: line 2, column 10: not valid JSON" in err


def test_invalid_patient_names_file_and_field(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "ivo-shfrt-2l-eligible.json").read_text(encoding="utf-8"))
    data["labs"][0]["value"] = 900
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    exit_code, _, err = screen("ivo-shfrt-2l", str(bad))
    assert exit_code == 2
    assert "p.json: labs[0].value: hemoglobin 900 g/dL (9000 g/L) is implausible" in err
