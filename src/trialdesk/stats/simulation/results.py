"""Per-trial outcomes of simulated trials and their operating characteristics with Monte Carlo SEs.

Monte Carlo standard errors: ``sqrt(p (1 - p) / n)`` for a probability estimated from ``n`` trials and
``sd / sqrt(n)`` for a mean. Durations are in months from the first patient in.

The hazard-ratio estimate of a two-arm trial is the log-rank (Peto) estimate
``exp((O - E) / V)`` of the experimental arm, the statistic rpact's ``getSimulationSurvival`` also
derives its estimate from; it is close to the Cox estimate for hazard ratios near 1 and slightly
biased towards 1 further away. For a single-arm trial it is ``O / E`` against the historical
control (Finkelstein et al. 2003). Median PFS estimates are Kaplan-Meier medians (first time at
which the curve is at or below 0.5), averaged over the trials in which the median is reached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from trialdesk.stats.simulation.plan import SimulationPlan
from trialdesk.stats.survival_data import BoolArray, FloatArray, IntArray

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class TrialOutcomes:
    """One row per simulated trial (arrays of equal length; ``medians`` is ``(n, n_arms)``).

    Trials stopped in the run-in have ``z``, ``log_hr`` and ``medians`` NaN, ``events`` 0 and
    ``rejected`` False.
    """

    run_in_stopped: BoolArray
    run_in_patients: IntArray
    patients: IntArray
    duration: FloatArray
    events: IntArray
    z: FloatArray
    rejected: BoolArray
    log_hr: FloatArray
    medians: FloatArray

    def __len__(self) -> int:
        return int(self.patients.shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence[TrialOutcomes]) -> TrialOutcomes:
        """Join batches in the given order (the batch order, so results do not depend on workers)."""
        if not parts:
            raise ValueError("no batches to concatenate")
        if len(parts) == 1:  # already whole (the local pool's shared outcomes): no copy
            return parts[0]
        names = [f for f in cls.__dataclass_fields__]
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts], axis=0) for name in names})


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate and its standard error."""

    value: float
    mc_se: float


@dataclass(frozen=True)
class Distribution:
    """Mean (with Monte Carlo SE), standard deviation and quantiles of a per-trial quantity."""

    mean: float
    mc_se: float
    sd: float
    quantiles: dict[str, float]


@dataclass(frozen=True)
class MedianSummary:
    """Kaplan-Meier median PFS of one arm (months): true value, mean estimate and bias."""

    arm: str
    true_median: float
    mean_estimate: float
    bias: Estimate
    p_reached: float


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Operating characteristics of a design under a scenario (see ``docs/simulation.md``).

    ``p_reject`` counts a trial stopped in the run-in as not rejecting; it is the power (or, under a
    null scenario, the type I error) of the whole programme. ``p_reject_given_analysed`` is the same
    among the trials that reached the main analysis. ``analytic_power`` is Schoenfeld's (1983)
    approximation at the planned number of events, when the cut-off is event-driven and the hazards
    are proportional (two-arm designs only).
    """

    protocol_id: str
    design: str
    test: str
    n_sims: int
    alpha: float
    true_hazard_ratio: float | None
    p_run_in_stop: Estimate | None
    run_in_patients: Distribution | None
    p_reject: Estimate
    p_reject_given_analysed: Estimate | None
    analytic_power: float | None
    duration_months: Distribution
    patients: Distribution
    events: Distribution | None
    hazard_ratio_geometric_mean: float | None
    log_hazard_ratio_bias: Estimate | None
    medians: list[MedianSummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN becomes ``None``)."""
        return _clean(asdict(self))  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def proportion(hits: BoolArray) -> Estimate:
    """Share of True values with its binomial Monte Carlo SE (NaN for an empty array)."""
    n = hits.size
    if n == 0:
        return Estimate(math.nan, math.nan)
    p = float(np.mean(hits))
    return Estimate(p, math.sqrt(p * (1.0 - p) / n))


