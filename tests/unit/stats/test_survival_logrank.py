"""Log-rank: agreement with lifelines, hand-worked example, batching, strata and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines.statistics import multivariate_logrank_test

from trialdesk.stats.logrank import group_risk_counts, logrank_from_counts, logrank_test
from trialdesk.stats.survival_data import SurvivalDataError


def _sample(seed: int, n: int = 90, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, k, n)
    time = np.round(rng.exponential(10.0 * (1 + group), n))  # rounded: plenty of ties
    return time, rng.random(n) < 0.75, group


@pytest.mark.parametrize("k", [2, 3])
def test_logrank_agrees_with_lifelines(k: int) -> None:
    time, event, group = _sample(11, k=k)
    ours = logrank_test(time, event, group)
    theirs = multivariate_logrank_test(time, group, event)
    assert ours.chisq == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours.p == pytest.approx(theirs.p_value, rel=1e-8)
    assert ours.df == k - 1


def test_two_groups_by_hand() -> None:
    # group a: deaths at 1 and 3; group b: death at 2, censored at 4
    res = logrank_test([1, 3, 2, 4], [1, 1, 1, 0], ["a", "a", "b", "b"])
    # t=1: n=4 (2,2), d=1 -> E_a=.5, V=.25; t=2: n=3 (1,2) -> E_a=1/3, V=2/9; t=3: n=2 (1,1) -> E_a=.5, V=.25
    expected_a = 0.5 + 1 / 3 + 0.5
    var = 0.25 + 2 / 9 + 0.25
    assert res.groups == ("a", "b")
    assert res.observed.tolist() == [2.0, 1.0]
    assert res.expected[0] == pytest.approx(expected_a)
    assert res.variance[0, 0] == pytest.approx(var)
    assert res.chisq == pytest.approx((2 - expected_a) ** 2 / var)


def test_rho_one_weights_by_pooled_left_continuous_km() -> None:
    res = logrank_test([1, 3, 2, 4], [1, 1, 1, 0], ["a", "a", "b", "b"], rho=1.0)
    w = np.array([1.0, 3 / 4, 3 / 4 * 2 / 3])  # S(t-) at t = 1, 2, 3
    assert res.observed[0] == pytest.approx(w[0] + w[2])
    assert res.expected[0] == pytest.approx(w[0] * 0.5 + w[1] / 3 + w[2] * 0.5)
    assert res.variance[0, 0] == pytest.approx(w[0] ** 2 * 0.25 + w[1] ** 2 * 2 / 9 + w[2] ** 2 * 0.25)


def test_stratified_sums_per_stratum_tests() -> None:
    time, event, group = _sample(5, k=2)
    strata = np.arange(time.size) % 2
    pooled = logrank_test(time, event, group, strata=strata)
    parts = [logrank_test(time[strata == s], event[strata == s], group[strata == s]) for s in (0, 1)]
    np.testing.assert_allclose(pooled.observed, parts[0].observed + parts[1].observed)
    np.testing.assert_allclose(pooled.expected, parts[0].expected + parts[1].expected)
    np.testing.assert_allclose(pooled.variance, parts[0].variance + parts[1].variance)
    one_stratum = logrank_test(time, event, group, strata=np.zeros(time.size))
    assert one_stratum.chisq == pytest.approx(logrank_test(time, event, group).chisq, rel=1e-12)


def test_batched_counts_give_the_same_statistics() -> None:
    trials = [_sample(seed, k=2) for seed in (1, 2)]
    counts = [group_risk_counts(t, e, g, 2) for t, e, g in trials]
    width = max(c[0].shape[0] for c in counts)
    pad = [tuple(np.pad(a, ((0, width - a.shape[0]), (0, 0))) for a in c) for c in counts]
    n_risk = np.stack([p[0] for p in pad])
    n_event = np.stack([p[1] for p in pad])
    observed, expected, variance = logrank_from_counts(n_risk, n_event, rho=1.0)
    for i, (t, e, g) in enumerate(trials):
        single = logrank_test(t, e, g, rho=1.0)
        np.testing.assert_allclose(observed[i], single.observed, rtol=1e-12)
        np.testing.assert_allclose(expected[i], single.expected, rtol=1e-12)
        np.testing.assert_allclose(variance[i], single.variance, rtol=1e-12)


def test_group_sizes_and_levels_are_reported() -> None:
    res = logrank_test([1, 2, 3, 4, 5], [1, 0, 1, 1, 1], [2, 1, 2, 1, 1])
    assert res.groups == (1, 2) and res.n == (3, 2)


def test_bad_input_is_refused_with_field_names() -> None:
    with pytest.raises(SurvivalDataError, match="group: needs at least two levels"):
        logrank_test([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(SurvivalDataError, match="rho: must be a finite number >= 0"):
        logrank_test([1, 2], [1, 1], ["a", "b"], rho=-1)
    with pytest.raises(SurvivalDataError, match="group: value at position 1 is missing"):
        logrank_test([1, 2], [1, 1], ["a", None])
    with pytest.raises(SurvivalDataError, match="strata: expected 2 values"):
        logrank_test([1, 2], [1, 1], ["a", "b"], strata=[1])


def test_zero_variance_gives_an_undefined_statistic_not_an_error() -> None:
    """One subject per arm, both dying at 1 month: d = n = 2 at the only event time, so the
    hypergeometric variance n1*n2*d*(n-d)/(n^2(n-1)) is 0 and the test carries no information
    (R's survdiff stops with "system is exactly singular"); the result is chisq NaN, df 0, p NaN."""
    result = logrank_test([1.0, 1.0], [True, True], ["A", "B"])
    assert math.isnan(result.chisq) and result.df == 0 and math.isnan(result.p)
    assert list(result.observed) == [1.0, 1.0] and list(result.expected) == [1.0, 1.0]
