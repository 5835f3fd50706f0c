"""Validation of right-censored survival data before any estimator sees it.

Every survival routine in :mod:`trialdesk.stats` calls :func:`survival_arrays` (and, for grouping
variables, :func:`group_codes`) so that bad input fails with one clear message naming the field and
the reason, instead of a NumPy traceback or, worse, a silently wrong number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]


class SurvivalDataError(ValueError):
    """Survival data that cannot be analysed: the message names the field and the reason."""


def survival_arrays(
    time: ArrayLike, event: ArrayLike, *, time_name: str = "time", event_name: str = "event"
) -> tuple[FloatArray, BoolArray]:
    """Check and convert follow-up times and event indicators.

    Parameters
    ----------
    time
        Follow-up time of each subject, in any unit (days, months); finite and ``>= 0``.
    event
        Event indicator per subject: ``1``/``True`` = event observed, ``0``/``False`` = right-censored.
    time_name, event_name
        Field names used in error messages.

    Returns
    -------
    (time, event)
        ``float64`` times and ``bool`` events, both 1-D and of equal, non-zero length.

    Raises
    ------
    SurvivalDataError
        Empty input, unequal lengths, non-numeric/negative/non-finite times or events other than 0/1.
    """
    t = _as_1d(time, time_name)
    e = _as_1d(event, event_name)
    if t.size == 0:
        raise SurvivalDataError(f"{time_name}: no observations")
    if e.size != t.size:
        raise SurvivalDataError(f"{event_name}: has {e.size} values but {time_name} has {t.size}")
    try:
        tf = t.astype(np.float64, copy=False)  # read only: estimators never write into it
    except (TypeError, ValueError):
        raise SurvivalDataError(f"{time_name}: values must be numeric") from None
    bad = ~np.isfinite(tf)
    if bad.any():
        raise SurvivalDataError(
            f"{time_name}: value at position {int(np.argmax(bad))} is missing or not finite"
        )
    if (tf < 0).any():
        i = int(np.argmax(tf < 0))
        raise SurvivalDataError(f"{time_name}: value at position {i} is negative ({tf[i]:g})")
    return tf, _as_event(e, event_name)


def _as_1d(values: ArrayLike, name: str) -> NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SurvivalDataError(f"{name}: expected a one-dimensional sequence, got shape {arr.shape}")
    return arr


def _as_event(e: NDArray[Any], name: str) -> BoolArray:
    if e.dtype == np.bool_:
        return e.astype(np.bool_)
    try:
        ef = e.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise SurvivalDataError(f"{name}: values must be 0/1 or True/False (booleans)") from None
    bad = (ef != 0.0) & (ef != 1.0)
    if bad.any():
        i = int(np.argmax(bad))
        value = e[i].item() if isinstance(e[i], np.generic) else e[i]
        raise SurvivalDataError(f"{name}: value at position {i} is {value!r}; expected 0/1 or True/False")
    out: BoolArray = ef == 1.0
    return out


def group_codes(values: ArrayLike | Sequence[Any], n: int, *, name: str) -> tuple[list[Any], IntArray]:
    """Encode a grouping variable as integer codes ``0..k-1`` in sorted level order.

    Levels sort numerically when every level is a number, else as strings; the first level is the
    reference level of two-group comparisons. One ``np.unique`` (a sort) finds the levels, so the
    cost is that of sorting ``n`` values, with Python work only per level.

    Raises
    ------
    SurvivalDataError
        Wrong length or missing (``None``/NaN) values.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        arr = np.asarray(values, dtype=object)  # a list mixing numbers and text keeps its numbers
    if arr.ndim != 1 or arr.size != n:
        raise SurvivalDataError(f"{name}: expected {n} values, got shape {arr.shape}")
    _check_not_missing(arr, name)
    if arr.dtype.kind in "iu" and arr.size:
        return _small_integer_codes(arr)
    if arr.dtype.kind == "f" and arr.size:
        whole = _whole_numbers(arr)
        if whole is not None:  # labels such as 0.0 / 1.0
            whole_levels, whole_codes = _small_integer_codes(whole)
            return [float(level) for level in whole_levels], whole_codes
    try:
        raw, inverse = np.unique(arr, return_inverse=True)
    except TypeError:  # levels of mixed types (e.g. 1 and "a") that Python cannot order
        return _group_codes_mixed(arr, name)
    found = raw.tolist()
    levels = sorted(found, key=_level_key)
    if len(set(levels)) != len(levels):  # levels equal in Python but not to NumPy (1 and True)
        return _group_codes_mixed(arr, name)
    position = {level: k for k, level in enumerate(levels)}
    remap = np.fromiter((position[level] for level in found), dtype=np.intp, count=len(found))
    codes: IntArray = remap[inverse.reshape(-1)]
    return levels, codes


