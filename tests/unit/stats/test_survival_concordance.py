"""Harrell's C by wavelet-matrix passes against a second, independent reader: every pair, one by one.

The pair-by-pair reader applies the rule as R's ``concordancefit`` states it (event ``i`` and a
subject ``j`` with ``t_j > t_i``, or ``t_j == t_i`` and ``j`` censored), so ties in time, ties in the
score, censoring at an event time and strata are all exercised; R's own counts are checked in
``tests/reference/test_survival_timefix_vs_r.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from trialdesk.stats.concordance import concordance_counts, concordance_index
from trialdesk.stats.survival_data import (
    SurvivalDataError,
    group_codes,
    sort_times_with_events,
)


def _pairs(t: np.ndarray, e: np.ndarray, s: np.ndarray) -> list[int]:
    concordant = discordant = tied = 0
    for i in range(t.size):
        if not e[i]:
            continue
        for j in range(t.size):
            if t[j] > t[i] or (t[j] == t[i] and not e[j]):
                if s[i] > s[j]:
                    concordant += 1
                elif s[i] < s[j]:
                    discordant += 1
                else:
                    tied += 1
    return [concordant, discordant, tied]


@pytest.mark.parametrize("seed", range(12))
def test_counts_equal_the_pair_by_pair_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 160))
    time = rng.integers(0, max(2, n // 4), n).astype(float)  # many ties in time
    event = rng.random(n) < 0.6
    for score in (rng.integers(0, 6, n).astype(float), rng.normal(size=n)):  # tied / distinct scores
        assert concordance_counts(time, event, score).tolist() == _pairs(time, event, score)


def test_strata_compare_pairs_only_within_a_stratum() -> None:
    rng = np.random.default_rng(3)
    time, event = rng.integers(0, 20, 90).astype(float), rng.random(90) < 0.7
    score, strata = rng.integers(0, 4, 90).astype(float), rng.integers(0, 3, 90)
    per_stratum = [_pairs(time[strata == k], event[strata == k], score[strata == k]) for k in range(3)]
    totals = np.sum(per_stratum, axis=0)
    concordant, discordant, tied = totals
    expected = (concordant + tied / 2) / (concordant + discordant + tied)
    assert concordance_index(time, event, score, strata=strata) == pytest.approx(expected, rel=1e-15)


def test_risk_score_is_checked() -> None:
    with pytest.raises(SurvivalDataError, match="risk: expected 3 values"):
        concordance_index([1, 2, 3], [1, 1, 1], [1.0, 2.0])
    with pytest.raises(SurvivalDataError, match="risk: missing or non-finite"):
        concordance_index([1, 2, 3], [1, 1, 1], [1.0, np.nan, 2.0])


def test_packed_sort_keeps_each_event_with_its_time_and_orders_minus_zero_first() -> None:
    time = np.array([3.0, -0.0, 2.5, 1e-300, 7.0, 2.5])
    event = np.array([True, False, True, False, False, False])
    ordered, events = sort_times_with_events(time, event)
    assert ordered.tolist() == [0.0, 1e-300, 2.5, 2.5, 3.0, 7.0]
    assert events.tolist() == [False, False, False, True, True, False]  # ties: censored first


def test_group_codes_fast_paths_keep_level_types_and_order() -> None:
    levels, codes = group_codes(np.array([2, 0, 2, 5]), 4, name="g")
    assert levels == [0, 2, 5] and codes.tolist() == [1, 0, 1, 2]
    levels, codes = group_codes(np.array([1.0, 0.0, 1.0]), 3, name="g")
    assert levels == [0.0, 1.0] and all(isinstance(v, float) for v in levels) and codes.tolist() == [1, 0, 1]
    levels, codes = group_codes(np.array([10**12, -3, 10**12]), 3, name="g")  # sparse: sorted instead
    assert levels == [-3, 10**12] and codes.tolist() == [1, 0, 1]
    levels, codes = group_codes(np.array([2.0, -1.0, 2.0]), 3, name="g")  # a gap between levels
    assert levels == [-1.0, 2.0] and codes.tolist() == [1, 0, 1]
    levels, codes = group_codes(np.array([1.5, 0.5, np.inf, 2.0**60]), 4, name="g")  # not small whole numbers
    assert levels == [0.5, 1.5, 2.0**60, np.inf] and codes.tolist() == [1, 0, 3, 2]
    with pytest.raises(SurvivalDataError, match="g: value at position 2 is missing"):
        group_codes(np.array([1.0, 0.0, np.nan]), 3, name="g")
