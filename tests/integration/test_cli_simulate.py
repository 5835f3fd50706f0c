"""`trialdesk simulate`: JSON keys and values, the table, reproducibility and clean errors.

The command is exercised through a small Typer app built here around ``simulate_command`` (the
same function ``trialdesk simulate`` registers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.simulate import simulate_command
from trialdesk.stats.stopping_rule import stopping_rule_characteristics

SCENARIOS = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
runner = CliRunner()

app = typer.Typer()
app.command("simulate")(simulate_command)
app.command("noop")(lambda: None)  # two commands: `simulate` stays a sub-command, as in trialdesk


def run(*args: str) -> Any:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 0, result.output
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def run_error(*args: str) -> str:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_seed_002_alternative_reports_operating_characteristics() -> None:
    data = run_json(
        "scr-escc-01",
        "--scenario",
        str(SCENARIOS / "scr-escc-01-alternative.yaml"),
        "--sims",
        "2000",
        "--seed",
        "3",
    )
    assert data["protocol_id"] == "scr-escc-01" and data["n_sims"] == 2000 and data["seed"] == 3
    assert data["test"] == "logrank" and data["alpha"] == 0.05
    stop = data["p_run_in_stop"]
    exact = stopping_rule_characteristics(25, 2, 0.05).p_stop
    assert abs(stop["value"] - exact) <= 3 * stop["mc_se"] + 1e-9
    assert 0 < data["p_reject"]["value"] < data["p_reject_given_analysed"]["value"] < 1
    assert data["patients"]["quantiles"]["95%"] == 165  # 25 run-in + 140 randomized
    assert data["true_hazard_ratio"] == 0.667
    assert {m["arm"] for m in data["medians"]} == {"A", "B"}
    assert data["duration_months"]["mean"] > 0 and data["log_hazard_ratio_bias"]["mc_se"] > 0


def test_seed_000_reports_the_one_sample_success_probability() -> None:
    data = run_json(
        "ivo-shfrt-2l", "--scenario", str(SCENARIOS / "ivo-shfrt-2l-alternative.yaml"), "--sims", "1500"
    )
    assert data["test"] == "one_sample_logrank" and data["p_run_in_stop"] is None
    assert data["p_reject"]["value"] > 0.5
    assert data["patients"]["mean"] == 37


def test_same_seed_same_numbers_for_any_number_of_workers() -> None:
    args = [
        "scr-escc-01",
        "--scenario",
        str(SCENARIOS / "scr-escc-01-null.yaml"),
        "--sims",
        "1200",
        "--seed",
        "8",
    ]
    assert run_json(*args, "--workers", "1") == run_json(*args, "--workers", "2")
    assert run_json(*args) != run_json(*args[:-1], "9")


def test_table_names_the_quantities() -> None:
    out = run("scr-escc-01", "--scenario", str(SCENARIOS / "scr-escc-01-null.yaml"), "--sims", "600").output
    for words in ("P(run-in terminates)", "type I error", "trial duration", "median PFS arm A", "MC SE"):
        assert words in out


def test_scenario_errors_name_the_field(tmp_path: Path) -> None:
    bad = yaml.safe_load((SCENARIOS / "scr-escc-01-alternative.yaml").read_text(encoding="utf-8"))
    bad["arms"]["A"]["hazard_ratio"] = -0.5
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    message = run_error("scr-escc-01", "--scenario", str(path), "--sims", "10")
    assert "arms.A.hazard_ratio: Input should be greater than 0" in message
    bad["arms"]["A"]["hazard_ratio"] = 0.7
    bad["run_in"]["grade5_rate"] = 1.5
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    assert "run_in.grade5_rate: Input should be less than or equal to 1" in run_error(
        "scr-escc-01", "--scenario", str(path)
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sims", "0"], "--sims: must be at least 1"),
        (["--seed", "-1"], "--seed: must be a whole number >= 0"),
        (["--workers", "0"], "--workers: must be at least 1"),
        (["--workers", "2", "--dask", "tcp://127.0.0.1:8786"], "--workers/--dask: give one of them"),
    ],
)
def test_option_errors(args: list[str], words: str) -> None:
    scenario = str(SCENARIOS / "ivo-shfrt-2l-null.yaml")
    assert words in run_error("ivo-shfrt-2l", "--scenario", scenario, *args)


def test_unknown_protocol_and_mismatched_scenario() -> None:
    assert "nope" in run_error("nope", "--scenario", str(SCENARIOS / "ivo-shfrt-2l-null.yaml"))
    message = run_error("ivo-shfrt-2l", "--scenario", str(SCENARIOS / "scr-escc-01-null.yaml"))
    assert "protocol: the scenario is for 'scr-escc-01', not 'ivo-shfrt-2l'" in message