def _whole_numbers(arr: NDArray[np.floating[Any]]) -> NDArray[np.int64] | None:
    """``arr`` as ``int64`` when every value is a whole number below ``2**53`` in size, else ``None``.

    One cast and one comparison (a cast of a non-integral, huge or infinite value never compares
    equal to it), instead of ``abs``, ``trunc`` and an equality test.
    """
    with np.errstate(invalid="ignore"):
        whole = arr.astype(np.int64)
    if not (whole == arr).all():
        return None
    if max(-int(whole.min()), int(whole.max())) >= 2**53:  # a double no longer holds every integer
        return None
    return whole


def _small_integer_codes(arr: NDArray[Any]) -> tuple[list[Any], IntArray]:
    """Integer labels: codes are ``value - min`` when the range is small, gaps closed up.

    Two levels that are the minimum and the maximum (0/1 arms) need no count at all; otherwise one
    scatter marks the values present (cheaper than ``np.bincount``, which counts into ``intp``).
    """
    low, high = int(arr.min()), int(arr.max())
    if high - low > 4 * arr.size + 1024:  # sparse labels: sort instead
        raw, inverse = np.unique(arr, return_inverse=True)
        return raw.tolist(), inverse.reshape(-1).astype(np.intp)
    offset: IntArray = np.subtract(arr, low, dtype=np.intp)
    if high - low <= 1:  # the minimum and the maximum occur
        return list(range(low, high + 1)), offset
    present = np.zeros(high - low + 1, dtype=np.bool_)
    present[offset] = True
    levels = (np.flatnonzero(present) + low).tolist()
    if present.all():  # every value between min and max occurs: the offset is the code
        return levels, offset
    code_of_offset = np.cumsum(present) - 1
    codes: IntArray = code_of_offset[offset]
    return levels, codes


def _check_not_missing(arr: NDArray[Any], name: str) -> None:
    if arr.dtype.kind == "f":
        missing = np.isnan(arr)
    elif arr.dtype.kind == "O":
        missing = (arr == None) | (arr != arr)  # noqa: E711  (elementwise: None, or NaN, unequal to itself)
    else:
        return
    if missing.any():
        raise SurvivalDataError(f"{name}: value at position {int(np.argmax(missing))} is missing")


def _group_codes_mixed(arr: NDArray[Any], name: str) -> tuple[list[Any], IntArray]:
    """Per-element encoding for object arrays whose levels NumPy cannot sort (mixed types)."""
    items = arr.astype(object).tolist()
    levels = sorted(set(items), key=_level_key)
    index = {level: k for k, level in enumerate(levels)}
    codes = np.fromiter((index[v] for v in items), dtype=np.intp, count=len(items))
    return levels, codes


def _level_key(level: Any) -> tuple[int, float, str]:
    if isinstance(level, bool):
        return (1, 0.0, str(level))
    if isinstance(level, int | float | np.integer | np.floating):
        return (0, float(level), "")
    return (1, 0.0, str(level))


TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))
"""R's ``aeqSurv`` tolerance, ``sqrt(.Machine$double.eps)`` (about 1.49e-8)."""


def near_tie_groups(
    distinct: FloatArray, tolerance: float = TIMEFIX_TOLERANCE
) -> tuple[FloatArray, IntArray]:
    """Merge distinct times that differ only by rounding, as R's ``survival::aeqSurv``.

    Parameters
    ----------
    distinct
        Distinct follow-up times, sorted increasing (e.g. from ``np.unique``).
    tolerance
        Two neighbours ``y[k] < y[k+1]`` are tied when ``y[k+1] - y[k] <= tolerance`` or
        ``(y[k+1] - y[k]) / mean(|y|) <= tolerance``; runs of tied neighbours chain together.

    Returns
    -------
    (merged, index)
        ``merged`` holds the first (smallest) time of each run, and ``distinct[k]`` becomes
        ``merged[index[k]]``. Without near ties ``merged`` is ``distinct`` itself.

    Reference: R ``survival`` 3.5 ``aeqSurv`` (used by ``survfit``, ``survdiff``, ``coxph`` and
    ``concordance`` when ``timefix = TRUE``, their default).
    """
    starts = run_starts(distinct, tolerance)
    if starts is None:
        return distinct, np.arange(distinct.size, dtype=np.intp)
    index: IntArray = np.cumsum(starts, dtype=np.intp) - 1
    merged: FloatArray = distinct[starts]
    return merged, index


