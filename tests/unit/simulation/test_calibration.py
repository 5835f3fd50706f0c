"""One-sample log-rank test under the scan schedule: inflated type I error and its calibrated correction.

Issue 10, seed 000 (IVO-SHFRT-2L: "The study plans to enroll 37 patients"; PFS primary endpoint): the
standard test at one-sided 0.025 with 6-weekly scans has a simulated type I error of about 0.07
(docs/simulation.md), the critical value calibrated under H0 with the scan schedule brings it back
to nominal within Monte Carlo error.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trialdesk.protocols import load_registry
from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simulation import LocalExecutor, run_simulation
from trialdesk.stats.simulation.calibration import (
    OneSampleDesign,
    OneSampleTypeOneError,
    calibrated_critical_value,
    design_from_protocol,
    one_sample_type_one_error,
    simulation_plan,
)


@pytest.fixture(scope="module")
def ivo_design() -> OneSampleDesign:
    return design_from_protocol(load_registry().get("ivo-shfrt-2l"))


@pytest.fixture(scope="module")
def ivo(ivo_design: OneSampleDesign) -> OneSampleTypeOneError:
    return one_sample_type_one_error(ivo_design)


def test_design_read_from_the_ivo_shfrt_2l_protocol(ivo_design: OneSampleDesign) -> None:
    """Seed 000: 37 patients; protocol defaults 3.4 -> 6 months, one-sided 0.025, 12 + 6 months,
    10% dropout, 6-weekly imaging."""
    assert ivo_design == OneSampleDesign(
        n=37,
        median0=3.4,
        median1=6.0,
        shape=1.0,
        alpha=0.025,
        accrual_months=12.0,
        followup_months=6.0,
        dropout=0.10,
        imaging_interval_weeks=6.0,
    )


def test_standard_test_type_one_error_is_inflated_to_about_0_07_by_6_weekly_scans(
    ivo: OneSampleTypeOneError,
) -> None:
    """docs/simulation.md: 'interval censoring inflates it (about 0.07 for IVO-SHFRT-2L with 6-weekly
    scans)' at nominal one-sided 0.025."""
    t1e = ivo.standard.type_one_error
    assert ivo.nominal_alpha == 0.025 and ivo.standard.critical_value == pytest.approx(1.959964, abs=1e-6)
    assert 0.06 <= t1e.value <= 0.08
    assert t1e.value - 0.025 > 20 * t1e.mc_se


def test_calibrated_critical_value_keeps_the_type_one_error_within_3_mc_se_of_0_025(
    ivo: OneSampleTypeOneError,
) -> None:
    """Measured on an independent null simulation (seed + 1) from the one that calibrated c."""
    cal = ivo.calibrated
    assert abs(cal.type_one_error.value - 0.025) <= 3 * cal.type_one_error.mc_se
    assert cal.critical_value > ivo.standard.critical_value + 0.2
    assert cal.critical_value_mc_se is not None and 0 < cal.critical_value_mc_se < 0.05


def test_calibrated_test_power_under_the_protocol_alternative_median_6(ivo: OneSampleTypeOneError) -> None:
    """The protocol sized 37 patients for 80% power (exponential, 3.4 -> 6 months); the calibrated
    test keeps at least that, and less than the inflated standard test."""
    assert ivo.calibrated.power.value >= 0.80
    assert ivo.calibrated.power.value < ivo.standard.power.value


def test_deterministic_for_a_fixed_seed(ivo_design: OneSampleDesign) -> None:
    first = one_sample_type_one_error(ivo_design, n_sims=2000, seed=7)
    assert first == one_sample_type_one_error(ivo_design, n_sims=2000, seed=7)
    assert first != one_sample_type_one_error(ivo_design, n_sims=2000, seed=8)


