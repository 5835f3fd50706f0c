"""Single-arm time-to-event designs against a historical control (seed 000, Trial A).

Two tests of "survival is longer than the historical control", both with one-sided alpha, uniform
accrual over ``accrual`` (t_a) and follow-up ``followup`` (t_f) after the last patient (analysis at
tau = t_a + t_f). Durations are in the unit of the medians (months in trialdesk).

One-sample log-rank test (Wu 2015)
    Historical survival S0(t) = exp(-ln2 (t/m0)^k) (Weibull, median m0, shape k; k = 1 is exponential),
    Lambda0 = ln2 (t/m0)^k, lambda0 = Lambda0'. Alternative S1 = S0^delta (delta = hazard ratio < 1;
    median m1 = m0 delta^(-1/k)). Censoring survival G(t) = 1 for t <= t_f, (tau - t)/t_a after. Then
    p0 = int_0^tau G S1 lambda0, p1 = delta p0, p00 = int_0^tau G S1 Lambda0 lambda0, p01 = delta p00,
    omega = p1 - p0, sigma^2 = p1 - p1^2 + 2 p00 - p0^2 - 2 p01 + 2 p0 p1,
    n = (sqrt(p0) z_{1-alpha} + sigma z_{power})^2 / omega^2,
    power(n) = Phi(-sqrt(p0) z_{1-alpha} / sigma - sqrt(n) omega / sigma).
    The integrals use ``scipy.integrate.quad`` (split at t_f). Published example: alpha 0.05, power 0.8,
    t_a 5, t_f 3, m0 9, delta 1/1.75, k 1.22 gives n = 87.3 -> 88.

Exponential test of the median (maximum-likelihood hazard, var(log lambda_hat) = 1/D)
    D = (z_{1-alpha} + z_{power})^2 / ln(m1/m0)^2 events, N = D / P(event | m1) with
    P(event) = 1 - [exp(-l t_f) - exp(-l (t_a + t_f))] / (l t_a), l = ln2 / m1.

Dropout (proportion ``dropout``):
    ``"inflation"`` (default): N / (1 - dropout), the convention of the clinical-reference section 7.1 table;
    ``"exponential"``: an exponential dropout hazard g = -ln(1 - dropout) / dropout_time competing with the
    event (as rpact's ``dropoutRate``); for Wu 2015 it multiplies the censoring survival G(t) by exp(-g t).

:func:`solve_single_arm` inverts these: given the target N (e.g. Trial A's 37) and every assumption but
one median, it finds the medians that give N.

References
----------
Wu J (2015). Sample size calculation for the one-sample log-rank test. Pharmaceutical Statistics
14:26-33 (reference implementation: R package logRank1s). Lawless JF (2003), Statistical Models and
Methods for Lifetime Data, 2nd ed., section 2.2 (exponential MLE).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import integrate, optimize, stats

from trialdesk.stats.errors import (
    DesignInputError,
    check_count,
    check_dropout,
    check_nonnegative,
    check_open_unit,
    check_positive,
)
from trialdesk.stats.survival_design import dropout_hazard, event_probability

SingleArmMethod = Literal["wu2015", "exponential"]
DropoutModel = Literal["inflation", "exponential"]
Quadrature = Literal["accurate", "r_integrate"]
LN2 = math.log(2.0)
# R's integrate() defaults: rel.tol = abs.tol = .Machine$double.eps^0.25, subdivisions = 100
R_INTEGRATE_TOL = float(np.finfo(np.float64).eps) ** 0.25


@dataclass(frozen=True)
class Wu2015Quantities:
    """The intermediate quantities of Wu (2015) (expected per-patient values, dimensionless)."""

    p0: float
    p1: float
    p00: float
    p01: float
    omega: float
    sigma: float


@dataclass(frozen=True)
class SingleArmSurvivalDesign:
    """Sample size of a single-arm time-to-event design.

    ``events`` is the required (exponential) or expected under H1 (Wu 2015) number of events;
    ``n_before_dropout`` the size without dropout inflation; ``n`` the size with it (not rounded).
    """

    method: SingleArmMethod
    median0: float
    median1: float
    hazard_ratio: float
    alpha: float
    power: float
    accrual: float
    followup: float
    shape: float
    dropout: float
    dropout_model: DropoutModel
    p_event: float
    events: float
    n_before_dropout: float
    n: float
    n_ceiling: int
    wu2015: Wu2015Quantities | None = None


@dataclass(frozen=True)
class _Inputs:
    median0: float
    hazard_ratio: float
    accrual: float
    followup: float
    alpha: float
    power: float
    shape: float
    dropout: float
    dropout_model: DropoutModel
    dropout_time: float
    quadrature: Quadrature = "accurate"

    @property
    def median1(self) -> float:
        return float(self.median0 * self.hazard_ratio ** (-1.0 / self.shape))

    @property
    def gamma(self) -> float:
        if self.dropout_model == "exponential":
            return dropout_hazard(self.dropout, self.dropout_time)
        return 0.0

    @property
    def inflation(self) -> float:
        return 1.0 / (1.0 - self.dropout) if self.dropout_model == "inflation" else 1.0


def _inputs(
    median0: float,
    median1: float | None,
    hazard_ratio: float | None,
    accrual: float,
    followup: float,
    alpha: float,
    power: float,
    shape: float,
    dropout: float,
    dropout_model: DropoutModel,
    dropout_time: float,
    quadrature: Quadrature = "accurate",
) -> _Inputs:
    m0 = check_positive("median0", median0)
    k = check_positive("shape", shape)
    if (median1 is None) == (hazard_ratio is None):
        raise DesignInputError("median1", "give exactly one of median1 or hazard_ratio")
    if median1 is not None:
        m1 = check_positive("median1", median1)
        if m1 <= m0:
            raise DesignInputError("median1", f"must be longer than median0 ({m0:g}), got {m1:g}")
        delta = (m0 / m1) ** k
    else:
        assert hazard_ratio is not None
        delta = check_positive("hazard_ratio", hazard_ratio)
        if delta >= 1.0:
            raise DesignInputError(
                "hazard_ratio", f"must be below 1 (the one-sided test looks for benefit), got {delta:g}"
            )
    if dropout_model not in ("inflation", "exponential"):
        raise DesignInputError(
            "dropout_model", f"must be 'inflation' or 'exponential', got {dropout_model!r}"
        )
    return _Inputs(
        median0=m0,
        hazard_ratio=delta,
        accrual=check_positive("accrual", accrual),
        followup=check_nonnegative("followup", followup),
        alpha=check_open_unit("alpha", alpha),
        power=check_open_unit("power", power),
        shape=k,
        dropout=check_dropout("dropout", dropout),
        dropout_model=dropout_model,
        dropout_time=check_positive("dropout_time", dropout_time),
        quadrature=quadrature,
    )


def _wu_quantities(inp: _Inputs) -> Wu2015Quantities:
    ta, tf, m0, k, delta, g = inp.accrual, inp.followup, inp.median0, inp.shape, inp.hazard_ratio, inp.gamma
    tau = ta + tf

    def censoring(t: float) -> float:
        admin = 1.0 if t <= tf else max(0.0, (tau - t) / ta)
        return admin * math.exp(-g * t)

    def cum_hazard0(t: float) -> float:
        return float(LN2 * (t / m0) ** k)

    def hazard0(t: float) -> float:
        return k * LN2 * t ** (k - 1.0) / m0**k if t > 0.0 else (k * LN2 / m0 if k == 1.0 else 0.0)

    def integral(f: Callable[[float], float]) -> float:
        if inp.quadrature == "r_integrate":
            tol = R_INTEGRATE_TOL
            return float(integrate.quad(f, 0.0, tau, epsabs=tol, epsrel=tol, limit=100)[0])
        pieces = [(0.0, tf), (tf, tau)] if tf > 0.0 else [(0.0, tau)]
        return float(
            sum(integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0] for a, b in pieces)
        )

    p0 = integral(lambda t: censoring(t) * math.exp(-delta * cum_hazard0(t)) * hazard0(t))
    p00 = integral(lambda t: censoring(t) * math.exp(-delta * cum_hazard0(t)) * cum_hazard0(t) * hazard0(t))
    p1, p01 = delta * p0, delta * p00
    sigma = math.sqrt(p1 - p1**2 + 2.0 * p00 - p0**2 - 2.0 * p01 + 2.0 * p0 * p1)
    return Wu2015Quantities(p0=p0, p1=p1, p00=p00, p01=p01, omega=p1 - p0, sigma=sigma)


def _design(method: SingleArmMethod, inp: _Inputs) -> SingleArmSurvivalDesign:
    z_alpha = float(stats.norm.ppf(1.0 - inp.alpha))
    z_power = float(stats.norm.ppf(inp.power))
    wu: Wu2015Quantities | None = None
    if method == "wu2015":
        wu = _wu_quantities(inp)
        n0 = (math.sqrt(wu.p0) * z_alpha + wu.sigma * z_power) ** 2 / wu.omega**2
        p_event = wu.p1
        events = n0 * p_event
    elif method == "exponential":
        if inp.shape != 1.0:
            raise DesignInputError("shape", "the exponential test assumes shape 1")
        events = (z_alpha + z_power) ** 2 / math.log(inp.median1 / inp.median0) ** 2
        p_event = event_probability(LN2 / inp.median1, inp.accrual, inp.followup, inp.gamma)
        n0 = events / p_event
    else:
        raise DesignInputError("method", f"must be 'wu2015' or 'exponential', got {method!r}")
    n = n0 * inp.inflation
    return SingleArmSurvivalDesign(
        method=method,
        median0=inp.median0,
        median1=inp.median1,
        hazard_ratio=inp.hazard_ratio,
        alpha=inp.alpha,
        power=inp.power,
        accrual=inp.accrual,
        followup=inp.followup,
        shape=inp.shape,
        dropout=inp.dropout,
        dropout_model=inp.dropout_model,
        p_event=p_event,
        events=events,
        n_before_dropout=n0,
        n=n,
        n_ceiling=math.ceil(n),
        wu2015=wu,
    )


def single_arm_survival_design(
    method: SingleArmMethod,
    median0: float,
    accrual: float,
    followup: float,
    alpha: float,
    power: float,
    median1: float | None = None,
    hazard_ratio: float | None = None,
    shape: float = 1.0,
    dropout: float = 0.0,
    dropout_model: DropoutModel = "inflation",
    dropout_time: float = 12.0,
    quadrature: Quadrature = "accurate",
) -> SingleArmSurvivalDesign:
    """Sample size of a single-arm survival design (see the module docstring for the formulas).

    Parameters
    ----------
    method:
        ``"wu2015"`` (one-sample log-rank, Wu 2015) or ``"exponential"`` (exponential test of the median).
    median0:
        Historical-control median (> 0, time units).
    accrual, followup:
        Uniform accrual duration t_a (> 0) and follow-up after the last patient t_f (>= 0).
    alpha:
        One-sided type I error in (0, 1).
    power:
        In (0, 1).
    median1, hazard_ratio:
        Exactly one: the target median (> median0) or the hazard ratio delta in (0, 1).
    shape:
        Weibull shape k of the historical survival (> 0; 1 = exponential; Wu 2015 only).
    dropout, dropout_model, dropout_time:
        Dropout proportion in [0, 1), how it is applied (``"inflation"`` or ``"exponential"``) and, for the
        exponential model, the time by which that proportion has dropped out.
    quadrature:
        Wu 2015 integrals: ``"accurate"`` (split at t_f, tolerance 1e-12) or ``"r_integrate"`` (one QUADPACK
        QAGS call over [0, tau] with R ``integrate()``'s default tolerance eps^0.25; it reproduces R to
        machine precision but can be off by about 1e-4 relative because of the kink of G at t_f).
    """
    inp = _inputs(
        median0,
        median1,
        hazard_ratio,
        accrual,
        followup,
        alpha,
        power,
        shape,
        dropout,
        dropout_model,
        dropout_time,
        quadrature,
    )
    return _design(method, inp)


def wu2015_power(
    n: int,
    median0: float,
    accrual: float,
    followup: float,
    alpha: float,
    median1: float | None = None,
    hazard_ratio: float | None = None,
    shape: float = 1.0,
    quadrature: Quadrature = "accurate",
) -> float:
    """Power of the one-sample log-rank test with ``n`` patients (Wu 2015; one-sided ``alpha``).

    Phi(-sqrt(p0) z_{1-alpha} / sigma - sqrt(n) omega / sigma); no dropout.
    Other arguments as in :func:`single_arm_survival_design`.
    """
    n = check_count("n", n, minimum=1)
    inp = _inputs(
        median0,
        median1,
        hazard_ratio,
        accrual,
        followup,
        alpha,
        0.5,
        shape,
        0.0,
        "inflation",
        12.0,
        quadrature,
    )
    wu = _wu_quantities(inp)
    z_alpha = float(stats.norm.ppf(1.0 - inp.alpha))
    return float(stats.norm.cdf(-math.sqrt(wu.p0) * z_alpha / wu.sigma - math.sqrt(n) * wu.omega / wu.sigma))


@dataclass(frozen=True)
class ConsistentPair:
    """A (median0, median1) pair whose required size is exactly the target.

    ``n`` equals the target (continuous solution); ``unknown_low``/``unknown_high`` bound the solved
    median over which the size rounded up is still the target (low inclusive or exclusive as the
    direction requires; see :func:`solve_single_arm`).
    """

    median0: float
    median1: float
    hazard_ratio: float
    events: float
    n: float
    unknown_low: float
    unknown_high: float


@dataclass(frozen=True)
class SingleArmSolution:
    """The answer of :func:`solve_single_arm`: which median was solved, and the pairs found."""

    n_target: int
    method: SingleArmMethod
    solved_for: Literal["median0", "median1"]
    pairs: list[ConsistentPair]


def _first_root(size_at: Callable[[float], float], target: float) -> float:
    """Smallest ratio rho = m1/m0 > 1 with size_at(rho) = target (size is huge near rho = 1)."""
    grid = np.exp(np.linspace(math.log(1.0005), math.log(50.0), 400))
    previous = float(grid[0])
    if size_at(previous) <= target:
        raise DesignInputError("n", f"even a median ratio of {previous:g} needs at most {target:g} patients")
    for rho in grid[1:]:
        if size_at(float(rho)) <= target:
            return float(optimize.brentq(lambda x: size_at(x) - target, previous, float(rho), xtol=1e-13))
        previous = float(rho)
    raise DesignInputError("n", f"no median ratio up to 50 gives a size as small as {target:g}")


def solve_single_arm(
    n_target: int,
    method: SingleArmMethod,
    accrual: float,
    followup: float,
    alpha: float,
    power: float,
    median0: float | None = None,
    median1: float | None = None,
    shape: float = 1.0,
    dropout: float = 0.0,
    dropout_model: DropoutModel = "inflation",
    dropout_time: float = 12.0,
) -> ConsistentPair:
    """Find the median that makes the single-arm design need exactly ``n_target`` patients.

    Give exactly one of ``median0`` (then the target median1 is solved) or ``median1`` (then the
    historical median0 is solved). The continuous size n (after dropout) is set equal to ``n_target``
    with ``scipy.optimize.brentq``; the effect closest to the null is returned (for very large median
    ratios the exponential size grows again, and that second root is not of interest). ``unknown_low`` and
    ``unknown_high`` bound the solved median over which ceil(n) == n_target (between the roots of
    n = n_target and n = n_target - 1).
    """
    n_target = check_count("n", n_target, minimum=2)
    if (median0 is None) == (median1 is None):
        raise DesignInputError("median0", "give exactly one of median0 or median1; the other is solved")
    known = check_positive("median0" if median0 is not None else "median1", median0 or median1 or 0.0)

    def design_at(rho: float) -> SingleArmSurvivalDesign:
        m0, m1 = (known, known * rho) if median0 is not None else (known / rho, known)
        return single_arm_survival_design(
            method,
            m0,
            accrual,
            followup,
            alpha,
            power,
            median1=m1,
            shape=shape,
            dropout=dropout,
            dropout_model=dropout_model,
            dropout_time=dropout_time,
        )

    def size_at(rho: float) -> float:
        return design_at(rho).n

    design_at(2.0)  # validates every other input before the search
    rho = _first_root(size_at, float(n_target))
    rho_below = _first_root(size_at, float(n_target - 1))
    solved = design_at(rho)
    if median0 is not None:
        low, high = known * rho, known * rho_below
    else:
        low, high = known / rho_below, known / rho
    return ConsistentPair(
        median0=solved.median0,
        median1=solved.median1,
        hazard_ratio=solved.hazard_ratio,
        events=solved.events,
        n=solved.n,
        unknown_low=low,
        unknown_high=high,
    )