def run_starts(distinct: FloatArray, tolerance: float = TIMEFIX_TOLERANCE) -> BoolArray | None:
    """Mask of the times that start a run of near ties (:func:`near_tie_groups`); ``None``: no ties."""
    if distinct.size < 2:
        return None
    gaps = np.diff(distinct)
    scale = float(np.mean(distinct if distinct[0] >= 0 else np.abs(distinct)))
    # R: (gap <= tolerance) | (gap / scale <= tolerance), as one comparison
    tied = gaps <= tolerance * max(1.0, scale)
    if not tied.any():
        return None
    starts = np.empty(distinct.size, dtype=np.bool_)
    starts[0] = True
    np.logical_not(tied, out=starts[1:])
    return starts


def first_of_runs(ordered: NDArray[Any]) -> BoolArray:
    """Mask of the positions of sorted values that differ from the value before (the first is one)."""
    new = np.empty(ordered.size, dtype=np.bool_)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return new


def distinct_starts(ordered: FloatArray, *, timefix: bool) -> tuple[IntArray, FloatArray]:
    """First position of each distinct value of sorted times, and the values (merged by ``timefix``)."""
    start: IntArray = np.flatnonzero(first_of_runs(ordered))
    times: FloatArray = ordered[start]
    first = run_starts(times, TIMEFIX_TOLERANCE) if timefix else None
    if first is not None:
        start, times = start[first], times[first]
    return start, times


def sort_times_with_events(time: FloatArray, event: BoolArray) -> tuple[FloatArray, BoolArray]:
    """``(time, event)`` pairs sorted by time, by one ``np.sort`` of packed 64-bit keys.

    A non-negative double orders as its bit pattern read as an unsigned integer, and that pattern
    is below ``2**63``, so ``bits << 1 | event`` is a lossless key whose order is the time order.
    Sorting these keys (no ``argsort``, no gathers) costs about a third of an ``argsort`` followed
    by gathering the events. ``+ 0.0`` turns a ``-0.0`` (which passes validation) into ``0.0``.
    """
    key = (time + 0.0).view(np.uint64) << np.uint64(1)
    key |= event.view(np.uint8)
    key.sort()
    events: BoolArray = (key & np.uint64(1)).astype(np.bool_)
    key >>= np.uint64(1)
    times: FloatArray = key.view(np.float64)
    return times, events


UInt64Array = NDArray[np.uint64]


@dataclass(frozen=True)
class PackedSubjects:
    """Subjects sorted by (stratum, time, label) as one ``uint64`` key each (:func:`sort_packed`).

    A key is, from the top bit down: the stratum code (``stratum_bits``), an order-preserving code of
    the time, and a small label (``label_bits``, e.g. ``2 * group + event``). ``bounds[s]`` is the
    first sorted position of stratum ``s`` (``bounds[-1] == n``).
    """

    keys: UInt64Array
    label_bits: int
    stratum_bits: int
    bounds: IntArray
    base: int
    """Added back to a non-zero time code to give the time's IEEE bits (``-1``: codes are ranks)."""
    ranked: FloatArray | None
    """The distinct times when codes are their ranks (wide dynamic range), else ``None``."""

    def take(self, s: int) -> tuple[NDArray[np.uint8], UInt64Array]:
        """Stratum ``s``'s labels and time codes, in sorted order.

        This consumes the stratum's keys: they are shifted into time codes in place (one
        temporary of 8 bytes per subject less, and its page faults). Equal codes are equal times.
        """
        part = self.keys[self.bounds[s] : self.bounds[s + 1]]
        labels = part.astype(np.uint8)  # the low byte; the label is its low bits
        labels &= np.uint8((1 << self.label_bits) - 1)
        part >>= np.uint64(self.label_bits)
        return labels, part

    def times_of_sorted(self, codes: UInt64Array) -> FloatArray:
        """Decode increasing time codes (from :meth:`take`) back to the times, exactly."""
        code = codes & np.uint64((1 << (64 - self.label_bits - self.stratum_bits)) - 1)
        if self.ranked is not None:
            ranked: FloatArray = self.ranked[code.astype(np.intp)]
            return ranked
        zero_first = code.size > 0 and code[0] == 0  # increasing: only the first can be a zero time
        code += np.uint64(self.base)
        if zero_first:
            code[0] = 0
        out: FloatArray = code.view(np.float64)
        return out