def test_continuous_follow_up_standard_test_is_conservative_and_calibration_still_nominal(
    ivo_design: OneSampleDesign,
) -> None:
    """Without a scan schedule the one-sample log-rank test is conservative for small samples (Wu
    2015; docs/simulation.md); the calibration corrects in that direction too."""
    result = one_sample_type_one_error(replace(ivo_design, imaging_interval_weeks=None))
    assert result.standard.type_one_error.value < 0.025 - 3 * result.standard.type_one_error.mc_se
    t1e = result.calibrated.type_one_error
    assert abs(t1e.value - 0.025) <= 3 * t1e.mc_se
    assert result.calibrated.critical_value < result.standard.critical_value


def test_simulated_one_sample_logrank_moments_match_wu_2015_published_example(reference_dir: Path) -> None:
    """Wu (2015) published example (designs.R section 7): m0 = 9, k = 1.22, delta = 1/1.75, accrual
    5 + follow-up 3 months, continuous follow-up. Per patient, E[O] = sigma1^2, E[E] = sigma0^2 and
    Var(O - E) = sigma^2 (Wu's integrals, computed in R); simulated trials match within 3 MC SE.

    Wu's censoring G(t) ends the trial at ta + tf; the simulator at the last entry + tf, the last of n
    uniform entries being about ta n / (n + 1). With 20,000 patients per trial that gap (0.00025 months)
    is far below the Monte Carlo error, so the per-patient moments (which do not depend on n) compare.
    """
    rows: list[dict[str, Any]] = json.loads(
        (reference_dir / "design" / "designs.json").read_text(encoding="utf-8")
    )["one_sample_logrank_wu2015"]
    ref = next(r for r in rows if r["m0"] == 9 and r["power"] == 0.8)
    n = 20_000
    design = OneSampleDesign(
        n=n,
        median0=9.0,
        median1=9.0 / ref["delta"] ** (1 / ref["k"]),
        shape=ref["k"],
        alpha=0.05,
        accrual_months=5.0,
        followup_months=3.0,
        dropout=0.0,
        imaging_interval_weeks=None,
    )
    sims = 500
    out = run_simulation(
        simulation_plan(design, design.median1), sims, 1, executor=LocalExecutor(1), medians=False
    )
    observed = out.events.astype(float)
    expected = observed / np.exp(out.log_hr)  # log_hr = log(O / E); O > 0 in every trial here
    assert np.all(observed > 0)
    for value, target in ((observed / n, ref["sigma1_sq"]), (expected / n, ref["sigma0_sq"])):
        assert abs(value.mean() - target) <= 3 * value.std() / math.sqrt(sims)
    diff = (observed - expected) / math.sqrt(n)
    variance = diff.var(ddof=1)
    se_variance = variance * math.sqrt(2.0 / (sims - 1))  # near-normal sums of n patients
    assert abs(variance - ref["sigma"] ** 2) <= 3 * se_variance


def test_calibrated_critical_value_is_the_upper_alpha_order_statistic() -> None:
    z = np.arange(1000, dtype=float)  # 0 .. 999: 25 values above 974 at alpha 0.025
    critical, se = calibrated_critical_value(z, 0.025)
    assert critical == 974.0 and np.sum(z > critical) == 25
    assert se == pytest.approx((z[-26 + 10] - z[-26 - 10]) / (2 * 1.959964), rel=0.2)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"n": 0}, "n"),
        ({"median0": -3.4}, "median0"),
        ({"alpha": 1.5}, "alpha"),
        ({"dropout": 1.0}, "dropout"),
        ({"imaging_interval_weeks": 0.0}, "imaging_interval_weeks"),
        ({"followup_months": -1.0}, "followup_months"),
    ],
)
def test_bad_design_numbers_are_errors_naming_the_field(
    ivo_design: OneSampleDesign, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(DesignInputError) as info:
        replace(ivo_design, **change)
    assert info.value.parameter == field


def test_too_few_simulations_is_an_error(ivo_design: OneSampleDesign) -> None:
    with pytest.raises(DesignInputError, match="sims: must be at least 1000"):
        one_sample_type_one_error(ivo_design, n_sims=10)


def test_a_two_arm_protocol_is_refused_naming_the_method() -> None:
    with pytest.raises(DesignInputError) as info:
        design_from_protocol(load_registry().get("scr-escc-01"))
    assert info.value.parameter == "sample_size.method"
