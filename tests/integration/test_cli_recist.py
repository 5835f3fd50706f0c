"""`trialdesk recist FILE [--rules] [--protocol] [--json]`: examples, schemas and clean errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "recist"
SCHEMAS = REPO / "src" / "trialdesk" / "schemas"


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


def _run_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["recist", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _write(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "confirmed-partial-response.json").read_text("utf-8"))
    return document


def _error(args: list[str]) -> str:
    result = runner.invoke(app, ["recist", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_examples_validate_against_the_input_schema(example: str) -> None:
    document = json.loads((EXAMPLES / example).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(_schema("recist-input.schema.json")).validate(document)


@pytest.mark.parametrize("rules", ["recist1.1", "irecist"])
@pytest.mark.parametrize("example", ["confirmed-partial-response.json", "irecist-pseudoprogression.json"])
def test_json_output_matches_the_output_schema(example: str, rules: str) -> None:
    data = _run_json(str(EXAMPLES / example), "--rules", rules)
    jsonschema.Draft202012Validator(_schema("recist-output.schema.json")).validate(data)


def test_confirmed_partial_response_example() -> None:
    data = _run_json(str(EXAMPLES / "confirmed-partial-response.json"))
    assert [tp["overall"] for tp in data["time_points"]] == ["PR", "PR", "PR", "PD"]
    assert [tp["sum_mm"] for tp in data["time_points"]] == [73, 56, 45, 62]
    assert data["time_points"][0]["pct_from_baseline"] == -31.13
    assert data["time_points"][3]["pct_from_nadir"] == 37.78
    assert (data["best_overall_response"], data["confirmed"]) == ("PR", True)
    assert data["response_start_date"] == "2024-04-15"
    assert data["progression_date"] == "2024-08-19"


def test_complete_response_with_node_under_10_mm_example() -> None:
    data = _run_json(str(EXAMPLES / "complete-response-node.json"))
    assert [tp["overall"] for tp in data["time_points"]] == ["PR", "CR", "CR", "PR"]
    assert data["time_points"][1]["sum_mm"] == 9
    assert (data["best_overall_response"], data["confirmed"]) == ("CR", True)


def test_equivocal_new_lesion_example_dates_progression_back() -> None:
    data = _run_json(str(EXAMPLES / "equivocal-new-lesion.json"))
    assert [tp["new_lesion"] for tp in data["time_points"]] == ["no", "yes", "yes"]
    assert data["progression_date"] == "2024-04-29"
    assert data["best_overall_response"] == "SD"


def test_irecist_example_reports_recist_1_1_in_parallel() -> None:
    data = _run_json(str(EXAMPLES / "irecist-pseudoprogression.json"), "--rules", "irecist")
    assert [tp["overall"] for tp in data["time_points"]] == ["iUPD", "iSD", "iPR", "iUPD", "iCPD"]
    assert data["best_overall_response"] == "iPR"
    assert data["progression_date"] == "2024-10-21"
    assert data["recist11"] == {"best_overall_response": "PD", "progression_date": "2024-06-17"}


def test_seed_000_example_needs_the_protocol_counting_rule() -> None:
    path = str(EXAMPLES / "seed-000-regional-nodes.json")
    assert "'R3' is not measurable" in _error([path])
    data = _run_json(path, "--protocol", "ivo-shfrt-2l")
    assert data["settings"]["lesion_counting"]["regional_nodes"] == "single_lesion"
    assert data["settings"]["confirmation_required"] is True
    assert data["best_overall_response"] == "PR"


def test_file_confirmation_flag_wins_over_the_protocol(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "seed-000-regional-nodes.json").read_text(encoding="utf-8"))
    document["confirmation_required"] = False
    data = _run_json(_write(tmp_path, document), "--protocol", "ivo-shfrt-2l")
    assert data["settings"]["confirmation_required"] is False
    assert data["confirmed"] is True  # confirmed anyway: reported, not required


def test_unknown_protocol_is_a_clean_error() -> None:
    path = str(EXAMPLES / "complete-response-node.json")
    assert "no-such-trial" in _error([path, "--protocol", "no-such-trial"])


def test_table_output_shows_time_points_and_best_response() -> None:
    path = str(EXAMPLES / "irecist-pseudoprogression.json")
    result = runner.invoke(app, ["recist", path, "--rules", "irecist"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "iUPD" in result.stdout and "iCPD" in result.stdout
    assert "Best overall response: iPR" in result.stdout
    assert "RECIST 1.1 in parallel: best PD" in result.stdout


def test_six_target_lesions_error(tmp_path: Path) -> None:
    document = _document()
    lesions = document["baseline"]["lesions"]
    lesions.append({"id": "T9", "site": "spleen", "nodal": False, "role": "target", "diameter_mm": 30})
    lesions.append({"id": "T10", "site": "kidney", "nodal": False, "role": "target", "diameter_mm": 30})
    message = _error([_write(tmp_path, document)])
    assert "baseline.lesions: 6 target lesions; RECIST 1.1 allows at most 5" in message


def test_three_targets_in_one_organ_error(tmp_path: Path) -> None:
    document = _document()
    document["baseline"]["lesions"][2]["site"] = "liver"
    message = _error([_write(tmp_path, document)])
    assert "3 target lesions in organ 'liver'" in message


def test_non_measurable_target_error(tmp_path: Path) -> None:
    document = _document()
    document["baseline"]["lesions"][2]["diameter_mm"] = 9
    message = _error([_write(tmp_path, document)])
    assert "baseline.lesions[2].role: target lesion 'T3' is not measurable" in message


def test_assessment_before_baseline_error(tmp_path: Path) -> None:
    document = _document()
    document["assessments"][0]["date"] = "2024-02-01"
    assert "assessments[0].date: 2024-02-01 is not after the baseline date 2024-03-04" in _error(
        [_write(tmp_path, document)]
    )


def test_unknown_lesion_id_error(tmp_path: Path) -> None:
    document = _document()
    document["assessments"][1]["measurements"]["T7"] = 5
    assert "assessments[1].measurements.T7: lesion id 'T7' is not a baseline lesion" in _error(
        [_write(tmp_path, document)]
    )


def test_malformed_json_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"baseline": {"date": "2024-01-01",', encoding="utf-8")
    assert "malformed JSON at line 1" in _error([str(path)])


def test_missing_file_error(tmp_path: Path) -> None:
    assert "cannot read the file" in _error([str(tmp_path / "absent.json")])


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("baseline", "lesions", 0, "diameter_mm"), "42", "baseline.lesions[0].diameter_mm"),
        (("baseline", "lesions", 0, "nodal"), "no", "baseline.lesions[0].nodal"),
        (("baseline", "lesions", 0, "role"), "main", "baseline.lesions[0].role"),
        (("assessments", 0, "measurements", "T1"), "tiny", "assessments[0].measurements.T1"),
        (("assessments", 0, "non_target", "NT1"), "gone", "assessments[0].non_target.NT1"),
        (("confirmation_required",), "yes", "confirmation_required"),
        (("baseline", "date"), "04/03/2024", "baseline.date"),
    ],
)
def test_wrong_types_name_the_field(
    tmp_path: Path, path: tuple[str | int, ...], value: Any, expected: str
) -> None:
    document = _document()
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    message = _error([_write(tmp_path, document)])
    assert f"{expected}:" in message
    assert repr(value) in message


def test_impossible_calendar_date_is_caught_by_the_domain(tmp_path: Path) -> None:
    document = _document()
    document["assessments"][0]["date"] = "2024-02-30"
    assert "assessments[0].date:" in _error([_write(tmp_path, document)])


def test_unknown_rules_value_is_rejected() -> None:
    result = runner.invoke(app, ["recist", str(EXAMPLES / "complete-response-node.json"), "--rules", "who"])
    assert result.exit_code == 2
