"""Summaries: Monte Carlo SEs, analytic reference, JSON cleaning, non-proportional scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.unit.simulation.conftest import scr_scenario
from trialdesk.domain.protocol.model import Protocol
from trialdesk.stats.simulation import build_plan, run_simulation, scenario_from_dict, summarize
from trialdesk.stats.simulation.results import distribution, proportion, schoenfeld_power


def test_proportion_and_distribution_standard_errors() -> None:
    est = proportion(np.array([True] * 30 + [False] * 70))
    assert est.value == pytest.approx(0.3)
    assert est.mc_se == pytest.approx(math.sqrt(0.3 * 0.7 / 100))
    values = np.arange(1.0, 101.0)
    dist = distribution(values)
    assert dist.mean == pytest.approx(50.5)
    assert dist.mc_se == pytest.approx(np.std(values, ddof=1) / 10.0)
    assert dist.quantiles["50%"] == pytest.approx(50.5)


def test_schoenfeld_power_reference_values() -> None:
    assert schoenfeld_power(1.0, 200, 0.025) == pytest.approx(0.025)
    assert schoenfeld_power(0.7, 247, 0.025) == pytest.approx(0.8003, abs=1e-4)


def test_non_proportional_arms_have_no_true_hazard_ratio(scr: Protocol) -> None:
    arms = {
        "B": {"distribution": "weibull", "median_months": 6, "shape": 1.4},
        "A": {
            "distribution": "piecewise_exponential",
            "starts_months": [0, 2],
            "hazards_per_month": [0.12, 0.07],
        },
    }
    plan = build_plan(scr, scenario_from_dict(scr_scenario(arms=arms)))
    assert plan.true_hazard_ratio is None
    oc = summarize(plan, run_simulation(plan, 400, seed=1))
    data = oc.to_dict()
    assert data["true_hazard_ratio"] is None and data["log_hazard_ratio_bias"] is None
    assert data["medians"][0]["true_median"] == pytest.approx(2 + (math.log(2) - 0.24) / 0.07)
    assert data["medians"][1]["true_median"] == pytest.approx(6.0)
    assert 0.0 <= data["p_reject"]["value"] <= 1.0


def test_same_shape_weibull_arms_are_proportional(scr: Protocol) -> None:
    arms = {
        "B": {"distribution": "weibull", "median_months": 6, "shape": 1.5},
        "A": {"distribution": "weibull", "median_months": 9, "shape": 1.5},
    }
    plan = build_plan(scr, scenario_from_dict(scr_scenario(arms=arms)))
    assert plan.true_hazard_ratio == pytest.approx((6 / 9) ** 1.5)