def sort_packed(
    time: FloatArray,
    label: NDArray[np.uint8],
    label_bits: int,
    stratum: IntArray | None = None,
    n_strata: int = 1,
) -> PackedSubjects:
    """Sort subjects by stratum, then time, with one ``np.sort`` of packed ``uint64`` keys.

    Why: an ``argsort`` followed by gathers costs 3-4 times a plain sort of 64-bit integers (x86
    SIMD sort; measured 16 ms vs 5 ms at 1e6 random times), and the estimators need only the
    sorted times and a few label bits per subject, never the original positions.

    A non-negative double orders as its IEEE bit pattern read as an unsigned integer. The top
    exponent bits are freed by subtracting a base (the exponent just below the smallest positive
    time; zeros stay 0): the code then fits below the label when the positive times span fewer than
    ``2**(11 - extra bits)`` binary orders of magnitude (times from 1e-3 to 1e6 days span 30). When
    they do not, the code is the time's rank among the distinct times (one ``np.unique``), so the
    result is exact for every input.

    Parameters
    ----------
    time
        Validated times (:func:`survival_arrays`), ``>= 0``.
    label
        Per-subject label in ``[0, 2**label_bits)`` (e.g. ``2 * group + event``), ``label_bits <= 8``.
    stratum
        Optional stratum code per subject in ``[0, n_strata)``; strata come first in the order.
    """
    stratum_bits = (n_strata - 1).bit_length()
    room = 64 - label_bits - stratum_bits
    code, base, ranked = _time_code(time, room)
    code <<= np.uint64(label_bits)
    code |= label  # uint8 widens in the loop: no temporary
    if stratum is not None and stratum_bits:
        code |= stratum.astype(np.uint64) << np.uint64(64 - stratum_bits)
    code.sort()
    bounds = np.empty(n_strata + 1, dtype=np.intp)
    bounds[-1] = code.size
    if n_strata > 1:
        firsts = np.arange(n_strata, dtype=np.uint64) << np.uint64(64 - stratum_bits)
        bounds[:-1] = np.searchsorted(code, firsts)
    else:
        bounds[0] = 0
    return PackedSubjects(code, label_bits, stratum_bits, bounds, base, ranked)


def _time_code(time: FloatArray, room: int) -> tuple[UInt64Array, int, FloatArray | None]:
    """Order-preserving ``uint64`` codes below ``2**room`` for validated times, and how to decode them.

    Returns ``(codes, base, None)`` with ``code = bits - base`` for positive times and 0 for zeros,
    or ``(ranks, -1, distinct)`` when the times span too many binary orders of magnitude.
    """
    bits = (time + 0.0).view(np.uint64)  # a fresh buffer to work in; -0.0 becomes 0.0
    smallest = float(np.min(time, where=time > 0, initial=np.inf))
    base = 0
    if np.isfinite(smallest):
        exponent = int(np.array(smallest).view(np.uint64)) >> 52
        base = max(exponent - 1, 0) << 52
    if int(bits.max(initial=0)) - base < 1 << room:
        np.maximum(bits, np.uint64(base), out=bits)  # zeros (below the base) end at 0
        bits -= np.uint64(base)
        return bits, base, None
    distinct, rank = np.unique(time, return_inverse=True)
    if distinct.size >= 1 << room:  # pragma: no cover - needs more subjects than memory holds
        raise SurvivalDataError("time: too many distinct values to sort with this many labels")
    return rank.reshape(-1).astype(np.uint64), -1, distinct


def prefix_counts(flags: NDArray[Any]) -> NDArray[np.integer[Any]]:
    """Number of true (non-zero, 0/1) flags before each position: length ``n + 1``, starting at 0.

    ``int32`` while it can hold ``n``: NumPy's cumulative sum into ``int32`` runs about six times
    faster than into its default ``int64`` (measured 0.5 vs 3.1 ms at 1e6 flags).
    """
    out: NDArray[np.integer[Any]] = np.zeros(
        flags.size + 1, dtype=np.int32 if flags.size < 2**31 else np.int64
    )
    np.cumsum(flags, out=out[1:])
    return out


def per_time_counts(upto: NDArray[np.integer[Any]], start: IntArray) -> FloatArray:
    """Flags per distinct time from their :func:`prefix_counts` ``upto`` and each time's first position."""
    at = upto[start]
    out = np.empty(start.size)
    np.subtract(at[1:], at[:-1], out=out[:-1])
    out[-1:] = upto[-1] - at[-1:]
    return out


def merge_near_ties(time: FloatArray, tolerance: float = TIMEFIX_TOLERANCE) -> FloatArray:
    """Times with near ties replaced by the first time of their run (R's ``aeqSurv``).

    ``time`` must already be validated (:func:`survival_arrays`); returns ``time`` itself when
    nothing is merged, after one ``np.sort``. When something is merged, an ``argsort`` maps each
    subject's sorted position back: looking every time up among the distinct times instead (a
    binary search each) took 225 ms at 1e6 continuous times with 8,000 near ties, this 37 ms.
    """
    ordered = np.sort(time)
    new = first_of_runs(ordered)
    distinct = ordered[new]
    starts = run_starts(distinct, tolerance)
    if starts is None:
        return time
    first_of_run = distinct[starts][np.cumsum(starts) - 1]  # per distinct time
    out = np.empty_like(time)
    out[np.argsort(time)] = first_of_run[np.cumsum(new) - 1]  # the argsort orders time as the sort did
    return out
