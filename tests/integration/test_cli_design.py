"""`trialdesk design ...`: tables, --json keys and values, clean errors, and `design check`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from trialdesk.domain.protocol.model import Protocol
from trialdesk.entrypoints.cli.main import app
from trialdesk.protocols import builtin_protocol_dir, load_protocol_file
from trialdesk.stats.single_arm_survival import single_arm_survival_design
from trialdesk.stats.survival_design import two_arm_survival_design

runner = CliRunner()


def run_json(*args: str) -> Any:
    result = runner.invoke(app, ["design", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_error(*args: str) -> str:
    result = runner.invoke(app, ["design", *args])
    assert result.exit_code == 2, result.output
    return result.stderr


def test_simon_json_has_optimal_and_minimax_with_attained_errors() -> None:
    data = run_json("simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--power", "0.8")
    keys = {"r1", "n1", "r", "n", "en0", "pet0", "alpha", "power"}
    assert set(data) == {"optimal", "minimax"}
    assert set(data["optimal"]) == keys and set(data["minimax"]) == keys
    assert [data["optimal"][k] for k in ("r1", "n1", "r", "n")] == [1, 10, 5, 29]
    assert [data["minimax"][k] for k in ("r1", "n1", "r", "n")] == [1, 15, 5, 25]
    assert data["optimal"]["en0"] == pytest.approx(15.0141203471, rel=1e-9)
    assert data["minimax"]["alpha"] < 0.05 < 0.8 < data["minimax"]["power"]


def test_simon_table() -> None:
    result = runner.invoke(app, ["design", "simon", "--p0", "0.2", "--p1", "0.4"], terminal_width=160)
    assert result.exit_code == 0
    assert "3/13" in result.stdout and "12/43" in result.stdout and "minimax" in result.stdout


def test_two_arm_survival_json_events_and_rpact_patients() -> None:
    data = run_json(
        "two-arm-survival",
        "--hr",
        "0.7",
        "--alpha",
        "0.05",
        "--power",
        "0.8",
        "--median-control",
        "6",
        "--accrual",
        "24",
        "--followup",
        "12",
        "--dropout",
        "0.05",
    )
    assert set(data) == {"events", "events_ceiling", "patients", "patients_ceiling"}
    assert data["events"] == pytest.approx(246.787104547358, rel=1e-9)
    assert data["events_ceiling"] == 247
    assert data["patients"] == pytest.approx(291.484567066107, rel=1e-9)  # rpact, 5% dropout by 12 months
    assert data["patients_ceiling"] == 292


def test_two_arm_survival_without_accrual_has_null_patients_and_handles_sidedness() -> None:
    data = run_json(
        "two-arm-survival", "--hr", "0.6", "--alpha", "0.10", "--sided", "1", "--method", "schoenfeld"
    )
    assert data["patients"] is None and data["patients_ceiling"] is None
    assert round(data["events"], 1) == 69.1
    freedman = run_json("two-arm-survival", "--hr", "0.7", "--method", "freedman", "--allocation", "1:1")
    assert freedman["events"] == pytest.approx(252.036249247432, rel=1e-9)
    two_to_one = run_json("two-arm-survival", "--hr", "0.7", "--allocation", "2:1")
    assert two_to_one["events"] == pytest.approx(246.787104547358 * 9 / 8, rel=1e-9)


def test_two_arm_survival_table_lists_event_probabilities() -> None:
    result = runner.invoke(
        app,
        [
            "design",
            "two-arm-survival",
            "--hr",
            "0.7",
            "--median-control",
            "6",
            "--accrual",
            "24",
            "--followup",
            "12",
        ],
        terminal_width=160,
    )
    assert result.exit_code == 0
    assert "P(event) mean" in result.stdout and "282.32 -> 283" in result.stdout


def test_single_arm_survival_wu2015_published_example() -> None:
    data = run_json(
        "single-arm-survival",
        "--method",
        "wu2015",
        "--median0",
        "9",
        "--hr",
        str(1 / 1.75),
        "--accrual",
        "5",
        "--followup",
        "3",
        "--alpha",
        "0.05",
        "--power",
        "0.8",
        "--shape",
        "1.22",
    )
    assert set(data) == {"n", "n_ceiling", "events"}
    assert data["n_ceiling"] == 88
    assert data["n"] == pytest.approx(87.3148119931799, rel=1e-4)


def test_single_arm_survival_exponential_matches_r() -> None:
    data = run_json(
        "single-arm-survival",
        "--method",
        "exponential",
        "--median0",
        "6",
        "--median1",
        "9",
        "--accrual",
        "24",
        "--followup",
        "12",
        "--alpha",
        "0.05",
        "--power",
        "0.8",
    )
    assert data["events"] == pytest.approx(37.60634886394, rel=1e-9)
    assert data["n"] == pytest.approx(45.9110661823757, rel=1e-9)
    assert data["n_ceiling"] == 46


def test_single_arm_survival_table() -> None:
    result = runner.invoke(
        app,
        [
            "design",
            "single-arm-survival",
            "--median0",
            "3.4",
            "--median1",
            "6",
            "--accrual",
            "12",
            "--followup",
            "6",
            "--alpha",
            "0.025",
            "--method",
            "exponential",
            "--dropout",
            "0.1",
        ],
        terminal_width=160,
    )
    assert result.exit_code == 0
    assert "37.06 -> 38" in result.stdout


def test_solve_single_arm_json_pairs_give_the_target() -> None:
    data = run_json(
        "solve-single-arm",
        "--n",
        "37",
        "--method",
        "exponential",
        "--median0",
        "3.0,3.4",
        "--accrual",
        "12",
        "--followup",
        "6",
        "--alpha",
        "0.025",
        "--power",
        "0.8",
        "--dropout",
        "0.1",
    )
    assert data["n_target"] == 37 and data["solved_for"] == "median1"
    assert [p["median0"] for p in data["pairs"]] == [3.0, 3.4]
    for pair in data["pairs"]:
        assert set(pair) == {"median0", "median1", "hazard_ratio", "events", "n", "solved_min", "solved_max"}
        assert pair["n"] == pytest.approx(37.0, rel=1e-9)
        design = single_arm_survival_design(
            "exponential", pair["median0"], 12, 6, 0.025, 0.8, median1=pair["median1"], dropout=0.1
        )
        assert design.n == pytest.approx(37.0, rel=1e-9)
        assert pair["solved_min"] <= pair["median1"] < pair["solved_max"]


def test_solve_single_arm_table_for_a_known_target_median() -> None:
    result = runner.invoke(
        app,
        [
            "design",
            "solve-single-arm",
            "--n",
            "37",
            "--method",
            "wu2015",
            "--median1",
            "6",
            "--accrual",
            "12",
            "--followup",
            "6",
            "--alpha",
            "0.025",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "median0 range for ceil(n) = 37" in result.stdout


def test_stopping_rule_json_rows_match_r() -> None:
    data = run_json("stopping-rule", "--n", "20", "--stop-at", "2", "--rates", "0.01,0.05,0.15")
    assert [set(r) for r in data["rows"]] == [
        {"rate", "p_stop", "p_zero", "p_exactly_one", "expected_treated"}
    ] * 3
    first = data["rows"][0]
    assert first["rate"] == 0.01
    assert first["p_stop"] == pytest.approx(0.0168593376356518, rel=1e-9)
    assert first["expected_treated"] == pytest.approx(19.8952400038421, rel=1e-9)
    assert data["rows"][2]["p_exactly_one"] == pytest.approx(0.136798345004168, rel=1e-9)


def test_stopping_rule_table() -> None:
    result = runner.invoke(app, ["design", "stopping-rule", "--n", "6", "--stop-at", "2", "--rates", "0.1"])
    assert result.exit_code == 0
    assert "0.1143" in result.stdout and "5.83" in result.stdout


def test_response_ci_json_matches_r_binom_test() -> None:
    data = run_json("response-ci", "--x", "7", "--n", "31")
    assert data == pytest.approx(
        {"estimate": 7 / 31, "lower": 0.0959421683457511, "upper": 0.410963866138673}
    )
    ninety = run_json("response-ci", "--x", "0", "--n", "10", "--level", "0.9")
    assert ninety["lower"] == 0.0 and ninety["upper"] == pytest.approx(0.258865550893052, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simon", "--p0", "0.3", "--p1", "0.2"], "--p1: must be greater than p0"),
        (
            ["simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "1.5"],
            "--alpha: must be strictly between 0 and 1",
        ),
        (["two-arm-survival", "--hr", "1"], "--hr: must differ from 1"),
        (["two-arm-survival", "--hr", "0"], "--hr: must be positive"),
        (["two-arm-survival", "--hr", "0.7", "--power", "1"], "--power: must be strictly between 0 and 1"),
        (["two-arm-survival", "--hr", "0.7", "--sided", "3"], "--sided: must be 1 or 2"),
        (
            [
                "two-arm-survival",
                "--hr",
                "0.7",
                "--median-control",
                "6",
                "--accrual",
                "-2",
                "--followup",
                "12",
            ],
            "--accrual: must be positive",
        ),
        (
            ["two-arm-survival", "--hr", "0.7", "--allocation", "a:b"],
            "--allocation: expected treatment:control",
        ),
        (
            [
                "single-arm-survival",
                "--median0",
                "6",
                "--median1",
                "9",
                "--accrual",
                "24",
                "--followup",
                "-3",
            ],
            "--followup: must not be negative",
        ),
        (
            [
                "single-arm-survival",
                "--median0",
                "6",
                "--median1",
                "4",
                "--accrual",
                "24",
                "--followup",
                "12",
            ],
            "--median1: must be longer than median0",
        ),
        (
            ["single-arm-survival", "--median0", "6", "--hr", "1", "--accrual", "24", "--followup", "12"],
            "--hr: must be below 1",
        ),
        (["single-arm-survival", "--median0", "6", "--accrual", "24", "--followup", "12"], "--median1/--hr"),
        (
            [
                "single-arm-survival",
                "--method",
                "weibull",
                "--median0",
                "6",
                "--median1",
                "9",
                "--accrual",
                "24",
                "--followup",
                "12",
            ],
            "--method: must be one of wu2015, exponential",
        ),
        (["solve-single-arm", "--n", "37", "--accrual", "12", "--followup", "6"], "--median0/--median1"),
        (
            ["stopping-rule", "--n", "3", "--stop-at", "4", "--rates", "0.1"],
            "--stop-at: the stopping count (4)",
        ),
        (
            ["stopping-rule", "--n", "3", "--stop-at", "2", "--rates", "0.1,1.5"],
            "--rates: must be between 0 and 1",
        ),
        (
            ["stopping-rule", "--n", "3", "--stop-at", "2", "--rates", "x"],
            "--rates: expected comma-separated",
        ),
        (["response-ci", "--x", "5", "--n", "3"], "--x: number of responders (5) cannot exceed n (3)"),
        (
            ["response-ci", "--x", "1", "--n", "3", "--level", "95"],
            "--level: must be strictly between 0 and 1",
        ),
    ],
)
def test_bad_input_is_a_clean_error_naming_the_option(args: list[str], message: str) -> None:
    assert message in run_error(*args)


# ------------------------------------------------------------------------------------------ check


def _expected_builtin(protocol_id: str) -> dict[str, Any]:
    """Recompute a built-in protocol's size straight from the calculators and its YAML values."""
    protocol = load_protocol_file(builtin_protocol_dir() / f"{protocol_id}.yaml")
    size = protocol.sample_size
    assert size is not None
    p = {k: float(v.value) for k, v in size.parameters.items()}
    if size.method in ("schoenfeld", "freedman"):
        design = two_arm_survival_design(
            p["hazard_ratio"],
            p["alpha"],
            p["power"],
            int(p["sided"]),
            size.method,
            p["allocation_ratio"],
            p["median_control_months"],
            p["accrual_months"],
            p["followup_months"],
            dropout=size.dropout.value,
        )
        return {"n": design.patients, **_targets(protocol, "randomized")}
    single = single_arm_survival_design(
        "wu2015" if size.method == "wu2015" else "exponential",
        p["median0_months"],
        p["accrual_months"],
        p["followup_months"],
        p["alpha"],
        p["power"],
        median1=p["median1_months"],
        shape=p.get("shape", 1.0),
        dropout=size.dropout.value,
    )
    return {"n": single.n, **_targets(protocol, "single_arm")}


