"""The batched numerics agree with the one-trial implementations they vectorise."""

from __future__ import annotations

import numpy as np
import pytest

from trialdesk.stats.kaplan_meier import kaplan_meier
from trialdesk.stats.logrank import group_risk_counts, logrank_from_counts, logrank_test
from trialdesk.stats.simulation.engine import block_arrangements, km_median, risk_sets, two_group_logrank
from trialdesk.stats.simulation.plan import EventTimeModel


def _batch(rng: np.random.Generator, n_trials: int, n: int, grid: float | None) -> tuple[np.ndarray, ...]:
    time = rng.exponential(6.0, size=(n_trials, n))
    if grid is not None:  # interval-censored times: many ties
        time = np.ceil(time / grid) * grid
    event = rng.random((n_trials, n)) < 0.7
    group = rng.random((n_trials, n)) < 0.5
    return time, event, group


@pytest.mark.parametrize("grid", [None, 1.5])
def test_batched_logrank_equals_survdiff_port_per_trial(grid: float | None) -> None:
    rng = np.random.default_rng(1)
    time, event, group = _batch(rng, 40, 60, grid)
    rs = risk_sets(time, event, group)
    assert rs.ties is (grid is not None)
    o_minus_e, variance = two_group_logrank(rs)
    for i in range(time.shape[0]):
        single = logrank_test(time[i], event[i], group[i].astype(int))
        # groups sorted: 0 then 1; statistic of group 1
        assert o_minus_e[i] == pytest.approx(single.observed[1] - single.expected[1], rel=1e-10, abs=1e-10)
        assert variance[i] == pytest.approx(single.variance[1, 1], rel=1e-10)
        n_risk, n_event = group_risk_counts(time[i], event[i], group[i].astype(np.intp), 2)
        o, e, v = logrank_from_counts(n_risk, n_event)
        assert variance[i] == pytest.approx(v[1, 1], rel=1e-10)
        assert o_minus_e[i] == pytest.approx(o[1] - e[1], rel=1e-10, abs=1e-10)


def test_patients_with_negative_times_are_left_out() -> None:
    rng = np.random.default_rng(2)
    time, event, group = _batch(rng, 10, 50, None)
    padded_time = np.concatenate([time, -rng.random((10, 7))], axis=1)
    padded_event = np.concatenate([event, np.zeros((10, 7), bool)], axis=1)
    padded_group = np.concatenate([group, rng.random((10, 7)) < 0.5], axis=1)
    a = two_group_logrank(risk_sets(time, event, group))
    b = two_group_logrank(risk_sets(padded_time, padded_event, padded_group))
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("grid", [None, 1.5])
def test_batched_km_median_is_the_first_time_the_curve_reaches_one_half(grid: float | None) -> None:
    rng = np.random.default_rng(3)
    time, event, group = _batch(rng, 30, 45, grid)
    rs = risk_sets(time, event, group)
    medians = km_median(rs.time, rs.n_risk_1, rs.d_1)
    for i in range(time.shape[0]):
        arm = group[i]
        fit = kaplan_meier(time[i][arm], event[i][arm])
        reached = np.flatnonzero(fit.surv <= 0.5)
        expected = fit.time[reached[0]] if reached.size else np.nan
        np.testing.assert_allclose(medians[i], expected, rtol=1e-12)


def test_event_time_models_have_the_stated_medians() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_exponential(400_000)
    models = [
        EventTimeModel("exponential", np.log(2) / 6.0),
        EventTimeModel("weibull", np.log(2) / 6.0**1.3, shape=1.3),
        EventTimeModel("piecewise", 1.0, starts=(0.0, 3.0), hazards=(0.05, 0.2)),
    ]
    for model in models:
        sample = model.sample(x)
        assert np.median(sample) == pytest.approx(model.median(), rel=0.01)
    assert models[0].median() == pytest.approx(6.0)
    assert models[1].median() == pytest.approx(6.0)
    # piecewise: S(3) = exp(-0.15); median where 0.15 + 0.2 (t - 3) = ln 2
    assert models[2].median() == pytest.approx(3.0 + (np.log(2) - 0.15) / 0.2)


def test_block_arrangements_list_each_distinct_order_once() -> None:
    arrangements = block_arrangements((0, 0, 1, 1))
    assert arrangements is not None
    assert arrangements.shape == (6, 4)
    assert np.all(arrangements.sum(axis=1) == 2)
    assert block_arrangements(tuple([0] * 5 + [1] * 5)) is None  # too many: argsort fallback
