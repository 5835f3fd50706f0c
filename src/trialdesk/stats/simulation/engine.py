"""Batched whole-trial simulation: thousands of virtual trials per array operation.

One call of :func:`simulate_batch` simulates ``n_trials`` complete trials as ``(n_trials, n_patients)``
arrays; there is no Python loop over trials or patients. For each trial, in this order of random
draws (so a batch is reproducible from its seed alone):

1. **Accrual** (months from the opening of the trial): a Poisson process with ``sites x
   rate_per_site`` patients per month, or uniform order statistics over ``duration_months`` (as
   rpact's ``accrualTime`` with ``maxNumberOfSubjects``).
2. **Run-in** (if the protocol has one): each patient has the counted event (treatment-related
   grade 5) with probability ``grade5_rate``, uniformly within ``observation_months`` of entry. The
   run-in stops as soon as the k-th event happens (sequential rule); its patients are those who
   entered by then. Otherwise the main phase opens ``observation_months`` after the last run-in
   patient.
3. **Main phase**: permuted blocks of the protocol's allocation ratio (smallest block size); event
   times by inversion of each arm's cumulative hazard; exponential dropout; progression seen only
   at the first scheduled assessment at or after it (every ``interval`` months from randomization;
   deaths, a share of events, are seen when they happen), censoring at the last assessment before
   dropout or cut-off (interval censoring as in real trials).
4. **Cut-off**: the calendar time of the E-th observed event, or a fixed time after the last patient
   in. Patients not yet enrolled at an event-driven cut-off are never enrolled. A trial that can
   never reach E events is analysed when all follow-up has ended.
5. **Analysis**: two arms: one-sided log-rank test of experimental vs control (Mantel 1966; rejects
   when ``Z = (O - E) / sqrt(V) <= -z_{1-alpha}``) with the Peto estimate ``exp((O - E) / V)`` of the
   hazard ratio. One arm: the one-sample log-rank test against the historical control
   (Finkelstein et al. 2003; Wu 2015). Kaplan-Meier medians per arm.

The log-rank sums are the two-group case of :func:`trialdesk.stats.logrank.logrank_from_counts`
(checked against it in the unit tests), computed on risk sets obtained from one sort per trial:
the event flag and the arm are packed into the two lowest mantissa bits of the follow-up time (a
relative change below 1e-15), so a plain ``np.sort`` replaces an argsort and three gathers. Ties
(many, with interval censoring) are handled exactly: at a tied time all patients are at risk and
all events of that time count together, as in ``survival::survdiff``.

References: Schoenfeld D (1983) Biometrics 39:499-503; rpact ``getSimulationSurvival`` (Wassmer &
Pahlke); Wu J (2015) Pharm Stat 14:26-33; Finkelstein DM, Muzikansky A, Schoenfeld DA (2003)
Biometrics 59:1061-1069.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from trialdesk.stats.one_sample_logrank import HistoricalControl, one_sample_logrank_statistic
from trialdesk.stats.simulation.plan import SimulationPlan
from trialdesk.stats.simulation.results import TrialOutcomes
from trialdesk.stats.survival_data import BoolArray, FloatArray, IntArray

_LOW_BITS = np.int64(3)


@dataclass(frozen=True)
class RiskSets:
    """Sorted follow-up times and, at each position, risk-set counts of the two groups.

    All arrays are ``(n_trials, n_patients)`` in increasing time order. ``n_risk`` and ``n_risk_1``
    are the numbers at risk (all, group 1) at that time; ``d`` and ``d_1`` the events (all, group 1)
    at that time, counted once, on the last position of a run of tied times (0 elsewhere). Without
    ties ``n_risk`` is the same ``n, n - 1, ..., 1`` for every trial (shape ``(n,)``).
    Positions of patients not enrolled (negative times) come first and carry no events.
    """

    time: FloatArray
    n_risk: FloatArray | IntArray
    n_risk_1: IntArray
    d: IntArray
    d_1: IntArray
    ties: bool


def risk_sets(time: FloatArray, event: BoolArray, group: BoolArray) -> RiskSets:
    """Risk sets of a batch of trials from per-patient ``time``, ``event`` and ``group`` (0/1) arrays.

    Times must be >= 0 for patients in the analysis and negative for padding (not enrolled).
    """
    n = time.shape[-1]
    key = np.ascontiguousarray(time, dtype=np.float64).view(np.int64) & ~_LOW_BITS
    key += event.view(np.int8) * np.int8(2) + group.view(np.int8)
    # sort as float64: the float order of the packed keys is the time order (negatives first), and
    # numpy's vectorised float sort is faster than its integer sort
    key.view(np.float64).sort(axis=-1)
    low = (key & _LOW_BITS).astype(np.int8)
    key &= ~_LOW_BITS
    ts = key.view(np.float64)
    ev = low >> 1
    g = low & 1
    cum_g = np.cumsum(g, axis=-1, dtype=np.int32)
    total_g = cum_g[..., -1:]
    same = ts[..., 1:] == ts[..., :-1]
    same &= ts[..., 1:] >= 0
    d_1 = ev & g
    if not same.any():
        return RiskSets(ts, np.arange(n, 0, -1, dtype=np.float64), total_g - cum_g + g, ev, d_1, ties=False)
    first = np.ones(ts.shape, dtype=bool)
    first[..., 1:] = ~same
    last = np.ones(ts.shape, dtype=bool)
    last[..., :-1] = ~same
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0), axis=-1)
    n_risk = (n - start).astype(np.float64)
    n_risk_1 = total_g - np.take_along_axis(cum_g - g, start, axis=-1)
    cum_ev = np.cumsum(ev, axis=-1)
    cum_ev1 = np.cumsum(d_1, axis=-1)
    d = np.where(last, cum_ev - np.take_along_axis(cum_ev - ev, start, axis=-1), 0)
    d_1 = np.where(last, cum_ev1 - np.take_along_axis(cum_ev1 - d_1, start, axis=-1), 0)
    return RiskSets(ts, n_risk, n_risk_1, d, d_1, ties=True)


def two_group_logrank(rs: RiskSets) -> tuple[FloatArray, FloatArray]:
    """``(O_1 - E_1, V_11)`` of group 1 per trial (the k = 2 case of ``logrank_from_counts``)."""
    if rs.ties:
        frac = rs.n_risk_1 / rs.n_risk
    else:  # n_risk is the same n, n - 1, ..., 1 for every trial: multiply by its reciprocal
        frac = rs.n_risk_1 * (1.0 / np.asarray(rs.n_risk, dtype=np.float64))
    expected_terms = rs.d * frac
    expected = np.sum(expected_terms, axis=-1)
    o_minus_e = np.sum(rs.d_1, axis=-1, dtype=np.float64) - expected
    if rs.ties:
        n_minus_1 = np.where(rs.n_risk > 1, rs.n_risk - 1.0, 1.0)
        variance = np.sum(expected_terms * (rs.n_risk - rs.d) / n_minus_1 * (1.0 - frac), axis=-1)
    else:  # one event at a time: d (n - d) / (n - 1) = d, and sum d f (1 - f) = E - sum d f^2
        variance = expected - np.sum(expected_terms * frac, axis=-1)
    return o_minus_e, variance


def km_median(time: FloatArray, n_risk: ArrayLike, n_event: ArrayLike) -> FloatArray:
    """Kaplan-Meier median per trial: the first time with ``S(t) <= 0.5``; NaN when not reached.

    ``S`` is the product-limit estimate of :func:`trialdesk.stats.kaplan_meier.greenwood_kaplan_meier`
    (without the Greenwood SE, which the median does not need).
    """
    step = np.maximum(n_risk, 1)  # no one at risk means no event: a factor of 1
    step = 1.0 - np.asarray(n_event) / step
    below = np.cumprod(step, axis=-1) <= 0.5
    index = np.argmax(below, axis=-1)
    median = np.take_along_axis(time, index[..., None], axis=-1)[..., 0]
    out: FloatArray = np.where(below[..., -1], median, np.nan)
    return out


def _entry_times(plan: SimulationPlan, rng: np.random.Generator, n_trials: int, n: int) -> FloatArray:
    """Entry times (months from the opening of the trial) of ``n`` patients per trial, increasing."""
    if plan.accrual_rate is not None:
        out: FloatArray = np.cumsum(rng.standard_exponential((n_trials, n)), axis=1) / plan.accrual_rate
        return out
    assert plan.accrual_duration is not None
    out = rng.random((n_trials, n))
    out.sort(axis=1)
    out *= plan.accrual_duration
    return out


def _run_in(
    plan: SimulationPlan, rng: np.random.Generator, entry: FloatArray
) -> tuple[BoolArray, IntArray, FloatArray]:
    """Sequential stopping rule: (stopped, patients treated, calendar time of the stop or NaN)."""
    has_event = rng.random(entry.shape) < plan.run_in_rate
    when = entry + plan.run_in_observation * rng.random(entry.shape) if plan.run_in_observation > 0 else entry
    k = plan.run_in_threshold
    size = entry.shape[1]
    if k is None or k > size:
        stopped = np.zeros(entry.shape[0], dtype=bool)
        return stopped, np.full(entry.shape[0], size, dtype=np.int64), np.full(entry.shape[0], np.nan)
    kth = np.partition(np.where(has_event, when, np.inf), k - 1, axis=1)[:, k - 1]
    stopped = np.isfinite(kth)
    treated = np.where(stopped, np.sum(entry <= kth[:, None], axis=1), size)
    return stopped, treated.astype(np.int64), np.where(stopped, kth, np.nan)


def block_arrangements(pattern: tuple[int, ...]) -> NDArray[np.int8] | None:
    """Every distinct order of one permuted block (rows), or None when there are too many to list."""
    if len(pattern) > 8:
        return None
    return np.asarray(sorted(set(itertools.permutations(pattern))), dtype=np.int8)


def _allocate(plan: SimulationPlan, rng: np.random.Generator, n_trials: int) -> NDArray[np.int8]:
    """Arm index per patient: permuted blocks of ``plan.allocation_pattern``, each block one of its
    distinct arrangements with equal probability (as a random permutation of the block)."""
    pattern = plan.allocation_pattern
    m = plan.main_size
    if len(pattern) == 1:
        return np.zeros((n_trials, m), dtype=np.int8)
    blocks = -(-m // len(pattern))
    arrangements = block_arrangements(pattern)
    if arrangements is None:
        order = np.argsort(rng.random((n_trials, blocks, len(pattern))), axis=2)
        chosen = np.asarray(pattern, dtype=np.int8)[order]
    else:
        pick = rng.integers(0, arrangements.shape[0], size=(n_trials, blocks), dtype=np.int16)
        chosen = np.take(arrangements, pick, axis=0)
    codes: NDArray[np.int8] = chosen.reshape(n_trials, blocks * len(pattern))[:, :m]
    return codes


def _event_times(plan: SimulationPlan, rng: np.random.Generator, codes: NDArray[np.int8]) -> FloatArray:
    x = rng.standard_exponential(codes.shape)
    models = plan.arm_models
    if all(model.base == models[0].base for model in models):
        scales = [1.0 / model.multiplier for model in models]
        if len(scales) == 2:  # arithmetic select: several times faster than a gather
            x *= scales[0] + (scales[1] - scales[0]) * codes
        else:
            x *= np.take(np.asarray(scales), codes)
        return models[0].inverse_base(x)
    times = np.empty_like(x)
    for j, model in enumerate(models):
        mask = codes == j
        times[mask] = model.sample(x[mask])
    return times


@dataclass(frozen=True)
class _MainPhase:
    time: FloatArray  # analysis time (months from randomization); negative for patients never enrolled
    event: BoolArray
    codes: NDArray[np.int8]
    cutoff: FloatArray  # calendar time of the analysis
    enrolled: IntArray


def _observe(plan: SimulationPlan, rng: np.random.Generator, entry: FloatArray) -> _MainPhase:
    """Allocation, event and dropout times, assessments and the data cut-off of the main phase."""
    n_trials = entry.shape[0]
    codes = _allocate(plan, rng, n_trials)
    true_time = _event_times(plan, rng, codes)
    dropout = rng.standard_exponential(entry.shape) / plan.dropout_hazard if plan.dropout_hazard > 0 else None
    step = plan.interval_months
    if step is None:
        seen = true_time
    else:
        seen = np.ceil(true_time / step) * step
        if plan.death_share > 0:
            seen = np.where(rng.random(entry.shape) < plan.death_share, true_time, seen)
    observable = None if dropout is None else seen <= dropout
    calendar = entry + seen  # when each event would be seen (months from the opening of the trial)
    if plan.cutoff_events is not None:
        candidates = calendar if observable is None else np.where(observable, calendar, np.inf)
        cutoff = np.partition(candidates, plan.cutoff_events - 1, axis=1)[:, plan.cutoff_events - 1]
        never = ~np.isfinite(cutoff)
        if never.any():
            assert dropout is not None and observable is not None  # without dropout all events are seen
            end = entry + np.where(observable, seen, _last_assessment(dropout, step))
            cutoff = np.where(never, end.max(axis=1), cutoff)
    else:
        assert plan.cutoff_months_after_last_patient is not None
        cutoff = entry[:, -1] + plan.cutoff_months_after_last_patient
    followup = cutoff[:, None] - entry
    event = (
        calendar <= cutoff[:, None]
    )  # compared on the calendar scale: exactly E events at an E-event cut-off
    if observable is not None:
        event &= observable
    limit = followup if dropout is None else np.minimum(dropout, followup)
    time = np.where(event, seen, _last_assessment(limit, step))
    # patients not enrolled by the cut-off have followup < 0, hence a negative time and no event
    return _MainPhase(time, event, codes, cutoff, np.sum(followup >= 0, axis=1))


def _last_assessment(limit: FloatArray, step: float | None) -> FloatArray:
    if step is None:
        return limit
    out: FloatArray = np.floor(limit / step) * step
    return out


def _two_arm_analysis(
    plan: SimulationPlan, main: _MainPhase, medians: bool
) -> tuple[FloatArray, BoolArray, FloatArray, FloatArray]:
    experimental = main.codes == plan.experimental_index
    rs = risk_sets(main.time, main.event, experimental)
    o_minus_e, variance = two_group_logrank(rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = o_minus_e / np.sqrt(variance)
        log_hr = o_minus_e / variance
    reject = z <= -norm.ppf(1.0 - plan.alpha)
    est = np.full((z.shape[0], 2), np.nan)
    if medians:
        exp_col = plan.experimental_index
        est[:, exp_col] = km_median(rs.time, rs.n_risk_1, rs.d_1)
        est[:, 1 - exp_col] = km_median(rs.time, rs.n_risk - rs.n_risk_1, rs.d - rs.d_1)
    return z, reject, np.where(np.isfinite(log_hr), log_hr, np.nan), est


def _single_arm_analysis(
    plan: SimulationPlan, main: _MainPhase, medians: bool
) -> tuple[FloatArray, BoolArray, FloatArray, FloatArray]:
    assert plan.historical_median is not None
    control = HistoricalControl(plan.historical_median, plan.historical_shape)
    observed, expected, z = one_sample_logrank_statistic(np.maximum(main.time, 0.0), main.event, control)
    reject = z >= norm.ppf(1.0 - plan.alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(observed / expected)
    est = np.full((z.shape[0], 1), np.nan)
    if medians:
        rs = risk_sets(main.time, main.event, np.zeros(main.time.shape, dtype=bool))
        est[:, 0] = km_median(rs.time, rs.n_risk, rs.d)
    return z, reject, np.where(np.isfinite(log_ratio), log_ratio, np.nan), est


def simulate_batch(
    plan: SimulationPlan, n_trials: int, seed: np.random.SeedSequence, *, medians: bool = True
) -> TrialOutcomes:
    """Simulate ``n_trials`` complete trials with a generator seeded by ``seed``.

    ``medians=False`` skips the Kaplan-Meier medians (NaN), for speed when only the test is wanted.
    """
    rng = np.random.default_rng(seed)
    r = plan.run_in_size
    entry = _entry_times(plan, rng, n_trials, r + plan.main_size)
    if r:
        stopped, run_in_patients, stop_time = _run_in(plan, rng, entry[:, :r])
        main_entry = entry[:, r:] + plan.run_in_observation
    else:
        stopped = np.zeros(n_trials, dtype=bool)
        run_in_patients = np.zeros(n_trials, dtype=np.int64)
        stop_time = np.full(n_trials, np.nan)
        main_entry = entry
    main = _observe(plan, rng, main_entry)
    analysis = _two_arm_analysis if plan.design == "two_arm" else _single_arm_analysis
    z, reject, log_hr, est = analysis(plan, main, medians)
    events = np.sum(main.event, axis=1)
    go = ~stopped
    return TrialOutcomes(
        run_in_stopped=stopped,
        run_in_patients=run_in_patients,
        patients=np.where(stopped, run_in_patients, r + main.enrolled).astype(np.int64),
        duration=np.where(stopped, stop_time, main.cutoff),
        events=np.where(go, events, 0).astype(np.int64),
        z=np.where(go, z, np.nan),
        rejected=go & reject,
        log_hr=np.where(go, log_hr, np.nan),
        medians=np.where(go[:, None], est, np.nan),
    )


def batch_seed(seed: int, batch_index: int) -> np.random.SeedSequence:
    """Seed of batch ``batch_index``: ``SeedSequence(seed).spawn(...)[batch_index]`` without the others."""
    return np.random.SeedSequence(seed, spawn_key=(batch_index,))


def run_batch(
    plan: SimulationPlan, seed: int, batch_index: int, n_trials: int, medians: bool = True
) -> TrialOutcomes:
    """Simulate batch ``batch_index`` of a run (the unit of work sent to a worker)."""
    return simulate_batch(plan, n_trials, batch_seed(seed, batch_index), medians=medians)


__all__ = [
    "RiskSets",
    "batch_seed",
    "km_median",
    "risk_sets",
    "run_batch",
    "simulate_batch",
    "two_group_logrank",
]
