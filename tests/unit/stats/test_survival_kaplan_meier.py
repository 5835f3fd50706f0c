"""Kaplan-Meier: hand-worked examples, R's quantile rules, batching, lifelines agreement, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from trialdesk.stats.kaplan_meier import (
    confidence_limits,
    greenwood_kaplan_meier,
    kaplan_meier,
    kaplan_meier_by_group,
    median_follow_up,
)
from trialdesk.stats.survival_data import SurvivalDataError

# times 1..5 with a censoring tied to the death at 2: S = 5/6, 4/6, 4/9, 4/9, 0
TIME = [1, 2, 2, 3, 4, 5]
EVENT = [1, 1, 0, 1, 0, 1]


def _random_sample(seed: int, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.round(rng.exponential(12.0, n), 1), rng.random(n) < 0.7


def test_product_limit_and_greenwood_by_hand() -> None:
    km = kaplan_meier(TIME, EVENT)
    np.testing.assert_array_equal(km.time, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(km.n_risk, [6, 5, 3, 2, 1])
    np.testing.assert_array_equal(km.n_event, [1, 1, 1, 0, 1])
    np.testing.assert_array_equal(km.n_censor, [0, 1, 0, 1, 0])
    np.testing.assert_allclose(km.surv, [5 / 6, 4 / 6, 4 / 9, 4 / 9, 0.0])
    greenwood = np.cumsum([1 / (6 * 5), 1 / (5 * 4), 1 / (3 * 2), 0.0])
    np.testing.assert_allclose(km.std_err[:4], np.sqrt(greenwood))
    assert math.isinf(km.std_err[4])  # everyone left at risk died: S = 0, as R
    assert km.n == 6 and km.events == 4
    # the log interval is undefined once S = 0 (R: NA)
    assert math.isnan(km.lower[4]) and math.isnan(km.upper[4])


def test_log_interval_formula_and_clipping() -> None:
    lower, upper = confidence_limits([0.9, 0.5], [0.2, 0.1], conf_type="log")
    z = 1.959963984540054
    np.testing.assert_allclose(lower, [0.9 * math.exp(-z * 0.2), 0.5 * math.exp(-z * 0.1)])
    assert upper[0] == 1.0  # clipped, as survfit
    assert upper[1] == pytest.approx(0.5 * math.exp(z * 0.1))


def test_plain_interval_is_clipped_to_unit_range() -> None:
    lower, upper = confidence_limits([0.1, 0.95], [2.0, 0.5], conf_type="plain")
    assert lower[0] == 0.0 and upper[1] == 1.0


def test_loglog_interval_undefined_at_one_and_matches_lifelines() -> None:
    t, e = _random_sample(3)
    km = kaplan_meier(t, e, conf_type="log-log")
    lifelines = KaplanMeierFitter().fit(t, e)
    ci = lifelines.confidence_interval_.loc[km.time]
    np.testing.assert_allclose(
        km.surv, lifelines.survival_function_.loc[km.time].to_numpy().ravel(), rtol=1e-12
    )
    alive = km.surv > 0  # where S = 0 R (and trialdesk) leave the interval undefined; lifelines gives 0
    np.testing.assert_allclose(km.lower[alive], ci.iloc[:, 0].to_numpy()[alive], rtol=1e-9)
    np.testing.assert_allclose(km.upper[alive], ci.iloc[:, 1].to_numpy()[alive], rtol=1e-9)
    assert np.isnan(km.lower[~alive]).all()
    lower, upper = confidence_limits([1.0], [0.0], conf_type="log-log")
    assert math.isnan(lower[0]) and math.isnan(upper[0])


def test_median_is_midpoint_when_curve_sits_at_one_half() -> None:
    # S = 0.75, 0.5, 0.25, 0: the curve is exactly 0.5 on [2, 3), so R reports (2 + 3) / 2
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    assert km.median.time == 2.5
    assert km.quantile(0.25).time == 1.5 and km.quantile(0.75).time == 3.5


def test_median_at_first_time_below_one_half() -> None:
    km = kaplan_meier([1, 2, 3, 4, 5], [1, 1, 1, 1, 1])
    assert km.median.time == 3.0


def test_median_not_reached_is_none() -> None:
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0])
    assert km.median.time is None and km.median.upper is None


def test_curve_ending_exactly_at_one_half_uses_last_follow_up() -> None:
    # S falls to 0.5 at t=2 and the last subject is censored at 9: R's end-of-curve rule
    km = kaplan_meier([1, 2, 9, 9], [1, 1, 0, 0])
    assert km.median.time == pytest.approx((2 + 9) / 2)


def test_landmark_rates_before_between_and_after_follow_up() -> None:
    km = kaplan_meier(TIME, EVENT)
    at = km.at([0.5, 2.5, 4.0, 10.0])
    np.testing.assert_allclose(at.surv, [1.0, 4 / 6, 4 / 9, 0.0])
    np.testing.assert_array_equal(at.n_risk, [6, 3, 2, 0])
    assert at.se_surv[0] == 0.0 and at.lower[0] == 1.0
    assert at.se_surv[1] == pytest.approx(4 / 6 * math.sqrt(1 / 30 + 1 / 20))


def test_batched_greenwood_equals_one_curve_at_a_time() -> None:
    n_risk = np.array([[10, 8, 5, 2], [6, 5, 3, 0]], dtype=float)
    n_event = np.array([[1, 2, 1, 1], [1, 0, 2, 0]], dtype=float)
    surv, se = greenwood_kaplan_meier(n_risk, n_event)
    for row in range(2):
        s1, se1 = greenwood_kaplan_meier(n_risk[row], n_event[row])
        np.testing.assert_array_equal(surv[row], s1)
        np.testing.assert_array_equal(se[row], se1)
    assert surv[1, 3] == surv[1, 2]  # a padded time (no one at risk) changes nothing


def test_by_group_sorts_levels_numerically() -> None:
    curves = kaplan_meier_by_group([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [10, 2, 10, 2, 2, 10])
    assert list(curves) == [2, 10]
    assert curves[2].n == 3 and curves[10].events == 3


def test_median_follow_up_by_reverse_km() -> None:
    # censoring is the "event": censored at 3, 5, 7 (deaths at 1, 2 are censorings of that curve)
    result = median_follow_up([1, 2, 3, 5, 7], [1, 1, 0, 0, 0])
    assert result.time == 5.0
    assert result.time == kaplan_meier([1, 2, 3, 5, 7], [0, 0, 1, 1, 1]).median.time


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([], [], "time: no observations"),
        ([1, 2], [1], "event: has 1 values but time has 2"),
        ([1, -2], [1, 0], "time: value at position 1 is negative"),
        ([1, float("nan")], [1, 0], "time: value at position 1 is missing or not finite"),
        (["a", "b"], [1, 0], "time: values must be numeric"),
        ([1, 2], [1, 2], "event: value at position 1 is 2"),
        ([1, 2], ["yes", "no"], r"event: values must be 0/1 or True/False \(booleans\)"),
    ],
)
def test_bad_input_names_field_and_reason(time: list[object], event: list[object], message: str) -> None:
    with pytest.raises(SurvivalDataError, match=message):
        kaplan_meier(time, event)


def test_bad_options_are_refused() -> None:
    with pytest.raises(SurvivalDataError, match="conf_type"):
        kaplan_meier(TIME, EVENT, conf_type="arcsin")  # type: ignore[arg-type]
    with pytest.raises(SurvivalDataError, match="conf_level"):
        kaplan_meier(TIME, EVENT, conf_level=1.5)
    with pytest.raises(SurvivalDataError, match="p: must be within"):
        kaplan_meier(TIME, EVENT).quantile(1.2)
