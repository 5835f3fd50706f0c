"""One-sample log-rank test against a historical median (Finkelstein 2003; Wu 2015)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from trialdesk.stats.one_sample_logrank import (
    HistoricalControl,
    one_sample_logrank,
    one_sample_logrank_statistic,
)
from trialdesk.stats.survival_data import SurvivalDataError


def test_exponential_baseline_by_hand() -> None:
    time = [2.0, 4.0, 6.0, 12.0]
    event = [1, 0, 1, 0]
    res = one_sample_logrank(time, event, historical_median=6.0)
    expected = math.log(2) * sum(time) / 6.0  # Lambda0(t) = ln2 t / m0
    assert res.observed == 2
    assert res.expected == pytest.approx(expected)
    assert res.z == pytest.approx((expected - 2) / math.sqrt(expected))
    assert res.p_one_sided == pytest.approx(norm.sf(res.z))
    assert res.ratio == pytest.approx(2 / expected)


def test_weibull_shape_changes_cumulative_hazard() -> None:
    control = HistoricalControl(median=9.0, shape=1.22)
    assert control.survival(9.0) == pytest.approx(0.5)
    assert control.cumulative_hazard(18.0) == pytest.approx(math.log(2) * 2**1.22)
    res = one_sample_logrank([3.0, 18.0], [1, 0], historical_median=9.0, shape=1.22)
    assert res.expected == pytest.approx(math.log(2) * ((3 / 9) ** 1.22 + 2**1.22))


def test_fewer_events_than_expected_gives_small_p() -> None:
    time = np.full(40, 12.0)
    event = np.zeros(40)
    event[:5] = 1
    res = one_sample_logrank(time, event, historical_median=6.0)  # E = 40 * 2 ln2 = 55.5
    assert res.z > 5 and res.p_one_sided < 1e-6


def test_batched_statistic_matches_single_calls() -> None:
    rng = np.random.default_rng(0)
    time = rng.exponential(8.0, (5, 30))
    event = rng.random((5, 30)) < 0.7
    control = HistoricalControl(6.0)
    observed, expected, z = one_sample_logrank_statistic(time, event, control)
    for i in range(5):
        single = one_sample_logrank(time[i], event[i], historical_median=6.0)
        assert (observed[i], expected[i], z[i]) == pytest.approx((single.observed, single.expected, single.z))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(SurvivalDataError, match="historical_median: must be a positive number"):
        one_sample_logrank([1.0], [1], historical_median=0.0)
    with pytest.raises(SurvivalDataError, match="shape: must be a positive number"):
        one_sample_logrank([1.0], [1], historical_median=3.0, shape=-1.0)
    with pytest.raises(SurvivalDataError, match="no events are expected"):
        one_sample_logrank([0.0, 0.0], [0, 0], historical_median=3.0)
