"""Cox proportional-hazards regression, as R's ``survival::coxph``.

Methods
-------
* Partial likelihood (Cox 1972) with tied event times handled by Efron's (1977) approximation,
  Breslow's (1974) approximation, or the exact conditional ("discrete") likelihood of Kalbfleisch &
  Prentice, computed with the elementary-symmetric-polynomial recursion of Gail, Lubin & Rubinstein
  (1981).
* Stratified model: a separate baseline hazard per stratum, common coefficients; the log
  likelihood, score and information are sums over strata.
* Newton-Raphson from ``beta = 0`` with step halving, converged when
  ``|1 - loglik_old / loglik_new| <= 1e-9``: the same iteration as R's ``coxfit6`` (so the iteration
  count matches ``coxph()$iter``).
* Wald test ``b' I b``, score test ``U(0)' I(0)^-1 U(0)``, likelihood-ratio test
  ``2 (l(b) - l(0))``; 95% CI for the hazard ratio ``exp(b ± z se)``; Harrell's concordance as
  ``coxph()$concordance`` (pairs comparable within strata; ties in the risk score count 1/2, pairs of
  events at the same time are not comparable; a subject censored at an event time counts as at risk).
* Times that differ only by rounding are merged first, as R's default ``timefix = TRUE``
  (``aeqSurv``); ``timefix=False`` keeps them apart.

The likelihood, score and information are in :mod:`trialdesk.stats.cox_likelihood`, the concordance
in :mod:`trialdesk.stats.concordance` (O(n log n), no Python loop over subjects).

Why hand-written rather than lifelines: lifelines' ``CoxPHFitter`` supports only Efron ties, has no
score test and uses its own step-size schedule; R's output for Breslow and exact ties and the
iteration count need this implementation. Its Efron estimates agree with lifelines (unit tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2, norm

from trialdesk.stats.concordance import concordance_from_arrays, concordance_index
from trialdesk.stats.cox_likelihood import PartialLikelihood, Ties
from trialdesk.stats.survival_data import (
    FloatArray,
    SurvivalDataError,
    group_codes,
    merge_near_ties,
    survival_arrays,
)

__all__ = ["TIES", "ChiSquareTest", "CoxPHResult", "Ties", "concordance_index", "cox_ph"]

TIES: tuple[Ties, ...] = ("efron", "breslow", "exact")


@dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square test: ``statistic`` on ``df`` degrees of freedom, upper-tail ``p``."""

    statistic: float
    df: int
    p: float


@dataclass(frozen=True)
class CoxPHResult:
    """A fitted Cox model; arrays follow ``terms``.

    ``coef`` is the log hazard ratio per unit of each covariate, ``hr = exp(coef)``, ``se`` its
    standard error (inverse information), ``z = coef / se`` with two-sided normal ``p``;
    ``hr_lower``/``hr_upper`` the ``conf_level`` limits of the hazard ratio. ``loglik_null`` and
    ``loglik`` are the log partial likelihoods at 0 and at ``coef``. ``maybe_infinite`` flags
    coefficients R would warn about ("Loglik converged before variable ...; coefficient may be
    infinite"): the likelihood is monotone in them and their estimate and CI are meaningless.
    """

    terms: tuple[str, ...]
    ties: Ties
    coef: FloatArray
    se: FloatArray
    hr: FloatArray
    z: FloatArray
    p: FloatArray
    hr_lower: FloatArray
    hr_upper: FloatArray
    conf_level: float
    vcov: FloatArray
    loglik_null: float
    loglik: float
    likelihood_ratio: ChiSquareTest
    wald: ChiSquareTest
    score: ChiSquareTest
    concordance: float
    iterations: int
    converged: bool
    maybe_infinite: tuple[bool, ...]
    n: int
    n_events: int


