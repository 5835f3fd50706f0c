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

Why hand-written rather than lifelines: lifelines' ``CoxPHFitter`` supports only Efron ties, has no
score test and uses its own step-size schedule; R's output for Breslow and exact ties and the
iteration count need this implementation. Its Efron estimates agree with lifelines (unit tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2, norm

from trialdesk.stats.survival_data import (
    BoolArray,
    FloatArray,
    IntArray,
    SurvivalDataError,
    group_codes,
    survival_arrays,
)

Ties = Literal["efron", "breslow", "exact"]
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
    """
    t, e = survival_arrays(time, event)
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
    model = _PartialLikelihood(x - x.mean(axis=0), t, e, codes, ties)
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
        concordance=concordance_index(t, e, _linear_predictor(x, beta), strata=codes),
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
    """``x @ beta`` computed once per distinct covariate row.

    A plain matrix product can round identical rows differently (SIMD alignment), which would turn
    exact ties in the risk score into spurious orderings and change the concordance.
    """
    rows, inverse = np.unique(x, axis=0, return_inverse=True)
    lp: FloatArray = (rows @ beta)[inverse.reshape(-1)]
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


def _newton_raphson(model: _PartialLikelihood, p: int, *, max_iter: int, eps: float) -> _Fit:
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


class _PartialLikelihood:
    """Log partial likelihood, score and information of a (stratified) Cox model."""

    def __init__(self, x: FloatArray, time: FloatArray, event: BoolArray, strata: IntArray, ties: Ties):
        self.ties = ties
        self.blocks: list[tuple[FloatArray, FloatArray, BoolArray]] = []
        for s in np.unique(strata):
            sel = strata == s
            order = np.argsort(time[sel], kind="stable")
            self.blocks.append((x[sel][order], time[sel][order], event[sel][order]))

    def evaluate(self, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        p = beta.size
        loglik, u, info = 0.0, np.zeros(p), np.zeros((p, p))
        for x, t, e in self.blocks:
            if not e.any():
                continue
            if self.ties == "exact":
                lk, g, h = _exact_block(x, t, e, beta)
            else:
                lk, g, h = _approx_block(x, t, e, beta, efron=self.ties == "efron")
            loglik += lk
            u += g
            info += h
        return loglik, u, info


def _approx_block(
    x: FloatArray, t: FloatArray, e: BoolArray, beta: FloatArray, *, efron: bool
) -> tuple[float, FloatArray, FloatArray]:
    """Efron or Breslow terms for one stratum; ``t`` sorted increasing."""
    eta = x @ beta
    r = np.exp(eta)
    xr = x * r[:, None]
    s0 = np.cumsum(r[::-1])[::-1]
    s1 = np.cumsum(xr[::-1], axis=0)[::-1]
    s2 = np.cumsum((xr[:, :, None] * x[:, None, :])[::-1], axis=0)[::-1]
    death_times, death_group, d = np.unique(t[e], return_inverse=True, return_counts=True)
    start = np.searchsorted(t, death_times, side="left")  # risk set = rows start.. end
    xd, rd = x[e], r[e]
    d0 = np.bincount(death_group, weights=rd, minlength=death_times.size)
    d1 = np.zeros((death_times.size, x.shape[1]))
    np.add.at(d1, death_group, xd * rd[:, None])
    d2 = np.zeros((death_times.size, x.shape[1], x.shape[1]))
    np.add.at(d2, death_group, (xd * rd[:, None])[:, :, None] * xd[:, None, :])
    # one row per death: Efron removes l/d of the tied deaths' risk for the l-th of d deaths
    # (t is sorted, so death_group is non-decreasing and a tie's deaths are consecutive)
    g = death_group
    rank_in_tie = np.arange(g.size) - np.searchsorted(g, g, side="left")
    frac = rank_in_tie / d[g] if efron else np.zeros(g.size)
    a = s0[start][g] - frac * d0[g]
    b = s1[start][g] - frac[:, None] * d1[g]
    c = s2[start][g] - frac[:, None, None] * d2[g]
    loglik = float(eta[e].sum() - np.log(a).sum())
    score = xd.sum(axis=0) - (b / a[:, None]).sum(axis=0)
    mean = b / a[:, None]
    info = (c / a[:, None, None] - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
    return loglik, score, info


def _exact_block(
    x: FloatArray, t: FloatArray, e: BoolArray, beta: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Exact discrete partial likelihood for one stratum (Gail, Lubin & Rubinstein 1981)."""
    p = x.shape[1]
    eta = x @ beta
    loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    for tj in np.unique(t[e]):
        start = int(np.searchsorted(t, tj, side="left"))
        dead = e & (t == tj)
        d = int(dead.sum())
        xs, etas = x[start:], eta[start:]
        shift = float(etas.max())
        r = np.exp(etas - shift)
        if d == 1:  # a single death: the exact term is the ordinary (Breslow) one
            mean = (xs * r[:, None]).sum(axis=0) / r.sum()
            loglik += float(eta[dead].sum() - (np.log(r.sum()) + shift))
            score += x[dead].sum(axis=0) - mean
            info += np.einsum("i,ij,ik->jk", r, xs, xs) / r.sum() - np.outer(mean, mean)
            continue
        b0 = np.zeros(d + 1)
        b0[0] = 1.0
        b1 = np.zeros((d + 1, p))
        b2 = np.zeros((d + 1, p, p))
        for rm, xm in zip(r, xs, strict=True):
            xx = np.outer(xm, xm)
            b2[1:] += rm * (
                b2[:-1]
                + xm[None, :, None] * b1[:-1, None, :]
                + b1[:-1, :, None] * xm[None, None, :]
                + xx[None] * b0[:-1, None, None]
            )
            b1[1:] += rm * (b1[:-1] + xm[None, :] * b0[:-1, None])
            b0[1:] += rm * b0[:-1]
        mean = b1[d] / b0[d]
        loglik += float(eta[dead].sum() - (np.log(b0[d]) + d * shift))
        score += x[dead].sum(axis=0) - mean
        info += b2[d] / b0[d] - np.outer(mean, mean)
    return loglik, score, info


def concordance_index(
    time: ArrayLike, event: ArrayLike, risk: ArrayLike, *, strata: ArrayLike | None = None
) -> float:
    """Harrell's C for a risk score (higher = shorter survival), as ``coxph()$concordance``.

    ``C = (concordant + tied_risk / 2) / (concordant + discordant + tied_risk)`` over comparable
    pairs within strata: the shorter time is an event, and a subject censored at that same time
    counts as longer. Range [0, 1]; NaN when no pair is comparable.
    """
    t, e = survival_arrays(time, event)
    score = np.asarray(risk, dtype=np.float64)
    codes = (
        np.zeros(t.size, dtype=np.intp) if strata is None else group_codes(strata, t.size, name="strata")[1]
    )
    totals = np.zeros(3)
    for s in np.unique(codes):
        sel = codes == s
        totals += _concordance_counts(t[sel], e[sel], score[sel])
    concordant, discordant, tied = totals
    denom = concordant + discordant + tied
    return float((concordant + tied / 2.0) / denom) if denom > 0 else float("nan")


def _concordance_counts(t: FloatArray, e: BoolArray, score: FloatArray) -> FloatArray:
    """Concordant, discordant and risk-tied comparable pairs, by a Fenwick tree over score ranks."""
    levels, rank = np.unique(score, return_inverse=True)
    tree = np.zeros(levels.size + 1, dtype=np.int64)

    def add(i: int) -> None:
        i += 1
        while i < tree.size:
            tree[i] += 1
            i += i & -i

    def below(i: int) -> int:  # number of inserted ranks < i
        total = 0
        while i > 0:
            total += int(tree[i])
            i -= i & -i
        return total

    out = np.zeros(3)
    inserted = 0
    order = np.argsort(-t, kind="stable")
    ts = t[order]
    bounds = np.flatnonzero(np.diff(ts)) + 1
    for block in np.split(order, bounds):
        censored, events = block[~e[block]], block[e[block]]
        for i in censored:
            add(int(rank[i]))
            inserted += 1
        for i in events:
            lo, hi = below(int(rank[i])), below(int(rank[i]) + 1)
            out += (lo, inserted - hi, hi - lo)
        for i in events:
            add(int(rank[i]))
            inserted += 1
    return out
