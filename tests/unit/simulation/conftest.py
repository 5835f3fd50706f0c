"""Shared fixtures: the built-in protocols and a randomized-only protocol matched to rpact's example."""

from __future__ import annotations

from typing import Any

import pytest

from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry
from trialdesk.stats.simulation import SimulationPlan, build_plan, scenario_from_dict


def randomized_only_protocol(size: int = 282, ratio: tuple[int, int] = (1, 1)) -> Protocol:
    """SCR-ESCC-01 without its run-in: a third trial made from data only (no code changes).

    Phase IIb alone, ``size`` patients, allocation ``A:B = ratio``.
    """
    data: dict[str, Any] = load_registry().get("scr-escc-01").model_dump(mode="json")
    data["id"] = "matched-two-arm"
    data["design"]["type"] = "randomized"
    phase = next(p for p in data["design"]["phases"] if p["kind"] == "randomized")
    phase["target_size"] = {"min": size, "max": size}
    unit = sum(ratio)
    phase["allocation"]["ratio"] = {"A": ratio[0], "B": ratio[1]}
    phase["allocation"]["block_sizes"] = [unit, 2 * unit]
    data["design"]["phases"] = [phase]
    data["design"]["target_enrolment"]["value"] = size
    data["design"]["gates"] = []
    data["stopping_rules"] = []
    data["endpoints"] = [e for e in data["endpoints"] if phase["id"] in e["phases"]]
    data["translations"] = {}  # SCR-ESCC-01's name the run-in this trial does not have
    return Protocol.model_validate(data)


def matched_scenario(hazard_ratio: float, events: int = 247, alpha: float = 0.025) -> dict[str, Any]:
    """rpact's simple design: exponential, control median 6 months, 24 months uniform accrual,
    analysis at ``events`` events, no interval censoring, no dropout."""
    return {
        "accrual": {"duration_months": 24},
        "arms": {
            "B": {"distribution": "exponential", "median_months": 6},
            "A": {"relative_to": "B", "hazard_ratio": hazard_ratio},
        },
        "assessment": {"interval_censoring": False},
        "analysis": {"cutoff": {"events": events}, "alpha": alpha},
    }


def matched_plan(hazard_ratio: float, **kwargs: Any) -> SimulationPlan:
    return build_plan(
        randomized_only_protocol(), scenario_from_dict(matched_scenario(hazard_ratio, **kwargs))
    )


@pytest.fixture(scope="session")
def scr() -> Protocol:
    return load_registry().get("scr-escc-01")


@pytest.fixture(scope="session")
def ivo() -> Protocol:
    return load_registry().get("ivo-shfrt-2l")


def scr_scenario(**overrides: Any) -> dict[str, Any]:
    """A valid SCR-ESCC-01 scenario; top-level keys can be replaced."""
    base: dict[str, Any] = {
        "protocol": "scr-escc-01",
        "accrual": {"sites": 8, "rate_per_site": 0.8},
        "run_in": {"grade5_rate": 0.05},
        "arms": {
            "B": {"distribution": "exponential", "median_months": 6},
            "A": {"relative_to": "B", "hazard_ratio": 0.667},
        },
        "analysis": {"cutoff": {"months_after_last_patient": 18}},
    }
    base.update(overrides)
    return base
