"""The committed patient JSON Schema matches the model, and every example file validates and screens
to the verdict its name states."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.unit.eligibility.conftest import EXAMPLES
from trialdesk.protocols import load_registry
from trialdesk.services.screening import patient_schema_path, render_patient_schema, screen_file

JSON_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".fhir.json"))
ALL_EXAMPLES = sorted(EXAMPLES.glob("*.json"))


def test_committed_schema_equals_generated() -> None:
    committed = patient_schema_path().read_text(encoding="utf-8")
    assert committed == render_patient_schema(), (
        "src/trialdesk/schemas/patient.schema.json is stale: regenerate it with "
        "`.venv/bin/python -m trialdesk.services.screening`"
    )


def test_schema_is_valid_json_schema() -> None:
    schema = json.loads(patient_schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_examples_exist_for_each_protocol_and_verdict() -> None:
    names = {p.name for p in ALL_EXAMPLES}
    for protocol in ("ivo-shfrt-2l", "scr-escc-01"):
        for verdict in ("eligible", "ineligible", "incomplete"):
            assert f"{protocol}-{verdict}.json" in names
    assert any(name.endswith(".fhir.json") for name in names)


@pytest.mark.parametrize("path", JSON_EXAMPLES, ids=lambda p: p.name)
def test_example_validates_against_schema(path: Path) -> None:
    schema = json.loads(patient_schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        json.loads(path.read_text(encoding="utf-8"))
    )


def test_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads(patient_schema_path().read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"id": "X", "ecog": 7}))
    assert list(validator.iter_errors({"id": "X", "unknown_key": 1}))
    assert list(validator.iter_errors({"sex": "male"}))  # id is required


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.name)
def test_example_screens_to_the_verdict_in_its_name(path: Path) -> None:
    protocol_id = "ivo-shfrt-2l" if path.name.startswith("ivo-shfrt-2l") else "scr-escc-01"
    expected = path.name.removeprefix(protocol_id + "-").split(".")[0]
    screening = screen_file(load_registry().get(protocol_id), path)
    assert screening.result.verdict == expected
