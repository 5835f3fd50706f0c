"""K-sample log-rank and Fleming-Harrington tests, as R's ``survival::survdiff``.

Methods
-------
At each distinct event time ``t`` (within each stratum) with ``n`` at risk, ``d`` events, ``n_g``
at risk and ``d_g`` events in group ``g`` and weight ``w = S(t-)^rho`` (``S`` the pooled
Kaplan-Meier curve of the stratum, left-continuous; ``rho = 0`` gives the log-rank test of Mantel
1966 / Peto & Peto 1972, ``rho = 1`` the Peto-Peto / Fleming-Harrington G(1) test):

* ``O_g = sum w d_g``, ``E_g = sum w d n_g / n``
* ``V_gh = sum w^2 d (n - d) / (n - 1) * (n_g / n) (delta_gh - n_h / n)``

summed over strata (stratified test). The statistic is ``(O - E)' V^- (O - E)`` on the groups with
``E > 0`` minus the first, chi-square with ``k - 1`` degrees of freedom.

Why hand-written rather than lifelines: lifelines has no stratified log-rank test, and the later
batched simulator needs the statistic from ``(..., n_times, k)`` arrays of risk-set counts, which
:func:`logrank_from_counts` takes directly. The unstratified rho = 0 result agrees with lifelines'
``multivariate_logrank_test`` (checked in the unit tests).

Speed: subjects are ordered by one ``np.sort`` of packed 64-bit keys (stratum, time, ``2 * group +
event``; :func:`~trialdesk.stats.survival_data.sort_packed`), not an ``argsort`` and gathers, and
the counts and sums run over cache-sized blocks of subjects (:data:`_BLOCK`). At 1e6 subjects this
is about 0.9x (tied times) and 1.1-1.2x (continuous times) the cost of an ``argsort`` of the times
plus gathering them (``benchmarks/survival_vs_r.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from trialdesk.stats.survival_data import (
    BoolArray,
    FloatArray,
    IntArray,
    PackedSubjects,
    SurvivalDataError,
    UInt64Array,
    first_of_runs,
    group_codes,
    per_time_counts,
    prefix_counts,
    run_starts,
    sort_packed,
    survival_arrays,
)


@dataclass(frozen=True)
class LogRankResult:
    """Result of a (stratified, weighted) k-sample log-rank test.

    ``observed``/``expected`` are (weighted) event counts per group in ``groups`` order, ``variance``
    the ``k x k`` covariance of ``O - E``; ``chisq`` has ``df`` degrees of freedom and ``p`` is its
    upper-tail probability.
    """

    groups: tuple[object, ...]
    n: tuple[int, ...]
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    chisq: float
    df: int
    p: float
    rho: float


def logrank_test(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    timefix: bool = True,
) -> LogRankResult:
    """Compare survival of the levels of ``group`` (R: ``survdiff(Surv(time, event) ~ group, rho=rho)``).

    Parameters
    ----------
    time, event
        Follow-up times (``>= 0``) and event indicators (1 event, 0 censored).
    group
        Group label per subject, at least two levels (sorted; numeric levels sort numerically).
    strata
        Optional stratum label per subject (R: ``+ strata(x)``); the test sums over strata.
    rho
        Weight exponent ``>= 0``: 0 log-rank, 1 Peto-Peto/Fleming-Harrington.
    timefix
        Merge times that differ only by rounding (R's ``survdiff(timefix = TRUE)``, the default; see
        :func:`~trialdesk.stats.survival_data.near_tie_groups`); ``False`` keeps every distinct time.
    """
    t, e = survival_arrays(time, event)
    levels, codes = group_codes(group, t.size, name="group")
    if len(levels) < 2:
        raise SurvivalDataError("group: needs at least two levels for a log-rank test")
    if len(levels) > MAX_GROUPS:
        raise SurvivalDataError(f"group: at most {MAX_GROUPS} levels, got {len(levels)}")
    if not np.isfinite(rho) or rho < 0:
        raise SurvivalDataError(f"rho: must be a finite number >= 0, got {rho}")
    k = len(levels)
    stratum_codes: IntArray | None = None
    n_strata = 1
    if strata is not None:
        stratum_levels, stratum_codes = group_codes(strata, t.size, name="strata")
        n_strata = len(stratum_levels)
    packed = sort_packed(t, _labels(codes, e), _label_bits(k), stratum_codes, n_strata)
    parts = [packed.take(s) for s in range(n_strata) if packed.bounds[s] < packed.bounds[s + 1]]
    starts = [_time_starts(packed, time_codes, timefix=timefix and n_strata == 1) for _, time_codes in parts]
    if timefix and n_strata > 1:
        starts = _merge_near_ties_across_strata(packed, [codes for _, codes in parts], starts)
    sums = _Sums(k, rho)
    for (labels, _), stratum_starts in zip(parts, starts, strict=True):
        sums.add_stratum(labels, stratum_starts)
    observed, expected, variance = sums.full()
    per_label = sums.label_counts
    chisq, df = logrank_chisq(observed, expected, variance)
    return LogRankResult(
        groups=tuple(levels),
        n=tuple(int(c) for c in per_label[0::2] + per_label[1::2]),
        observed=observed,
        expected=expected,
        variance=variance,
        chisq=chisq,
        df=df,
        p=float(chi2.sf(chisq, df)) if df > 0 else float("nan"),
        rho=rho,
    )


MAX_GROUPS = 128
"""Most groups a log-rank test compares: a subject's ``2 * group + event`` label fits one byte."""


