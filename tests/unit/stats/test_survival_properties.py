"""Invariants of the survival estimators on generated data (hypothesis, derandomized: deterministic)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trialdesk.stats.cox import cox_ph
from trialdesk.stats.kaplan_meier import CONF_TYPES, kaplan_meier
from trialdesk.stats.logrank import logrank_test

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)

subjects = st.lists(
    st.tuples(st.integers(0, 30), st.booleans(), st.integers(0, 1)),  # (time, event, group)
    min_size=4,
    max_size=40,
)


def _arrays(rows: list[tuple[int, bool, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time, event, group = (np.array(col) for col in zip(*rows, strict=True))
    return time.astype(float), event.astype(bool), group


@SETTINGS
@given(subjects, st.sampled_from(CONF_TYPES))
def test_km_is_a_non_increasing_probability_inside_its_band(
    rows: list[tuple[int, bool, int]], conf: str
) -> None:
    time, event, _ = _arrays(rows)
    km = kaplan_meier(time, event, conf_type=conf)  # type: ignore[arg-type]
    assert np.all(np.diff(km.surv) <= 1e-15) and np.all((km.surv >= 0) & (km.surv <= 1))
    assert km.n_risk[0] == time.size and km.events == int(event.sum())
    defined = ~np.isnan(km.lower)
    assert np.all(km.lower[defined] <= km.surv[defined] + 1e-12)
    assert np.all(km.upper[defined] >= km.surv[defined] - 1e-12)


@SETTINGS
@given(subjects, st.sampled_from([0.0, 1.0]))
def test_logrank_ignores_subject_order_and_group_labels(
    rows: list[tuple[int, bool, int]], rho: float
) -> None:
    time, event, group = _arrays(rows)
    assume(len(set(group.tolist())) == 2 and event.any())
    base = logrank_test(time, event, group, rho=rho)
    order = np.arange(time.size)[::-1]
    shuffled = logrank_test(time[order], event[order], group[order], rho=rho)
    relabelled = logrank_test(time, event, np.where(group == 0, "z", "a"), rho=rho)
    assert base.chisq >= -1e-12
    assert np.isclose(shuffled.chisq, base.chisq, rtol=1e-9, atol=1e-12)
    assert np.isclose(relabelled.chisq, base.chisq, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(base.observed.sum(), base.expected.sum(), rtol=1e-9)


@SETTINGS
@given(st.integers(0, 10_000), st.sampled_from(["efron", "breslow"]))
def test_cox_coefficient_flips_sign_with_the_covariate(seed: int, ties: str) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=40)
    time = np.ceil(rng.exponential(np.exp(-0.5 * x) * 5))
    event = rng.random(40) < 0.8
    event[0] = True
    fit = cox_ph(x, time, event, ties=ties)  # type: ignore[arg-type]
    flipped = cox_ph(-x, time, event, ties=ties)  # type: ignore[arg-type]
    np.testing.assert_allclose(flipped.coef, -fit.coef, rtol=1e-8)
    np.testing.assert_allclose(flipped.loglik, fit.loglik, rtol=1e-12)
    np.testing.assert_allclose(flipped.se, fit.se, rtol=1e-8)
