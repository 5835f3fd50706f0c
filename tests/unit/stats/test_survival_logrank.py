"""Log-rank: agreement with lifelines, hand-worked example, batching, strata and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines.statistics import multivariate_logrank_test

from trialdesk.stats import logrank as logrank_module
from trialdesk.stats.logrank import MAX_GROUPS, group_risk_counts, logrank_from_counts, logrank_test
from trialdesk.stats.survival_data import SurvivalDataError, merge_near_ties


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


def _r_like_sample(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    time = np.ceil(rng.exponential(10.0 * (1 + group)) * 4) / 4  # quarter days: ties
    return time, rng.random(n) < 0.7, group, rng.integers(0, 3, n)


@pytest.mark.parametrize("block", [1, 3, 64])
@pytest.mark.parametrize("rho", [0.0, 1.0])
@pytest.mark.parametrize("stratified", [False, True])
def test_blocks_of_subjects_add_up_to_the_whole_test(
    monkeypatch: pytest.MonkeyPatch, block: int, rho: float, stratified: bool
) -> None:
    """The sums run over blocks of subjects (one time at least per block); the weighted test carries
    S(t-) from block to block. Any block size gives the one-piece result."""
    time, event, group, stratum = _r_like_sample(3, 400)
    strata = stratum if stratified else None
    whole = logrank_test(time, event, group, rho=rho, strata=strata)
    monkeypatch.setattr(logrank_module, "_BLOCK", block)
    blocked = logrank_test(time, event, group, rho=rho, strata=strata)
    np.testing.assert_allclose(blocked.observed, whole.observed, rtol=1e-12)
    np.testing.assert_allclose(blocked.expected, whole.expected, rtol=1e-12)
    np.testing.assert_allclose(blocked.variance, whole.variance, rtol=1e-12, atol=1e-12)


def test_many_blocks_agree_with_lifelines_and_the_batched_counts() -> None:
    """200,000 subjects span several blocks: lifelines (rho 0) and the one-piece batched counts
    (rho 1) give the same statistics."""
    time, event, group, _ = _r_like_sample(8, 200_000)
    ours = logrank_test(time, event, group, timefix=False)
    theirs = multivariate_logrank_test(time, group, event)
    assert ours.chisq == pytest.approx(theirs.test_statistic, rel=1e-9)
    weighted = logrank_test(time, event, group, rho=1.0, timefix=False)
    n_risk, n_event = group_risk_counts(time, event, group.astype(np.intp), 2)
    observed, expected, variance = logrank_from_counts(n_risk, n_event, rho=1.0)
    np.testing.assert_allclose(weighted.observed, observed, rtol=1e-9)
    np.testing.assert_allclose(weighted.expected, expected, rtol=1e-9)
    np.testing.assert_allclose(weighted.variance, variance, rtol=1e-9)


def test_times_spanning_any_range_give_the_rank_based_result() -> None:
    """The log-rank test depends on the times' order only. Times from 0 to 1e300 (too wide to pack
    by exponent: the sort falls back to ranks) give the result of their ranks, as do times scaled."""
    time, event, group, _ = _r_like_sample(4, 300)
    ranks = np.unique(time, return_inverse=True)[1].astype(float)
    base = logrank_test(ranks, event, group, timefix=False)
    distinct = np.unique(time)
    spread = np.concatenate([[0.0], np.logspace(-300, 300, distinct.size - 1)])  # same order
    wide = spread[np.searchsorted(distinct, time)]
    for other in (wide, time * 1e-200, time):
        result = logrank_test(other, event, group, timefix=False)
        assert result.chisq == pytest.approx(base.chisq, rel=1e-12)
        np.testing.assert_allclose(result.expected, base.expected, rtol=1e-12)


def test_near_ties_merge_across_strata_as_r_does() -> None:
    """R runs aeqSurv on the whole time vector before splitting by stratum: 5, 5 + 1e-8 and
    5 + 2e-8 form one run (each gap within the tolerance) although the stratum holding 5 and
    5 + 2e-8 sees a gap above it. The result equals the test on the merged times without timefix."""
    time = np.array([5.0, 5.0 + 1e-8, 5.0 + 2e-8, 3.0, 7.0, 9.0, 5.0 + 2e-8, 4.0, 8.0, 6.0])
    event = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 0])
    group = np.array([0, 1, 1, 0, 1, 0, 1, 1, 0, 1])
    strata = np.array([0, 1, 0, 0, 1, 1, 0, 1, 0, 1])
    fixed = logrank_test(time, event, group, strata=strata)
    merged = merge_near_ties(time)
    assert np.unique(merged).size == np.unique(time).size - 2
    expected = logrank_test(merged, event, group, strata=strata, timefix=False)
    np.testing.assert_allclose(fixed.expected, expected.expected, rtol=1e-12)
    np.testing.assert_allclose(fixed.variance, expected.variance, rtol=1e-12)
    unfixed = logrank_test(time, event, group, strata=strata, timefix=False)
    assert not np.allclose(unfixed.expected, fixed.expected)


def test_more_groups_than_a_label_byte_holds_are_refused() -> None:
    n = 2 * (MAX_GROUPS + 1)
    with pytest.raises(SurvivalDataError, match=f"group: at most {MAX_GROUPS} levels"):
        logrank_test(np.arange(n, dtype=float), np.ones(n), np.arange(n) % (MAX_GROUPS + 1))