def group_risk_counts(
    time: FloatArray, event: BoolArray, codes: IntArray, k: int
) -> tuple[FloatArray, FloatArray]:
    """Numbers at risk and events per group at each distinct event time.

    Returns two ``(n_event_times, k)`` arrays: ``n_risk[i, g]`` subjects of group ``g`` with
    ``time >= t_i`` and ``n_event[i, g]`` events of group ``g`` at ``t_i``.
    """
    packed = sort_packed(time, _labels(codes, event), _label_bits(k))
    labels, time_codes = packed.take(0)
    members = _members(_label_counts(labels, k))
    starts = _time_starts(packed, time_codes, timefix=False)
    counts, _ = _sorted_counts(starts, labels, labels.size, members, group_events=True)
    rows = np.flatnonzero(counts.d)
    n_risk, n_event = counts.full()
    return np.ascontiguousarray(n_risk[:, rows].T), np.ascontiguousarray(n_event[:, rows].T)


class _RiskCounts(NamedTuple):
    """Counts at each distinct time: all groups (``n``, ``d``) and groups ``0..k-2`` (``n_g``, and
    ``d_g`` when asked for; shape ``(k - 1, n_times)``); the last group is the total minus the
    others. Times without events are kept: they add nothing to any sum."""

    n: FloatArray
    d: FloatArray
    n_g: FloatArray
    d_g: FloatArray | None

    def full(self) -> tuple[FloatArray, FloatArray]:
        """``(k, n_times)`` at-risk and event counts with the last group filled in."""
        if self.d_g is None:
            raise ValueError("counts were taken without per-group events")
        n_risk = np.vstack([self.n_g, self.n - self.n_g.sum(axis=0)])
        n_event = np.vstack([self.d_g, self.d - self.d_g.sum(axis=0)])
        return n_risk, n_event


_BLOCK = 1 << 15
"""Subjects per block of the log-rank sums. A block's temporaries (about 60 bytes per subject) stay
in the CPU's L2 cache and are reused from the heap instead of being faulted in afresh. Measured on
1e6 continuous times (whole test, CPU): 33.6 ms in one piece (4,800 page faults), 24.0 ms in blocks
of 32,768 subjects (800 faults); 4,096 (30.1 ms) pays Python's per-block overhead."""


