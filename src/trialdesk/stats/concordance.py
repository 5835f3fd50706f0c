"""Harrell's concordance (C) of a risk score with right-censored survival, as R's ``coxph()$concordance``.

Convention (R ``survival`` 3.5 ``concordancefit``, used by ``coxph``): a pair ``(i, j)`` is
comparable when ``i`` has an event and ``j`` outlives it: ``t_j > t_i``, or ``t_j == t_i`` with ``j``
censored (a subject censored at an event time counts as still at risk). Two events at the same time
are not comparable. A comparable pair is concordant when the shorter survivor has the higher risk
score, discordant when it has the lower, tied when the scores are equal; pairs are comparable only
within a stratum. ``C = (concordant + tied / 2) / (concordant + discordant + tied)``.

Algorithm, O(n log n) in NumPy array passes (no Python loop over subjects):

1. ``key``: ``2 * (rank of t)`` for an event, ``2 * (rank of t) + 1`` when censored, so that ``j`` is
   comparable to event ``i`` exactly when ``key_j > key_i``.
2. Sort by ``(key, score rank)`` descending. Everything before event ``i`` in this order with a smaller
   score rank then has a larger key (same-key subjects with a smaller score come after ``i``).
3. Count, summed over events, the earlier elements with a smaller and with an equal rank: one pass
   per bit of the rank, most significant first (a wavelet matrix, Claude & Navarro 2012). Pass ``b``
   keeps elements grouped by their rank's bits above ``b`` (earlier elements first inside a group);
   an element whose bit ``b`` is 1 is larger than every earlier element of its group whose bit ``b``
   is 0, and those are counted with one cumulative sum. A stable partition by bit ``b`` then prepares
   the next pass. After the last pass a group holds equal ranks, so the earlier members of one's
   group are its ties.
4. Equal-rank pairs with the same key are not comparable: they are removed with their run lengths.

A Numba loop (a Fenwick tree, as R's C code) was not needed: these passes take about 10-15 ms per bit
at a million subjects (0.2-0.3 s for 20 bits).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trialdesk.stats.survival_data import (
    BoolArray,
    FloatArray,
    IntArray,
    SurvivalDataError,
    group_codes,
    merge_near_ties,
    survival_arrays,
)


def concordance_index(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    timefix: bool = True,
) -> float:
    """Harrell's C for a risk score (higher = shorter survival), as ``coxph()$concordance``.

    Parameters
    ----------
    time, event
        Follow-up times (``>= 0``) and event indicators (1 event, 0 censored).
    risk
        Risk score per subject (e.g. the Cox linear predictor), finite.
    strata
        Optional stratum label per subject: pairs are compared only within a stratum.
    timefix
        Merge times that differ only by rounding first (R's ``timefix = TRUE``, the default).

    Returns
    -------
    float
        ``(concordant + tied_risk / 2) / (concordant + discordant + tied_risk)`` over comparable
        pairs, in [0, 1]; NaN when no pair is comparable.
    """
    t, e = survival_arrays(time, event)
    score = np.asarray(risk, dtype=np.float64)
    if score.shape != t.shape:
        raise SurvivalDataError(f"risk: expected {t.size} values, got shape {score.shape}")
    if not np.isfinite(score).all():
        raise SurvivalDataError("risk: missing or non-finite values")
    if timefix:
        t = merge_near_ties(t)
    codes = (
        np.zeros(t.size, dtype=np.intp) if strata is None else group_codes(strata, t.size, name="strata")[1]
    )
    return concordance_from_arrays(t, e, score, codes)


def concordance_from_arrays(t: FloatArray, e: BoolArray, score: FloatArray, codes: IntArray) -> float:
    """Harrell's C from validated arrays (``codes``: stratum code per subject)."""
    totals = np.zeros(3)
    strata = np.unique(codes)
    for s in strata:
        if strata.size == 1:
            totals += concordance_counts(t, e, score)
        else:
            sel = codes == s
            totals += concordance_counts(t[sel], e[sel], score[sel])
    concordant, discordant, tied = totals
    denom = concordant + discordant + tied
    return float((concordant + tied / 2.0) / denom) if denom > 0 else float("nan")


def concordance_counts(t: FloatArray, e: BoolArray, score: FloatArray) -> FloatArray:
    """``[concordant, discordant, tied_risk]`` comparable-pair counts of one stratum."""
    n = t.size
    if n < 2 or not e.any():
        return np.zeros(3)
    rank = _dense_rank(score)
    key = 2 * _dense_rank(t) + (~e).astype(np.int64)  # j comparable to event i iff key_j > key_i
    combined = key * (int(rank.max()) + 1) + rank
    order = np.argsort(combined)[::-1]  # key descending, then score rank descending
    sorted_key, sorted_combined, sorted_event = key[order], combined[order], e[order]
    place = np.arange(n, dtype=np.int64)
    # subjects with a larger key = those placed before the first of one's key
    larger_key = _run_start(sorted_key, place)[sorted_event].sum()
    smaller, equal = _earlier_smaller_and_equal(rank[order], sorted_event)
    same_key_equal = (place - _run_start(sorted_combined, place))[sorted_event].sum()
    tied = equal - same_key_equal
    return np.array([smaller, larger_key - smaller - tied, tied], dtype=np.float64)


def _dense_rank(values: NDArray[np.float64]) -> NDArray[np.int64]:
    """Rank 0, 1, 2... of each value among the distinct values (equal values share a rank)."""
    order = np.argsort(values)
    ordered = values[order]
    step = np.empty(values.size, dtype=np.int64)
    step[0] = 0
    step[1:] = ordered[1:] != ordered[:-1]
    rank = np.empty(values.size, dtype=np.int64)
    rank[order] = np.cumsum(step)
    return rank


def _run_start(ordered: NDArray[np.int64], place: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index of the first element of each element's run of equal values in ``ordered``."""
    first = np.empty(ordered.size, dtype=np.bool_)
    first[0] = True
    first[1:] = ordered[1:] != ordered[:-1]
    start: NDArray[np.int64] = np.maximum.accumulate(np.where(first, place, 0))
    return start


def _earlier_smaller_and_equal(values: NDArray[np.int64], query: BoolArray) -> tuple[int, int]:
    """Sums over ``query`` elements ``i`` of ``#{j < i: v_j < v_i}`` and ``#{j < i: v_j == v_i}``.

    Wavelet-matrix passes (module docstring, step 3); ``values`` are ranks ``0..n-1``. The query
    flag rides in bit 30 of the same int32 array as the rank (ranks stay below ``2**30``), so each
    pass moves two arrays; sums are int64.
    """
    n = values.size
    if n >= 2**30:
        raise SurvivalDataError("time: more than 2**30 subjects in one stratum for the concordance")
    flag = np.int32(1 << 30)
    v = values.astype(np.int32) | (query.astype(np.int32) << 30)
    group_start = np.zeros(n, dtype=np.int32)
    zeros_upto = np.zeros(n + 1, dtype=np.int32)  # zeros_upto[k] = zeros among places < k
    place = np.arange(n, dtype=np.int32)
    new_place = np.empty(n, dtype=np.int32)
    smaller = 0
    for bit in range(int(values.max()).bit_length() - 1, -1, -1):
        one = (v >> bit) & 1
        np.cumsum(1 - one, out=zeros_upto[1:])
        zeros_before = zeros_upto[:-1]
        n_zeros = zeros_upto[n]
        zeros_before_group = zeros_upto[group_start]
        # a query whose bit is 1 exceeds the earlier elements of its group whose bit is 0
        counted = one & (v >> 30)
        smaller += int(((zeros_before - zeros_before_group) * counted).sum(dtype=np.int64))
        # stable partition: zeros keep their order in front, ones follow in theirs
        np.add(zeros_before, one * (n_zeros + place - 2 * zeros_before), out=new_place)
        next_start = zeros_before_group + one * (n_zeros + group_start - 2 * zeros_before_group)
        v = _scatter(v, new_place)
        group_start = _scatter(next_start, new_place)
    equal = int(((place - group_start) * ((v & flag) >> 30)).sum(dtype=np.int64))
    return smaller, equal


def _scatter(values: NDArray[np.int32], new_place: NDArray[np.int32]) -> NDArray[np.int32]:
    out = np.empty_like(values)
    out[new_place] = values
    return out