def _targets(protocol: Protocol, kind: str) -> dict[str, Any]:
    (phase,) = [p for p in protocol.design.phases if p.kind == kind]
    return {
        "target": protocol.design.target_enrolment.value,
        "phase": phase.id,
        "phase_min": phase.target_size.min,
        "phase_max": phase.target_size.max,
    }


@pytest.mark.parametrize("protocol_id", ["ivo-shfrt-2l", "scr-escc-01"])
def test_check_builtin_protocol_json_shows_computed_size_beside_target(protocol_id: str) -> None:
    data = run_json("check", protocol_id)
    expected = _expected_builtin(protocol_id)
    assert data["protocol_id"] == protocol_id
    assert data["n"] == pytest.approx(expected["n"], rel=1e-12)
    assert data["n_ceiling"] == math.ceil(expected["n"])
    assert data["target_enrolment"] == expected["target"]
    # the computed size is compared with the target of the phase it sizes (issue 10), not the total
    low, high = expected["phase_min"], expected["phase_max"]
    assert data["sized_phase"] == {"phase": expected["phase"], "min": low, "max": high}
    n = data["n_ceiling"]
    assert data["difference"] == (n - low if n < low else n - high if n > high else 0)
    assert data["matches_target"] is (low <= n <= high)
    assert set(data["parameters"]) >= {"alpha", "power", "accrual_months", "followup_months"}


