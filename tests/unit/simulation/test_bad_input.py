"""Impossible scenario values give a clear error naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.simulation.conftest import scr_scenario
from trialdesk.domain.protocol.model import Protocol
from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simulation import (
    LocalExecutor,
    ScenarioError,
    build_plan,
    load_scenario,
    run_simulation,
    scenario_from_dict,
)

EXP6 = {"distribution": "exponential", "median_months": 6}


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"accrual": {"sites": 4, "rate_per_site": -1.0}}, "accrual.rate_per_site", "greater than 0"),
        ({"accrual": {"sites": 0, "rate_per_site": 1.0}}, "accrual.sites", "greater than or equal to 1"),
        ({"accrual": {"duration_months": 0}}, "accrual.duration_months", "greater than 0"),
        ({"accrual": {"sites": 4}}, "accrual", "both sites and rate_per_site"),
        ({"run_in": {"grade5_rate": 1.2}}, "run_in.grade5_rate", "less than or equal to 1"),
        ({"run_in": {"grade5_rate": -0.1}}, "run_in.grade5_rate", "greater than or equal to 0"),
        ({"dropout": {"proportion": 1.5}}, "dropout.proportion", "less than 1"),
        ({"dropout": {"proportion": 0.1, "by_months": -12}}, "dropout.by_months", "greater than 0"),
        ({"assessment": {"death_share": 2}}, "assessment.death_share", "less than or equal to 1"),
        ({"assessment": {"interval_weeks": 0}}, "assessment.interval_weeks", "greater than 0"),
        (
            {"arms": {"B": EXP6, "A": {"relative_to": "B", "hazard_ratio": 0}}},
            "arms.A.hazard_ratio",
            "greater than 0",
        ),
        (
            {"arms": {"B": EXP6, "A": {"relative_to": "B", "hazard_ratio": -0.7}}},
            "arms.A.hazard_ratio",
            "greater",
        ),
        ({"arms": {"B": EXP6, "A": {"relative_to": "C", "hazard_ratio": 0.7}}}, "arms", "not an arm"),
        (
            {"arms": {"B": {"distribution": "exponential", "median_months": -6}, "A": EXP6}},
            "arms.B.median_months",
            "greater than 0",
        ),
        (
            {"arms": {"B": {"distribution": "weibull", "median_months": 6, "shape": 0}, "A": EXP6}},
            "arms.B.shape",
            "greater than 0",
        ),
        (
            {
                "arms": {
                    "B": {
                        "distribution": "piecewise_exponential",
                        "starts_months": [0, 3],
                        "hazards_per_month": [0.1, 0],
                    },
                    "A": EXP6,
                }
            },
            "arms.B",
            "last hazard",
        ),
        ({"arms": {}}, "arms", "at least 1 item"),
        ({"analysis": {"alpha": 1.5}}, "analysis.alpha", "less than 1"),
        ({"analysis": {"cutoff": {"events": 0}}}, "analysis.cutoff.events", "greater than or equal to 1"),
        ({"analysis": {"cutoff": {}}}, "analysis.cutoff", "exactly one of"),
        ({"sample_sizes": {"iib": 0}}, "sample_sizes.iib", "greater than or equal to 1"),
        ({"colour": "blue"}, "colour", "not permitted"),
    ],
)
def test_impossible_values_name_the_field(overrides: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(scr_scenario(**overrides))
    assert info.value.parameter == field
    assert words in info.value.reason
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"arms": {"B": EXP6}}, "arms", "no event-time distribution for arm(s) A"),
        ({"arms": {"A": EXP6, "B": EXP6, "C": EXP6}}, "arms.C", "is not an arm of phase 'iib'"),
        ({"run_in": None}, "run_in", "has run-in phase 'iia'"),
        ({"analysis": {"cutoff": {"events": 500}}}, "analysis.cutoff.events", "cannot be reached"),
        ({"sample_sizes": {"phase3": 10}}, "sample_sizes.phase3", "is not a phase"),
        ({"protocol": "ivo-shfrt-2l"}, "protocol", "is for 'ivo-shfrt-2l'"),
    ],
)
def test_scenarios_that_do_not_fit_the_protocol(
    scr: Protocol, overrides: dict[str, Any], field: str, words: str
) -> None:
    scenario = scenario_from_dict(scr_scenario(**overrides))
    with pytest.raises(ScenarioError) as info:
        build_plan(scr, scenario)
    assert info.value.parameter == field
    assert words in info.value.reason


def test_single_arm_protocol_refuses_a_run_in(ivo: Protocol) -> None:
    scenario = {
        "accrual": {"duration_months": 12},
        "arms": {"ivo-shfrt": EXP6},
        "run_in": {"grade5_rate": 0.1},
    }
    with pytest.raises(ScenarioError, match=r"^run_in: protocol 'ivo-shfrt-2l' has no run-in phase"):
        build_plan(ivo, scenario_from_dict(scenario))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^scenario: cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^scenario: .* is not valid json"):
        load_scenario(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^scenario: the file must hold a mapping"):
        load_scenario(listing)


def test_run_options_are_checked(scr: Protocol) -> None:
    plan = build_plan(scr, scenario_from_dict(scr_scenario()))
    with pytest.raises(DesignInputError, match=r"^sims: must be at least 1"):
        run_simulation(plan, 0, seed=1)
    with pytest.raises(DesignInputError, match=r"^seed: must be a whole number >= 0"):
        run_simulation(plan, 10, seed=-3)
    with pytest.raises(DesignInputError, match=r"^workers: must be at least 1"):
        LocalExecutor(0)
