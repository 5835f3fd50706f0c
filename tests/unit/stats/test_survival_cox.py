"""Cox model: agreement with lifelines (Efron), tie methods, concordance and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index as lifelines_concordance

from trialdesk.stats.cox import concordance_index, cox_ph
from trialdesk.stats.survival_data import SurvivalDataError


def _sample(seed: int, n: int = 120, ties: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(0, 1, n)])
    time = rng.exponential(np.exp(-(0.7 * x[:, 0] - 0.3 * x[:, 1])) * 10)
    if ties:
        time = np.ceil(time)
    return x, time, rng.random(n) < 0.8


def test_efron_agrees_with_lifelines() -> None:
    x, time, event = _sample(7)
    ours = cox_ph(x, time, event, names=["arm", "score"])
    frame = pd.DataFrame({"arm": x[:, 0], "score": x[:, 1], "time": time, "event": event})
    theirs = CoxPHFitter().fit(frame, "time", "event")
    np.testing.assert_allclose(ours.coef, theirs.params_[["arm", "score"]].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.se, theirs.standard_errors_[["arm", "score"]].to_numpy(), rtol=1e-6)
    assert ours.loglik == pytest.approx(theirs.log_likelihood_, rel=1e-9)
    assert ours.likelihood_ratio.statistic == pytest.approx(
        theirs.log_likelihood_ratio_test().test_statistic, rel=1e-6
    )


def test_tie_methods_coincide_without_ties() -> None:
    x, time, event = _sample(3, n=60, ties=False)
    fits = [cox_ph(x, time, event, ties=ties) for ties in ("efron", "breslow", "exact")]
    for other in fits[1:]:
        np.testing.assert_allclose(other.coef, fits[0].coef, rtol=1e-10)
        assert other.loglik == pytest.approx(fits[0].loglik, rel=1e-12)


def test_tie_methods_differ_with_ties_and_exact_is_largest_null_loglik() -> None:
    x, time, event = _sample(4, n=60)
    efron, breslow, exact = (cox_ph(x, time, event, ties=t) for t in ("efron", "breslow", "exact"))
    assert breslow.loglik_null < efron.loglik_null < exact.loglik_null
    assert not np.allclose(efron.coef, breslow.coef, rtol=1e-8)


def test_summary_quantities_are_consistent() -> None:
    x, time, event = _sample(9)
    fit = cox_ph(x[:, 0], time, event, names=["arm"])
    assert fit.terms == ("arm",)
    assert fit.hr[0] == pytest.approx(np.exp(fit.coef[0]))
    assert fit.hr_lower[0] == pytest.approx(np.exp(fit.coef[0] - 1.959963984540054 * fit.se[0]))
    assert fit.wald.statistic == pytest.approx(fit.z[0] ** 2)
    assert fit.wald.p == pytest.approx(fit.p[0])
    assert fit.converged and fit.n == 120 and fit.n_events == int(event.sum())
    assert fit.likelihood_ratio.statistic == pytest.approx(2 * (fit.loglik - fit.loglik_null))


def test_stratified_fit_uses_within_stratum_risk_sets() -> None:
    x, time, event = _sample(12)
    strata = (np.arange(time.size) % 3).astype(str)
    fit = cox_ph(x, time, event, strata=strata)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "time": time, "event": event, "s": strata})
    theirs = CoxPHFitter().fit(frame, "time", "event", strata=["s"])
    # lifelines stops at its own, looser convergence criterion (about 4e-6 relative here); the
    # stratified fit itself matches R's coxph to 1e-12 in tests/reference
    np.testing.assert_allclose(fit.coef, theirs.params_[["a", "b"]].to_numpy(), rtol=1e-4)
    unstratified = cox_ph(x, time, event)
    assert not np.allclose(fit.coef, unstratified.coef, rtol=1e-3)


def test_concordance_by_hand_and_against_lifelines() -> None:
    # risk 3 > 2 > 1 with times 1 < 2 < 3 (all events): every pair concordant
    assert concordance_index([1, 2, 3], [1, 1, 1], [3.0, 2.0, 1.0]) == 1.0
    assert concordance_index([1, 2, 3], [1, 1, 1], [1.0, 2.0, 3.0]) == 0.0
    assert concordance_index([1, 2, 3], [1, 1, 1], [1.0, 1.0, 1.0]) == 0.5
    x, time, event = _sample(2, ties=False)
    risk = x @ np.array([0.7, -0.3])
    assert concordance_index(time, event, risk) == pytest.approx(lifelines_concordance(time, -risk, event))


def test_subject_censored_at_an_event_time_counts_as_longer() -> None:
    # event at 2 (risk 2) vs censored at 2 (risk 1): comparable and concordant; two events at 1: tied
    assert concordance_index([2, 2], [1, 0], [2.0, 1.0]) == 1.0
    assert np.isnan(concordance_index([1, 1], [1, 1], [2.0, 1.0]))


def test_monotone_likelihood_is_flagged_as_possibly_infinite() -> None:
    # every death is in arm 1 while arm 0 is still at risk: the hazard ratio estimate runs off to infinity
    fit = cox_ph([1, 1, 1, 0, 0, 0], [1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0])
    assert fit.maybe_infinite == (True,)
    finite = cox_ph([1, 0, 1, 0, 1, 0], [1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1])
    assert finite.maybe_infinite == (False,)


def test_bad_input_is_refused_with_field_names() -> None:
    x, time, event = _sample(1, n=20)
    with pytest.raises(SurvivalDataError, match="information matrix is singular"):
        cox_ph(np.ones(20), time, event)
    with pytest.raises(SurvivalDataError, match="event: no events"):
        cox_ph(x, time, np.zeros(20))
    with pytest.raises(SurvivalDataError, match="covariates: missing or non-finite"):
        cox_ph(np.where(np.arange(20) == 3, np.nan, 1.0), time, event)
    with pytest.raises(SurvivalDataError, match="ties: must be one of"):
        cox_ph(x, time, event, ties="kalbfleisch")  # type: ignore[arg-type]
    with pytest.raises(SurvivalDataError, match="names: 1 names for 2 covariates"):
        cox_ph(x, time, event, names=["a"])
    with pytest.raises(SurvivalDataError, match="covariates: expected 20 rows"):
        cox_ph(x[:5], time, event)
    with pytest.raises(SurvivalDataError, match="max_iter/eps"):
        cox_ph(x, time, event, max_iter=0)