def test_check_scr_escc_01_compares_phase_iib_135_140_and_shows_the_iia_run_in_separately() -> None:
    """Seed 002: "Phase IIa (Safety Run-in / Pilot Phase): An initial cohort of approximately 20-25
    patients ..." then "2. Phase IIb (Randomized Controlled Phase)"; the registry total is 160, so the
    randomized phase's target is 135-140 (protocol scr-escc-01). The Schoenfeld/rpact size sizes IIb only.
    """
    data = run_json("check", "scr-escc-01")
    expected = _expected_builtin("scr-escc-01")
    n = math.ceil(expected["n"])
    assert n == 170  # HR 0.667, one-sided 0.05, 80%, 5% dropout by 12 months (protocol rationale)
    assert data["sized_phase"] == {"phase": "iib", "min": 135, "max": 140}
    assert data["difference"] == n - 140 == 30
    assert data["matches_target"] is False
    assert data["run_in"] == {"phase": "iia", "min": 20, "max": 25}
    assert data["total"] == {"computed_min": n + 20, "computed_max": n + 25, "target_enrolment": 160}
    table = runner.invoke(app, ["design", "check", "scr-escc-01"], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "phase iib target" in table.stdout and "135-140" in table.stdout and "+30" in table.stdout
    assert "run-in iia" in table.stdout and "20-25" in table.stdout
    assert f"{n + 20}-{n + 25}" in table.stdout


def test_check_table_for_builtin_protocol() -> None:
    result = runner.invoke(app, ["design", "check", "ivo-shfrt-2l"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "median0_months" in result.stdout and "target enrolment" in result.stdout


def _write_variant(folder: Path, changes: dict[str, Any]) -> str:
    """A copy of ivo-shfrt-2l with another id and a modified sample_size section."""
    data = yaml.safe_load((builtin_protocol_dir() / "ivo-shfrt-2l.yaml").read_text(encoding="utf-8"))
    data["id"] = "ivo-variant"
    data["sample_size"] = changes
    (folder / "ivo-variant.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return "ivo-variant"


def _param(value: float, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "provenance": "default", "rationale": "test value"}


def test_check_wu2015_protocol_reproduces_the_published_88(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIALDESK_PROTOCOL_DIRS", json.dumps([str(tmp_path)]))
    parameters = {
        "median0_months": _param(9.0, "months"),
        "median1_months": _param(9.0 * 1.75 ** (1 / 1.22), "months"),
        "alpha": _param(0.05),
        "power": _param(0.8),
        "accrual_months": _param(5.0, "months"),
        "followup_months": _param(3.0, "months"),
        "shape": _param(1.22),
    }
    protocol_id = _write_variant(
        tmp_path, {"method": "wu2015", "endpoint": "pfs", "parameters": parameters, "dropout": _param(0.0)}
    )
    data = run_json("check", protocol_id)
    assert data["method"] == "wu2015"
    assert data["n_ceiling"] == 88
    assert data["difference"] == 88 - data["target_enrolment"]


def test_check_reports_a_missing_parameter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALDESK_PROTOCOL_DIRS", json.dumps([str(tmp_path)]))
    protocol_id = _write_variant(
        tmp_path,
        {
            "method": "schoenfeld",
            "endpoint": "pfs",
            "parameters": {"alpha": _param(0.05)},
            "dropout": _param(0.0),
        },
    )
    assert "sample_size.parameters has no 'hazard_ratio'" in run_error("check", protocol_id)


def test_check_reports_an_impossible_parameter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALDESK_PROTOCOL_DIRS", json.dumps([str(tmp_path)]))
    parameters = {
        "median0_months": _param(6.0),
        "median1_months": _param(9.0),
        "alpha": _param(0.05),
        "power": _param(0.8),
        "accrual_months": _param(-12.0),
        "followup_months": _param(6.0),
    }
    protocol_id = _write_variant(
        tmp_path,
        {
            "method": "exponential_single_arm",
            "endpoint": "pfs",
            "parameters": parameters,
            "dropout": _param(0.1),
        },
    )
    assert "sample_size.parameters.accrual_months: must be positive" in run_error("check", protocol_id)


def test_check_unknown_protocol_is_a_clean_error() -> None:
    assert "unknown protocol 'nope'" in run_error("check", "nope")


def test_check_ivo_shfrt_2l_states_the_one_sample_type_one_error_beside_the_calibrated_test() -> None:
    """Seed 000 (single arm, 37 patients, PFS): the standard one-sample log-rank test under 6-weekly
    scans rejects about 7% of the time at nominal 0.025 (docs/simulation.md); the calibrated critical
    value is at nominal within 3 MC SE. Both printed side by side, with the number of simulations."""
    data = run_json("check", "ivo-shfrt-2l", "--sims", "20000")
    test = data["one_sample_test"]
    assert test["n_sims"] == 20000 and test["seed"] == 2015 and test["nominal_alpha"] == 0.025
    standard, calibrated = test["standard"], test["calibrated"]
    assert standard["critical_value"] == pytest.approx(1.959964, abs=1e-6)
    assert 0.06 <= standard["type_one_error"]["value"] <= 0.08
    t1e = calibrated["type_one_error"]
    assert abs(t1e["value"] - 0.025) <= 3 * t1e["mc_se"]
    assert calibrated["critical_value"] > 2.2 and calibrated["power"]["value"] >= 0.8
    result = runner.invoke(app, ["design", "check", "ivo-shfrt-2l", "--sims", "20000"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Z >= 1.960" in result.stdout and "20,000 simulated trials" in " ".join(result.stdout.split())
    assert f"{standard['type_one_error']['value']:.4f}" in result.stdout
    assert f"{t1e['value']:.4f}" in result.stdout


def test_check_two_arm_protocol_has_no_one_sample_test() -> None:
    assert "one_sample_test" not in run_json("check", "scr-escc-01")


def test_check_too_few_simulations_is_a_clean_error() -> None:
    assert "--sims: must be at least 1000" in run_error("check", "ivo-shfrt-2l", "--sims", "10")
