"""Two-arm events (Schoenfeld, Freedman), events to patients, and single-arm survival sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.single_arm_survival import single_arm_survival_design, solve_single_arm, wu2015_power
from trialdesk.stats.survival_design import (
    dropout_hazard,
    event_probability,
    required_events,
    two_arm_survival_design,
)

# clinical-reference 7.3: two-sided alpha 0.05, power 0.9 (Schoenfeld, Freedman)
POWER90 = {
    0.50: (87.5, 94.6),
    0.60: (161.1, 168.1),
    0.65: (226.5, 233.5),
    0.70: (330.4, 337.4),
    0.75: (507.8, 514.9),
}


@pytest.mark.parametrize("hr", sorted(POWER90))
def test_events_reproduce_clinical_reference_power_90_table(hr: float) -> None:
    schoenfeld = required_events(hr, 0.05, 0.9, sided=2, method="schoenfeld")
    freedman = required_events(hr, 0.05, 0.9, sided=2, method="freedman")
    assert (round(schoenfeld, 1), round(freedman, 1)) == POWER90[hr]


@pytest.mark.parametrize(
    ("hr", "alpha", "expected"),
    [(0.6, 0.10, 69.1), (0.65, 0.10, 97.2), (0.7, 0.10, 141.7), (0.6, 0.05, 94.8), (0.65, 0.05, 133.3)],
)
def test_one_sided_schoenfeld_events_reproduce_clinical_reference(
    hr: float, alpha: float, expected: float
) -> None:
    assert round(required_events(hr, alpha, 0.8, sided=1), 1) == expected


def test_one_sided_alpha_equals_two_sided_double_alpha() -> None:
    assert required_events(0.7, 0.025, 0.8, sided=1) == pytest.approx(
        required_events(0.7, 0.05, 0.8, sided=2)
    )


def test_schoenfeld_allocation_ratio_and_symmetry_in_log_hr() -> None:
    one_to_one = required_events(0.7, 0.05, 0.8)
    assert required_events(0.7, 0.05, 0.8, allocation_ratio=2.0) == pytest.approx(one_to_one * 9 / 8)
    assert required_events(1 / 0.7, 0.05, 0.8) == pytest.approx(one_to_one)
    freedman_2_1 = required_events(0.7, 0.05, 0.8, method="freedman", allocation_ratio=2.0)
    z2 = required_events(0.7, 0.05, 0.8, method="freedman") * 0.3**2 / 1.7**2
    assert freedman_2_1 == pytest.approx(z2 * (1 + 2 * 0.7) ** 2 / (2 * 0.3**2))


def test_event_probability_matches_numerical_integration_with_dropout() -> None:
    lam, gamma, ta, tf = math.log(2) / 6, dropout_hazard(0.1, 12.0), 24.0, 12.0

    def observed_by_analysis(entry: float) -> float:
        follow = ta + tf - entry
        return lam / (lam + gamma) * (1 - math.exp(-(lam + gamma) * follow))

    expected = integrate.quad(observed_by_analysis, 0, ta)[0] / ta
    assert event_probability(lam, ta, tf, gamma) == pytest.approx(expected, rel=1e-10)
    assert dropout_hazard(0.1, 12.0) == pytest.approx(-math.log(0.9) / 12)


def test_trial_b_plausibility_from_clinical_reference() -> None:
    """HR 0.667, one-sided 0.05, power 0.8, control median 6: ~150 events, N ~163 (24 + 18 months)."""
    design = two_arm_survival_design(0.667, 0.05, 0.8, 1, median_control=6, accrual=24, followup=18)
    assert round(design.events) == 151
    assert design.patients is not None and round(design.patients) == 164
    shorter = two_arm_survival_design(0.667, 0.05, 0.8, 1, median_control=6, accrual=24, followup=12)
    assert shorter.patients is not None and 173 < shorter.patients < 175


def test_dropout_and_accrual_rate_round_trip() -> None:
    base = two_arm_survival_design(0.7, 0.05, 0.8, median_control=6, accrual=24, followup=12, dropout=0.05)
    assert base.patients is not None and base.accrual_rate is not None
    assert (
        base.patients
        > two_arm_survival_design(0.7, 0.05, 0.8, median_control=6, accrual=24, followup=12).events
    )
    by_rate = two_arm_survival_design(
        0.7, 0.05, 0.8, median_control=6, accrual_rate=base.accrual_rate, followup=12, dropout=0.05
    )
    assert by_rate.accrual == pytest.approx(24.0, rel=1e-9)
    assert by_rate.patients == pytest.approx(base.patients, rel=1e-9)


def test_events_only_when_no_accrual_inputs() -> None:
    design = two_arm_survival_design(0.7, 0.05, 0.8)
    assert design.patients is None and design.patients_ceiling is None
    assert design.events_ceiling == 247


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"hazard_ratio": 1.0}, "hazard_ratio"),
        ({"hazard_ratio": 0.0}, "hazard_ratio"),
        ({"hazard_ratio": -0.5}, "hazard_ratio"),
        ({"alpha": 0.0}, "alpha"),
        ({"power": 1.2}, "power"),
        ({"sided": 3}, "sided"),
        ({"allocation_ratio": 0.0}, "allocation_ratio"),
        ({"median_control": 6.0, "accrual": -1.0, "followup": 12.0}, "accrual"),
        ({"median_control": 6.0, "accrual": 24.0, "followup": -1.0}, "followup"),
        ({"median_control": 6.0, "accrual": 24.0}, "accrual"),
        ({"median_control": 6.0, "accrual": 24.0, "followup": 12.0, "dropout": 1.0}, "dropout"),
    ],
)
def test_two_arm_rejects_bad_input(kwargs: dict[str, float], parameter: str) -> None:
    args: dict[str, float] = {"hazard_ratio": 0.7, "alpha": 0.05, "power": 0.8, **kwargs}
    with pytest.raises(DesignInputError) as info:
        two_arm_survival_design(**args)  # type: ignore[arg-type]
    assert info.value.parameter == parameter


# clinical-reference 7.1 "how Trial A's n = 37 might have arisen", dropout 10 % (inflation)
SECTION71 = [
    ("exponential", 3.0, 5.0, 0.025, 0.80, 12, 12, 30.1, 33.1, 36.8),
    ("exponential", 3.4, 6.0, 0.025, 0.80, 12, 6, 24.3, 33.4, 37.1),
    ("exponential", 3.0, 5.0, 0.05, 0.90, 12, 12, 32.8, 36.2, 40.2),
    ("wu2015", 3.0, 5.0, 0.05, 0.80, 18, 6, None, 30.3, 33.7),
    ("exponential", 2.0, 3.5, 0.05, 0.90, 12, 6, 27.3, 30.9, 34.4),
]


@pytest.mark.parametrize(("method", "m0", "m1", "alpha", "power", "ta", "tf", "events", "n0", "n"), SECTION71)
def test_single_arm_reproduces_clinical_reference_section71_table(
    method: str,
    m0: float,
    m1: float,
    alpha: float,
    power: float,
    ta: float,
    tf: float,
    events: float | None,
    n0: float,
    n: float,
) -> None:
    design = single_arm_survival_design(method, m0, ta, tf, alpha, power, median1=m1, dropout=0.1)  # type: ignore[arg-type]
    if events is not None:
        assert round(design.events, 1) == events
    assert round(design.n_before_dropout, 1) == n0
    assert round(design.n, 1) == n


def test_wu2015_accurate_integrals_agree_with_fine_simpson_rule() -> None:
    design = single_arm_survival_design("wu2015", 9, 5, 3, 0.05, 0.8, hazard_ratio=1 / 1.75, shape=1.22)
    assert design.wu2015 is not None
    k, m0, delta, ta, tf = 1.22, 9.0, 1 / 1.75, 5.0, 3.0
    total = 0.0
    for a, b in ((0.0, tf), (tf, ta + tf)):
        t = np.linspace(a, b, 200_001)
        g = np.where(t <= tf, 1.0, (ta + tf - t) / ta)
        cum = math.log(2) * (t / m0) ** k
        hazard = k * math.log(2) * t ** (k - 1) / m0**k
        total += float(integrate.simpson(g * np.exp(-delta * cum) * cum * hazard, x=t))
    assert design.wu2015.p00 == pytest.approx(total, rel=1e-9)


def test_wu2015_power_at_the_computed_size_is_the_target_power() -> None:
    design = single_arm_survival_design("wu2015", 6, 24, 12, 0.05, 0.8, median1=9)
    assert wu2015_power(design.n_ceiling, 6, 24, 12, 0.05, median1=9) >= 0.8
    assert wu2015_power(design.n_ceiling - 1, 6, 24, 12, 0.05, median1=9) < 0.8


def test_wu2015_shape_converts_median_to_hazard_ratio() -> None:
    design = single_arm_survival_design(
        "wu2015", 9, 5, 3, 0.05, 0.8, median1=9 * 1.75 ** (1 / 1.22), shape=1.22
    )
    assert design.hazard_ratio == pytest.approx(1 / 1.75)
    assert design.n_ceiling == 88


def test_exponential_dropout_model_lowers_the_event_probability() -> None:
    none = single_arm_survival_design("exponential", 6, 24, 12, 0.05, 0.8, median1=9)
    hazard = single_arm_survival_design(
        "exponential", 6, 24, 12, 0.05, 0.8, median1=9, dropout=0.1, dropout_model="exponential"
    )
    assert hazard.p_event < none.p_event
    assert hazard.events == pytest.approx(none.events)
    assert hazard.n == pytest.approx(hazard.events / hazard.p_event)


def test_solver_finds_the_target_median_that_gives_37() -> None:
    pair = solve_single_arm(37, "exponential", 12, 6, 0.025, 0.8, median0=3.4, dropout=0.1)
    assert pair.n == pytest.approx(37.0, rel=1e-9)
    assert pair.median0 == 3.4
    assert pair.unknown_low == pytest.approx(pair.median1)
    again = single_arm_survival_design(
        "exponential", 3.4, 12, 6, 0.025, 0.8, median1=pair.median1, dropout=0.1
    )
    assert again.n == pytest.approx(37.0, rel=1e-9)
    inside = single_arm_survival_design(
        "exponential", 3.4, 12, 6, 0.025, 0.8, median1=(pair.unknown_low + pair.unknown_high) / 2, dropout=0.1
    )
    past = single_arm_survival_design(
        "exponential", 3.4, 12, 6, 0.025, 0.8, median1=pair.unknown_high * 1.001, dropout=0.1
    )
    assert (inside.n_ceiling, past.n_ceiling) == (37, 36)


def test_solver_finds_the_historical_median_for_a_given_target() -> None:
    pair = solve_single_arm(37, "wu2015", 12, 6, 0.025, 0.8, median1=6.0, dropout=0.1)
    assert pair.median1 == 6.0 and pair.median0 < 6.0
    assert pair.n == pytest.approx(37.0, rel=1e-9)
    assert pair.unknown_low < pair.median0 == pytest.approx(pair.unknown_high)
    check = single_arm_survival_design("wu2015", pair.median0, 12, 6, 0.025, 0.8, median1=6.0, dropout=0.1)
    assert check.n == pytest.approx(37.0, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"median1": 5.0}, "median1"),
        ({"median1": None, "hazard_ratio": 1.0}, "hazard_ratio"),
        ({"median1": None, "hazard_ratio": -0.2}, "hazard_ratio"),
        ({"median1": None}, "median1"),
        ({"followup": -1.0}, "followup"),
        ({"accrual": 0.0}, "accrual"),
        ({"alpha": 1.0}, "alpha"),
        ({"power": 0.0}, "power"),
        ({"dropout": 1.0}, "dropout"),
        ({"shape": 0.0}, "shape"),
    ],
)
def test_single_arm_rejects_bad_input(kwargs: dict[str, float | None], parameter: str) -> None:
    args: dict[str, float | None] = {
        "median0": 6.0,
        "median1": 9.0,
        "accrual": 24.0,
        "followup": 12.0,
        "alpha": 0.05,
        "power": 0.8,
        **kwargs,
    }
    with pytest.raises(DesignInputError) as info:
        single_arm_survival_design("wu2015", **args)  # type: ignore[arg-type]
    assert info.value.parameter == parameter


def test_solver_rejects_a_target_too_small_for_any_effect() -> None:
    with pytest.raises(DesignInputError) as info:
        solve_single_arm(2, "exponential", 12, 6, 0.025, 0.8, median0=3.4)
    assert info.value.parameter == "n"