def distribution(values: FloatArray | IntArray) -> Distribution:
    """Mean, SE of the mean, SD and the 5/25/50/75/95 % quantiles (NaN for an empty array)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return Distribution(math.nan, math.nan, math.nan, {f"{q:.0%}": math.nan for q in QUANTILES})
    sd = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    qs = np.quantile(x, QUANTILES)
    return Distribution(
        mean=float(np.mean(x)),
        mc_se=sd / math.sqrt(x.size),
        sd=sd,
        quantiles={f"{q:.0%}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
    )


def mean_estimate(values: FloatArray) -> Estimate:
    """Mean of the finite values with SE ``sd / sqrt(n)``."""
    x = values[np.isfinite(values)]
    if x.size < 2:
        return Estimate(float(np.mean(x)) if x.size else math.nan, math.nan)
    return Estimate(float(np.mean(x)), float(np.std(x, ddof=1)) / math.sqrt(x.size))


def schoenfeld_power(
    hazard_ratio: float, events: float, alpha: float, allocation_ratio: float = 1.0
) -> float:
    """One-sided power of the log-rank test for a hazard ratio < 1 (Schoenfeld 1983).

    ``Phi(-ln(HR) sqrt(D r) / (1 + r) - z_{1-alpha})`` with ``D`` events and allocation ratio
    ``r = n_experimental / n_control``; equals ``alpha`` at HR = 1.
    """
    r = allocation_ratio
    drift = -math.log(hazard_ratio) * math.sqrt(events * r) / (1.0 + r)
    return float(norm.cdf(drift - norm.ppf(1.0 - alpha)))


def _allocation_ratio(plan: SimulationPlan) -> float:
    pattern = np.asarray(plan.allocation_pattern)
    n_exp = int(np.sum(pattern == plan.experimental_index))
    return n_exp / (pattern.size - n_exp)


def summarize(plan: SimulationPlan, outcomes: TrialOutcomes) -> OperatingCharacteristics:
    """Operating characteristics of ``outcomes`` simulated under ``plan``."""
    analysed = ~outcomes.run_in_stopped
    two_arm = plan.design == "two_arm"
    true_hr = plan.true_hazard_ratio
    analytic = None
    if two_arm and true_hr is not None and plan.cutoff_events is not None:
        analytic = schoenfeld_power(true_hr, plan.cutoff_events, plan.alpha, _allocation_ratio(plan))
    log_hr = outcomes.log_hr[analysed]
    finite = log_hr[np.isfinite(log_hr)]
    true_log = math.log(true_hr) if true_hr is not None else None
    if not two_arm and plan.historical_median is not None:
        # single arm: the true hazard ratio against the historical control is defined when both are
        # exponential (or Weibull with the historical shape)
        true_log = _single_arm_true_log_ratio(plan)
    medians = []
    for j, arm in enumerate(plan.arm_ids):
        est = outcomes.medians[analysed, j]
        truth = plan.true_medians[j]
        bias = mean_estimate(est - truth)
        medians.append(
            MedianSummary(
                arm=arm,
                true_median=truth,
                mean_estimate=bias.value + truth,
                bias=bias,
                p_reached=float(np.mean(np.isfinite(est))) if est.size else math.nan,
            )
        )
    has_run_in = plan.run_in_size > 0
    return OperatingCharacteristics(
        protocol_id=plan.protocol_id,
        design=plan.design,
        test="logrank" if two_arm else "one_sample_logrank",
        n_sims=len(outcomes),
        alpha=plan.alpha,
        true_hazard_ratio=true_hr if two_arm else (math.exp(true_log) if true_log is not None else None),
        p_run_in_stop=proportion(outcomes.run_in_stopped) if has_run_in else None,
        run_in_patients=distribution(outcomes.run_in_patients) if has_run_in else None,
        p_reject=proportion(outcomes.rejected),
        p_reject_given_analysed=proportion(outcomes.rejected[analysed]) if has_run_in else None,
        analytic_power=analytic,
        duration_months=distribution(outcomes.duration),
        patients=distribution(outcomes.patients),
        events=distribution(outcomes.events[analysed]) if analysed.any() else None,
        hazard_ratio_geometric_mean=float(np.exp(np.mean(finite))) if finite.size else None,
        log_hazard_ratio_bias=mean_estimate(log_hr - true_log) if true_log is not None else None,
        medians=medians,
    )


def _single_arm_true_log_ratio(plan: SimulationPlan) -> float | None:
    model = plan.arm_models[0]
    assert plan.historical_median is not None
    shape = plan.historical_shape
    if (model.kind == "exponential" and shape == 1.0) or (model.kind == "weibull" and model.shape == shape):
        historical_multiplier = math.log(2.0) / plan.historical_median**shape
        return math.log(model.multiplier / historical_multiplier)
    return None
