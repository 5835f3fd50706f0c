"""Clopper-Pearson, the exact binomial test and the run-in stopping rule: properties and published tables."""

from __future__ import annotations

import pytest
from scipy import stats

from trialdesk.stats.binomial import clopper_pearson, exact_binomial_test
from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.stopping_rule import stopping_rule_characteristics, stopping_rule_table


@pytest.mark.parametrize(("x", "n"), [(1, 10), (5, 20), (15, 29), (25, 100)])
def test_clopper_pearson_limits_are_where_the_one_sided_tail_equals_half_alpha(x: int, n: int) -> None:
    ci = clopper_pearson(x, n, 0.95)
    assert stats.binom.sf(x - 1, n, ci.lower) == pytest.approx(0.025, rel=1e-9)
    assert stats.binom.cdf(x, n, ci.upper) == pytest.approx(0.025, rel=1e-9)
    assert ci.lower < x / n < ci.upper


def test_clopper_pearson_all_responders_has_upper_limit_one() -> None:
    ci = clopper_pearson(10, 10, 0.95)
    assert ci.upper == 1.0
    assert ci.lower == pytest.approx(0.025 ** (1 / 10), rel=1e-9)  # the "rule of three" mirror image


def test_clopper_pearson_narrower_at_lower_level() -> None:
    wide, narrow = clopper_pearson(7, 31, 0.95), clopper_pearson(7, 31, 0.80)
    assert wide.lower < narrow.lower < narrow.upper < wide.upper


@pytest.mark.parametrize(
    ("x", "n", "level", "parameter"),
    [(5, 3, 0.95, "x"), (-1, 3, 0.95, "x"), (1, 0, 0.95, "n"), (1, 3, 1.0, "level"), (1, 3, 0.0, "level")],
)
def test_clopper_pearson_rejects_bad_input_naming_the_parameter(
    x: int, n: int, level: float, parameter: str
) -> None:
    with pytest.raises(DesignInputError) as info:
        clopper_pearson(x, n, level)
    assert info.value.parameter == parameter


def test_exact_binomial_test_both_tails_add_up_with_the_point_mass() -> None:
    upper = exact_binomial_test(5, 20, 0.1, "greater")
    lower = exact_binomial_test(5, 20, 0.1, "less")
    assert upper + lower == pytest.approx(1.0 + stats.binom.pmf(5, 20, 0.1), rel=1e-12)
    assert exact_binomial_test(0, 20, 0.1) == 1.0


# clinical-reference section 0: P(>= 2 grade-5 events among n) for SCR-ESCC-01, rounded to 3 decimals
SECTION0_TABLE = {
    20: [0.017, 0.060, 0.120, 0.264, 0.608, 0.824],
    22: [0.020, 0.071, 0.140, 0.302, 0.661, 0.863],
    25: [0.026, 0.089, 0.172, 0.358, 0.729, 0.907],
}
SECTION0_RATES = [0.01, 0.02, 0.03, 0.05, 0.10, 0.15]


@pytest.mark.parametrize("n", sorted(SECTION0_TABLE))
def test_stopping_rule_reproduces_clinical_reference_section0_table(n: int) -> None:
    rows = stopping_rule_table(n, 2, SECTION0_RATES)
    assert [round(r.p_stop, 3) for r in rows] == SECTION0_TABLE[n]


@pytest.mark.parametrize(("n", "k", "p"), [(10, 1, 0.1), (12, 3, 0.2), (25, 2, 0.05), (5, 5, 0.5)])
def test_expected_treated_equals_sum_of_survival_probabilities(n: int, k: int, p: float) -> None:
    """E[N] = sum_{j=0}^{n-1} P(N > j) = sum_j P(fewer than k events among the first j subjects)."""
    oc = stopping_rule_characteristics(n, k, p)
    assert oc.expected_treated == pytest.approx(
        sum(stats.binom.cdf(k - 1, j, p) for j in range(n)), rel=1e-12
    )
    assert oc.p_stop + stats.binom.cdf(k - 1, n, p) == pytest.approx(1.0, rel=1e-12)


def test_stopping_rule_at_certain_and_impossible_events() -> None:
    never = stopping_rule_characteristics(9, 2, 0.0)
    always = stopping_rule_characteristics(9, 2, 1.0)
    assert (never.p_stop, never.p_zero, never.expected_treated) == (0.0, 1.0, 9.0)
    assert (always.p_stop, always.p_exactly_one, always.expected_treated) == (1.0, 0.0, 2.0)


@pytest.mark.parametrize(
    ("n", "k", "rate", "parameter"),
    [
        (3, 4, 0.1, "stop_at"),
        (3, 0, 0.1, "stop_at"),
        (0, 1, 0.1, "n"),
        (3, 2, 1.2, "rate"),
        (3, 2, -0.1, "rate"),
    ],
)
def test_stopping_rule_rejects_bad_input(n: int, k: int, rate: float, parameter: str) -> None:
    with pytest.raises(DesignInputError) as info:
        stopping_rule_characteristics(n, k, rate)
    assert info.value.parameter == parameter


def test_stopping_rule_table_needs_a_rate() -> None:
    with pytest.raises(DesignInputError, match="rates"):
        stopping_rule_table(10, 2, [])
