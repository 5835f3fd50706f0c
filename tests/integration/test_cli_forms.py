"""`trialdesk protocol forms PROTOCOL_ID [--json]`: the protocol's case report forms and fields."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli import output
from trialdesk.entrypoints.cli.main import app

runner = CliRunner()


def test_forms_json_lists_every_form_with_its_fields() -> None:
    result = runner.invoke(app, ["protocol", "forms", "scr-escc-01", "--json"])
    assert result.exit_code == 0, result.output
    forms = {form["id"]: form for form in json.loads(result.output)}
    assert list(forms) == [
        "demographics",
        "medical_history",
        "prior_therapies",
        "vital_signs",
        "ecog",
        "pg_sga",
        "concomitant_medications",
    ]
    score = next(f for f in forms["pg_sga"]["fields"] if f["id"] == "total_score")
    assert score["range"] == {"min": 0.0, "max": 60.0} and score["required"] is True


def test_forms_table_shows_visits_units_and_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    # the console is made at import (Rich reads COLUMNS then): widen it for this test, whatever ran first
    monkeypatch.setattr(output.console, "width", 200)
    result = runner.invoke(app, ["protocol", "forms", "ivo-shfrt-2l"])
    assert result.exit_code == 0, result.output
    assert "vital_signs: Vital signs, weight and height [screening, cycle, end_of_treatment" in result.output
    assert "concomitant_medications: Concomitant medications [log (no visit), repeating]" in result.output
    assert "mm[Hg]" in result.output and "birth_date is missing" in result.output


def test_unknown_protocol_is_a_clean_error() -> None:
    result = runner.invoke(app, ["protocol", "forms", "nope"])
    assert result.exit_code == 2 and "unknown protocol 'nope'" in result.output
