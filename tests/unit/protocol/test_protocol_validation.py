"""Protocol files are validated with precise errors: file, path inside the file, reason."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from trialdesk.protocols import ProtocolFileError, builtin_protocol_dir, load_protocol_file
from trialdesk.protocols.loader import parse_protocol


def _seed_002() -> dict[str, Any]:
    data = yaml.safe_load((builtin_protocol_dir() / "scr-escc-01.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _errors(data: Any) -> list[str]:
    with pytest.raises(ProtocolFileError) as info:
        parse_protocol(data, "test.yaml")
    assert info.value.file == "test.yaml"
    return [str(issue) for issue in info.value.issues]


def test_builtin_files_validate() -> None:
    for path in builtin_protocol_dir().glob("*.yaml"):
        assert load_protocol_file(path).id == path.stem


def test_unknown_key_is_named_with_its_path() -> None:
    data = _seed_002()
    data["design"]["phases"][1]["allocaton"] = {}
    assert "design.phases[1].allocaton: unknown key (not part of the protocol format)" in _errors(data)


def test_wrong_literal_names_allowed_values_and_input() -> None:
    data = _seed_002()
    data["design"]["centres"] = "several"
    (error,) = _errors(data)
    assert error.startswith("design.centres: Input should be 'single' or 'multi'") and "'several'" in error


def test_allocation_ratio_must_match_phase_arms() -> None:
    data = _seed_002()
    data["design"]["phases"][1]["allocation"]["ratio"] = {"A": 1, "C": 1}
    (error,) = _errors(data)
    assert "allocation ratio arms ['A', 'C'] differ from phase arms ['A', 'B']" in error


def test_block_size_must_fit_the_ratio() -> None:
    data = _seed_002()
    data["design"]["phases"][1]["allocation"]["block_sizes"] = [3]
    assert any("block size 3 is not a multiple" in e for e in _errors(data))


def test_undefined_intervention_in_arm_is_named() -> None:
    data = _seed_002()
    data["design"]["arms"][0]["interventions"].append("sbrt")
    assert any("arm 'A' intervention 'sbrt' is not defined" in e for e in _errors(data))


def test_stopping_rule_of_a_gate_must_exist() -> None:
    data = _seed_002()
    data["design"]["gates"][0]["stopping_rules"] = ["missing-rule"]
    assert any("gate stopping rule 'missing-rule' is not defined" in e for e in _errors(data))


def test_duplicate_criterion_ids_are_refused() -> None:
    data = _seed_002()
    data["eligibility"]["criteria"].append(copy.deepcopy(data["eligibility"]["criteria"][0]))
    assert any("duplicate criterion id(s): inc-1-age" in e for e in _errors(data))


def test_criterion_kind_must_match_its_id_and_source() -> None:
    data = _seed_002()
    data["eligibility"]["criteria"][0]["kind"] = "exclusion"
    assert any("must start with 'exc-'" in e for e in _errors(data))


def test_finding_codes_must_be_in_the_vocabulary() -> None:
    data = _seed_002()
    del data["vocabulary"]["findings"]["pericardial_effusion"]
    assert any("uses finding 'pericardial_effusion'" in e for e in _errors(data))


def test_lab_rule_needs_exactly_one_threshold() -> None:
    data = _seed_002()
    data["eligibility"]["criteria"][0]["rule"] = {"type": "lab", "test": "alt", "op": "<=", "value": 3}
    assert any("absolute lab threshold needs its 'unit'" in e for e in _errors(data))


def test_unknown_rule_type_is_refused() -> None:
    data = _seed_002()
    data["eligibility"]["criteria"][0]["rule"] = {"type": "horoscope"}
    assert any("eligibility.criteria[0].rule" in e and "horoscope" in e for e in _errors(data))


def test_target_enrolment_must_fit_phase_sizes() -> None:
    data = _seed_002()
    data["design"]["target_enrolment"]["value"] = 400
    assert any(
        "target_enrolment 400 is outside the sum of the phase target sizes (155-165)" in e
        for e in _errors(data)
    )


def test_randomized_phase_needs_allocation() -> None:
    data = _seed_002()
    del data["design"]["phases"][1]["allocation"]
    assert any("randomized phase 'iib' needs an 'allocation'" in e for e in _errors(data))


def test_top_level_must_be_a_mapping() -> None:
    assert _errors(["a", "list"]) == ["the file must hold a mapping at the top level"]


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ndesign: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProtocolFileError) as info:
        load_protocol_file(bad)
    (issue,) = info.value.issues
    assert issue.location.startswith("line ") and "not valid YAML" in issue.message
    assert str(bad) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolFileError, match="cannot read the file"):
        load_protocol_file(tmp_path / "absent.yaml")
