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
    whole_numbers = arr.dtype.kind == "f" and arr.size and np.abs(arr).max() < 2**53
    if whole_numbers and np.array_equal(arr, np.trunc(arr)):
        whole, whole_codes = _small_integer_codes(arr.astype(np.int64))  # labels such as 0.0 / 1.0
        return [float(level) for level in whole], whole_codes
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


def _small_integer_codes(arr: NDArray[Any]) -> tuple[list[Any], IntArray]:
    """Integer labels: levels by one ``np.bincount`` over ``value - min`` when the range is small."""
    low, high = int(arr.min()), int(arr.max())
    if high - low > 4 * arr.size + 1024:  # sparse labels: sort instead
        raw, inverse = np.unique(arr, return_inverse=True)
        return raw.tolist(), inverse.reshape(-1).astype(np.intp)
    offset = (arr - low).astype(np.intp)
    present = np.bincount(offset) > 0
    levels = (np.flatnonzero(present) + low).tolist()
    if present.all():  # every value between min and max occurs (0/1 arms): the offset is the code
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
    starts = _run_starts(distinct, tolerance)
    if starts is None:
        return distinct, np.arange(distinct.size, dtype=np.intp)
    index: IntArray = np.cumsum(starts, dtype=np.intp) - 1
    merged: FloatArray = distinct[starts]
    return merged, index


def _run_starts(distinct: FloatArray, tolerance: float) -> BoolArray | None:
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


@dataclass(frozen=True)
class TimeGrid:
    """Subjects sorted by time, and where each distinct time starts among them.

    ``order`` sorts the subjects by increasing time; ``start[g]`` is the first sorted position of
    distinct time ``times[g]`` (so ``n - start[g]`` subjects are at risk at ``times[g]``).
    """

    order: IntArray
    start: IntArray
    times: FloatArray
    n: int


def time_grid(time: FloatArray, *, timefix: bool) -> TimeGrid:
    """Sort validated times once and find their distinct values (one sort, no ``np.unique``).

    With ``timefix`` distinct times that differ only by rounding are merged as R's ``aeqSurv``
    (:func:`near_tie_groups`): a merged time is the first of its run.
    """
    order: IntArray = np.argsort(time)
    start, times = distinct_starts(time[order], timefix=timefix)
    return TimeGrid(order=order, start=start, times=times, n=int(time.size))


def distinct_starts(ordered: FloatArray, *, timefix: bool) -> tuple[IntArray, FloatArray]:
    """First position of each distinct value of sorted times, and the values (merged by ``timefix``)."""
    new = np.empty(ordered.size, dtype=np.bool_)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    start: IntArray = np.flatnonzero(new)
    times: FloatArray = ordered[start]
    first = _run_starts(times, TIMEFIX_TOLERANCE) if timefix else None
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


def merge_near_ties(time: FloatArray, tolerance: float = TIMEFIX_TOLERANCE) -> FloatArray:
    """Times with near ties replaced by the first time of their run (R's ``aeqSurv``).

    ``time`` must already be validated (:func:`survival_arrays`); returns ``time`` itself when
    nothing is merged (one ``np.sort``, no ``np.unique`` with its inverse).
    """
    ordered = np.sort(time)
    new = np.empty(ordered.size, dtype=np.bool_)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    distinct = ordered[new]
    starts = _run_starts(distinct, tolerance)
    if starts is None:
        return time
    first_of_run = distinct[starts][np.cumsum(starts) - 1]
    out: FloatArray = first_of_run[np.searchsorted(distinct, time)]
    return out