def cox_ph(
    covariates: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    strata: ArrayLike | None = None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    max_iter: int = 20,
    eps: float = 1e-9,
    timefix: bool = True,
) -> CoxPHResult:
    """Fit a Cox model (R: ``coxph(Surv(time, event) ~ x1 + x2 + strata(s), ties=ties)``).

    Parameters
    ----------
    covariates
        ``(n,)`` or ``(n, p)`` numeric covariates (no missing values: drop incomplete rows first,
        as R's ``na.action`` does).
    time, event
        Follow-up times (``>= 0``) and event indicators (1 event, 0 censored).
    names
        Covariate names (default ``x1..xp``).
    strata
        Optional stratum label per subject.
    ties
        ``"efron"`` (R's default), ``"breslow"`` or ``"exact"``.
    conf_level
        Level of the hazard-ratio confidence interval, in (0, 1).
    timefix
        Merge times that differ only by rounding before fitting, as R's default
        ``coxph.control(timefix = TRUE)`` (see :func:`~trialdesk.stats.survival_data.merge_near_ties`);
        ``False`` uses the times exactly as given.
    """
    t, e = survival_arrays(time, event)
    if timefix:
        t = merge_near_ties(t)
    x = _covariate_matrix(covariates, t.size)
    terms = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(x.shape[1]))
    if len(terms) != x.shape[1]:
        raise SurvivalDataError(f"names: {len(terms)} names for {x.shape[1]} covariates")
    if ties not in TIES:
        raise SurvivalDataError(f"ties: must be one of {', '.join(TIES)}, got {ties!r}")
    if not 0.0 < conf_level < 1.0:
        raise SurvivalDataError(f"conf_level: must be within (0, 1), got {conf_level}")
    if not e.any():
        raise SurvivalDataError("event: no events, the Cox model cannot be fitted")
    if max_iter < 1 or not eps > 0:
        raise SurvivalDataError(f"max_iter/eps: need max_iter >= 1 and eps > 0, got {max_iter} and {eps}")
    codes = (
        np.zeros(t.size, dtype=np.intp) if strata is None else group_codes(strata, t.size, name="strata")[1]
    )
    model = PartialLikelihood(x - x.mean(axis=0), t, e, codes, ties)
    fit = _newton_raphson(model, x.shape[1], max_iter=max_iter, eps=eps)
    beta, loglik, info = fit.beta, fit.loglik, fit.info
    vcov = _inverse(info)
    se = np.sqrt(np.diag(vcov))
    z = beta / se
    zc = float(norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    df = x.shape[1]
    lrt = 2.0 * (loglik - fit.loglik_null)
    # R's coxph warning "coefficient may be infinite": the log likelihood converged while the
    # Newton step var * U still moves the coefficient (monotone likelihood, e.g. a group without events)
    remaining = np.abs(vcov @ fit.score)
    wald = float(beta @ info @ beta)
    return CoxPHResult(
        terms=terms,
        ties=ties,
        coef=beta,
        se=se,
        hr=_exp(beta),
        z=z,
        p=2.0 * norm.sf(np.abs(z)),
        hr_lower=_exp(beta - zc * se),
        hr_upper=_exp(beta + zc * se),
        conf_level=conf_level,
        vcov=vcov,
        loglik_null=fit.loglik_null,
        loglik=loglik,
        likelihood_ratio=ChiSquareTest(lrt, df, float(chi2.sf(lrt, df))),
        wald=ChiSquareTest(wald, df, float(chi2.sf(wald, df))),
        score=ChiSquareTest(fit.score_test, df, float(chi2.sf(fit.score_test, df))),
        concordance=concordance_from_arrays(t, e, _linear_predictor(x, beta), codes),
        iterations=fit.iterations,
        converged=fit.converged,
        maybe_infinite=tuple(bool(b) for b in remaining > np.maximum(eps, np.sqrt(eps) * np.abs(beta))),
        n=int(t.size),
        n_events=int(e.sum()),
    )


def _covariate_matrix(covariates: ArrayLike, n: int) -> FloatArray:
    arr = np.asarray(covariates)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise SurvivalDataError(f"covariates: expected {n} rows, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise SurvivalDataError("covariates: at least one covariate is needed")
    try:
        x = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise SurvivalDataError("covariates: values must be numeric") from None
    if not np.isfinite(x).all():
        raise SurvivalDataError("covariates: missing or non-finite values (drop incomplete rows first)")
    return x


def _exp(values: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):  # an infinite coefficient gives an infinite ratio, not a warning
        out: FloatArray = np.exp(values)
    return out


def _linear_predictor(x: FloatArray, beta: FloatArray) -> FloatArray:
    """``x @ beta`` as one elementwise multiply-add per covariate.

    Elementwise IEEE operations give identical rows identical results; a BLAS matrix product can
    round identical rows differently (SIMD kernels for aligned and tail rows), which would turn exact
    ties in the risk score into spurious orderings and change the concordance.
    """
    lp: FloatArray = x[:, 0] * beta[0]
    for j in range(1, beta.size):
        lp = lp + x[:, j] * beta[j]
    return lp


def _inverse(info: FloatArray) -> FloatArray:
    try:
        inv = np.asarray(np.linalg.inv(info), dtype=np.float64)
    except np.linalg.LinAlgError:
        raise SurvivalDataError(
            "covariates: the information matrix is singular (a constant or collinear covariate?)"
        ) from None
    return inv


@dataclass(frozen=True)
class _Fit:
    beta: FloatArray
    loglik: float
    info: FloatArray
    loglik_null: float
    score_test: float
    iterations: int
    converged: bool
    score: FloatArray


def _newton_raphson(model: PartialLikelihood, p: int, *, max_iter: int, eps: float) -> _Fit:
    """R's coxfit6 iteration: Newton steps from 0, halving when the log likelihood falls."""
    beta = np.zeros(p)
    loglik0, u, info = model.evaluate(beta)
    step = _solve(info, u)
    score_test = float(u @ step)
    newbeta = beta + step
    old_lk = loglik0
    halving = False
    for iteration in range(1, max_iter + 1):
        new_lk, u, info = model.evaluate(newbeta)
        if not halving and abs(1.0 - old_lk / new_lk) <= eps:
            return _Fit(newbeta, new_lk, info, loglik0, score_test, iteration, True, u)
        if iteration == max_iter:
            break
        if new_lk < old_lk:
            halving = True
            newbeta = (newbeta + beta) / 2.0
        else:
            halving = False
            old_lk = new_lk
            beta = newbeta
            newbeta = newbeta + _solve(info, u)
    return _Fit(newbeta, new_lk, info, loglik0, score_test, max_iter, False, u)


def _solve(info: FloatArray, u: FloatArray) -> FloatArray:
    try:
        out = np.asarray(np.linalg.solve(info, u), dtype=np.float64)
    except np.linalg.LinAlgError:
        raise SurvivalDataError(
            "covariates: the information matrix is singular (a constant or collinear covariate?)"
        ) from None
    return out