class _Sums:
    """Running log-rank sums over strata and blocks of times, for groups ``0..k-2``.

    ``O``, ``E`` and ``V`` are sums over event times, so blocks of times add up; a weighted test
    (``rho > 0``) carries the pooled ``S(t-)`` from one block to the next. The last group's entries
    follow at the end from the totals (:meth:`full`).
    """

    def __init__(self, k: int, rho: float) -> None:
        self.k, self.rho = k, rho
        self.observed_g = np.zeros(k - 1)
        self.expected_g = np.zeros(k - 1)
        self.v = np.zeros((k - 1, k - 1))
        self.weighted_d = 0.0
        self.label_counts = np.zeros(2 * k, dtype=np.int64)

    def add_stratum(self, labels: NDArray[np.uint8], starts: IntArray) -> None:
        """Add one stratum: its subjects' labels in time order and the starts of its distinct times."""
        in_stratum = _label_counts(labels, self.k)
        self.label_counts += in_stratum
        remaining = _members(in_stratum)
        m, n_times = labels.size, starts.size
        survival = 1.0  # pooled S(t-) at the block's first time (weighted test)
        j0 = 0
        while j0 < n_times:
            first = int(starts[j0])
            j1 = max(j0 + 1, int(np.searchsorted(starts, first + _BLOCK)))  # at least one whole time
            last = int(starts[j1]) if j1 < n_times else m
            counts, members = _sorted_counts(
                starts[j0:j1] - first, labels[first:last], m - first, remaining, group_events=self.rho != 0
            )
            survival = self._add_block(counts, survival)
            remaining -= members
            j0 = j1

    def _add_block(self, counts: _RiskCounts, survival: float) -> float:
        """Add one block of times' terms; returns the pooled ``S(t-)`` after its last time."""
        n, d = counts.n, counts.d
        frac = counts.n_g / n
        factor = n - d
        factor *= d
        single = int(np.searchsorted(-n, -1.0, side="left"))  # rows with n > 1 come first
        factor[single:] = 0.0
        factor[:single] /= n[:single] - 1.0
        if self.rho == 0:
            weighted_d = d
        else:
            if counts.d_g is None:
                raise ValueError("a weighted test needs the per-group events at each time")
            step = 1.0 - d / n
            km = survival * _exclusive_cumprod(step)
            survival = float(km[-1] * step[-1])
            w = km**self.rho
            weighted_d = w * d
            self.observed_g += np.einsum("gi,i->g", counts.d_g, w)
            factor *= w * w
        # einsum, not @: a matrix product over a million times goes to OpenBLAS, whose threads
        # spin-wait and doubled the test's CPU time (214 ms vs 119 ms of CPU at 1e6, same wall)
        self.expected_g += np.einsum("gi,i->g", frac, weighted_d)
        spread = frac * factor
        self.v += np.diag(spread.sum(axis=1)) - np.einsum("gi,hi->gh", spread, frac)
        self.weighted_d += float(weighted_d.sum())
        return survival

    def full(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``O``, ``E`` (``k``) and the ``k x k`` covariance of ``O - E``, the last group filled in.

        ``O``, ``E`` and every row of ``V`` sum to the (weighted) total events and to 0. Unweighted,
        each group's ``O`` is its number of events.
        """
        k, v = self.k, self.v
        observed_g = self.label_counts[1::2][:-1].astype(np.float64) if self.rho == 0 else self.observed_g
        variance = np.zeros((k, k))
        variance[:-1, :-1] = v
        variance[:-1, -1] = -v.sum(axis=1)
        variance[-1, :-1] = -v.sum(axis=0)
        variance[-1, -1] = v.sum()
        observed = np.append(observed_g, self.weighted_d - observed_g.sum())
        expected = np.append(self.expected_g, self.weighted_d - self.expected_g.sum())
        return observed, expected, variance


def _label_bits(k: int) -> int:
    return (2 * k - 1).bit_length()


def _labels(codes: IntArray, event: BoolArray) -> NDArray[np.uint8]:
    """``2 * group + event`` per subject, one byte each (groups < :data:`MAX_GROUPS`)."""
    label = codes.astype(np.uint8)
    label <<= np.uint8(1)
    label |= event
    return label


def _label_counts(labels: NDArray[np.uint8], k: int) -> NDArray[np.int64]:
    """Subjects per label value ``0..2k-1`` (``np.bincount`` first casts every byte to ``intp``;
    a count per value is cheaper for the usual few groups)."""
    if k > 8:
        counts: NDArray[np.int64] = np.bincount(labels, minlength=2 * k).astype(np.int64)
        return counts
    return np.array([np.count_nonzero(labels == value) for value in range(2 * k)], dtype=np.int64)


def _members(label_counts: NDArray[np.int64]) -> FloatArray:
    """Subjects of groups ``0..k-2`` from the counts per label ``2 * group + event``."""
    members: FloatArray = (label_counts[0::2] + label_counts[1::2])[:-1].astype(np.float64)
    return members


def _time_starts(packed: PackedSubjects, codes: UInt64Array, *, timefix: bool) -> IntArray:
    """First sorted position of each distinct time among one stratum's sorted time ``codes``.

    With ``timefix`` distinct times that differ only by rounding are merged as R's ``aeqSurv``:
    decoding the times of the distinct codes is needed only for that.
    """
    starts: IntArray = np.flatnonzero(first_of_runs(codes))
    if timefix:
        first = run_starts(packed.times_of_sorted(codes[starts]))
        if first is not None:
            starts = starts[first]
    return starts


def _merge_near_ties_across_strata(
    packed: PackedSubjects, codes: list[UInt64Array], starts: list[IntArray]
) -> list[IntArray]:
    """Each stratum's distinct-time starts after merging near ties over all strata together.

    R's ``survdiff`` runs ``aeqSurv`` on the whole time vector before splitting by stratum, so a
    run of near ties is found among every stratum's times (and ``aeqSurv``'s scale is the mean of
    all distinct times). Here: the distinct times of all strata, one ``np.unique`` of those, their
    runs (:func:`~trialdesk.stats.survival_data.run_starts`); then each stratum's distinct times
    that were merged away are found by one binary search each among the stratum's (sorted) times,
    and a stratum's time starts a new distinct time only when its merged value changes.
    """
    times = [packed.times_of_sorted(c[s]) for c, s in zip(codes, starts, strict=True)]
    distinct = np.unique(np.concatenate(times))
    first = run_starts(distinct)
    if first is None:
        return starts
    merged_away = ~first
    away = distinct[merged_away]
    target = distinct[first][np.cumsum(first, dtype=np.int32) - 1][merged_away]  # int32: 8x faster
    out = []
    for merged, stratum_starts in zip(times, starts, strict=True):
        slot = np.searchsorted(merged, away)  # where each merged-away time would sit in the stratum
        found = slot < merged.size
        found[found] = merged[slot[found]] == away[found]
        merged[slot[found]] = target[found]  # distinct within the stratum: each found once
        out.append(stratum_starts[first_of_runs(merged)])
    return out


def _sorted_counts(
    start: IntArray,
    labels: NDArray[np.uint8],
    at_risk: int,
    members_at_risk: FloatArray,
    *,
    group_events: bool,
) -> tuple[_RiskCounts, FloatArray]:
    """Counts at each distinct time of a run of subjects sorted by time (a block of one stratum).

    ``labels`` is ``2 * group + event`` per sorted subject of the block; ``start`` holds the first
    position of each distinct time in it. ``at_risk`` subjects (``members_at_risk`` of groups
    ``0..k-2``) have a time at or after the block's first. Each count is one cumulative sum over the
    block, read at the starts: events, and the members (and, for weighted tests, the events) of each
    group but the last. Also returns the members of groups ``0..k-2`` in the block.
    """
    k = members_at_risk.size + 1
    n_times = start.size
    d = per_time_counts(prefix_counts(labels & np.uint8(1)), start)
    n_g = np.empty((k - 1, n_times))
    d_g = np.empty((k - 1, n_times)) if group_events else None
    members = np.empty(k - 1)
    for g in range(k - 1):
        before = prefix_counts(labels < 2 if g == 0 else (labels >> np.uint8(1)) == g)
        np.subtract(members_at_risk[g], before[start], out=n_g[g])  # members at this time or later
        members[g] = before[-1]
        if d_g is not None:
            d_g[g] = per_time_counts(prefix_counts(labels == 2 * g + 1), start)
    n = np.empty(n_times)
    np.subtract(at_risk, start, out=n)
    return _RiskCounts(n=n, d=d, n_g=n_g, d_g=d_g), members


def logrank_from_counts(
    n_risk: ArrayLike, n_event: ArrayLike, *, rho: float = 0.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted observed, expected and covariance of ``O - E`` from risk-set counts.

    Parameters
    ----------
    n_risk, n_event
        ``(..., n_times, k)`` arrays: at risk and events per group at each event time, times in
        increasing order (rows with no one at risk contribute nothing, so padded grids are fine).
    rho
        Fleming-Harrington exponent; weights are the pooled left-continuous KM to the power ``rho``.

    Returns
    -------
    (observed, expected, variance)
        Shapes ``(..., k)``, ``(..., k)`` and ``(..., k, k)``.
    """
    nr = np.asarray(n_risk, dtype=np.float64)
    ne = np.asarray(n_event, dtype=np.float64)
    n = nr.sum(axis=-1)
    d = ne.sum(axis=-1)
    safe_n = np.where(n > 0, n, 1.0)
    if rho == 0:
        w = np.ones_like(n)
    else:
        step = np.where(n > 0, 1.0 - d / safe_n, 1.0)
        w = _exclusive_cumprod(step) ** rho  # S(t-): product over earlier event times
    frac = nr / safe_n[..., None]
    observed = np.sum(w[..., None] * ne, axis=-2)
    expected = np.sum((w * d)[..., None] * frac, axis=-2)
    factor = np.where(n > 1, w**2 * d * (n - d) / np.where(n > 1, n - 1.0, 1.0), 0.0)
    outer = frac[..., :, None] * frac[..., None, :]
    diag = np.zeros_like(outer)
    idx = np.arange(frac.shape[-1])
    diag[..., idx, idx] = frac
    variance = np.sum(factor[..., None, None] * (diag - outer), axis=-3)
    return observed, expected, variance


def _exclusive_cumprod(step: FloatArray) -> FloatArray:
    shifted = np.concatenate([np.ones_like(step[..., :1]), step[..., :-1]], axis=-1)
    out: FloatArray = np.cumprod(shifted, axis=-1)
    return out


def logrank_chisq(observed: FloatArray, expected: FloatArray, variance: FloatArray) -> tuple[float, int]:
    """Chi-square statistic and degrees of freedom as survdiff: groups with ``E > 0``, first dropped.

    When the variance of ``O - E`` is zero (no information: every event tied with the whole risk set,
    e.g. one subject per group dying the same day), the statistic is undefined: ``(nan, 0)``, so that
    ``p`` is NaN (R's ``survdiff`` stops with "system is exactly singular" there).
    """
    keep = np.flatnonzero(expected > 0)
    df = keep.size - 1
    if df < 1:
        return 0.0, 0
    diff = (observed - expected)[keep][1:]
    v = variance[np.ix_(keep, keep)][1:, 1:]
    if not np.any(v):
        return float("nan"), 0
    try:
        chisq = float(diff @ np.linalg.solve(v, diff))
    except np.linalg.LinAlgError:
        raise SurvivalDataError("group: the log-rank variance matrix is singular") from None
    return chisq, int(df)
