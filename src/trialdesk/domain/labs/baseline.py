"""Baseline selection: which stored result of a test is the baseline of a later result.

The baseline of a result is the latest result of the same test flagged ``is_baseline``, collected on
or before the result's own date (same date: the higher id, i.e. the later entered), other than the
result itself. CTCAE lab grading grades a result against it (value and the baseline sample's own
ULN, :mod:`trialdesk.domain.safety.ctcae`). Works on anything shaped like a stored result
(:class:`StoredResult`), so the lab service passes its rows without copying them.

:func:`baseline_of` answers for one result by scanning all results (O(n) per result, O(n^2) for a
subject's whole history); :class:`BaselineIndex` gives the same answer for many results after one
sort of the baselines (O(n log n) to build, O(log n) per look-up by binary search on the date), which
the lab service uses to grade a subject's results in one pass (issue 15: 100,000 results in seconds).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar


class StoredResult(Protocol):
    """What the baseline rule reads of a stored result."""

    @property
    def id(self) -> int: ...

    @property
    def test(self) -> str: ...

    @property
    def collected_date(self) -> dt.date: ...

    @property
    def is_baseline(self) -> bool: ...


R = TypeVar("R", bound=StoredResult)


def baseline_of(results: Iterable[R], result: StoredResult) -> R | None:
    """The baseline of ``result`` among ``results`` (the subject's results), or ``None``."""
    candidates = [
        r
        for r in results
        if r.is_baseline
        and r.test == result.test
        and r.collected_date <= result.collected_date
        and r.id != result.id
    ]
    return max(candidates, key=lambda r: (r.collected_date, r.id), default=None)


class BaselineIndex(Generic[R]):
    """The baselines of a subject's results, sorted once per test, answering :func:`baseline_of` for
    any result in O(log n).

    Same rule as :func:`baseline_of`: the latest ``is_baseline`` result of the same test collected on
    or before the result's date (same date: the higher id), never the result itself.
    """

    def __init__(self, results: Iterable[R]) -> None:
        by_test: dict[str, list[R]] = defaultdict(list)
        for result in results:
            if result.is_baseline:
                by_test[result.test].append(result)
        self._baselines: dict[str, list[R]] = {}
        self._dates: dict[str, list[dt.date]] = {}
        for test, rows in by_test.items():
            rows.sort(key=lambda r: (r.collected_date, r.id))
            self._baselines[test] = rows
            self._dates[test] = [r.collected_date for r in rows]

    def baseline_of(self, result: StoredResult) -> R | None:
        """The baseline of ``result`` (``None`` when it has none)."""
        rows = self._baselines.get(result.test)
        if not rows:
            return None
        position = bisect.bisect_right(self._dates[result.test], result.collected_date) - 1
        if position >= 0 and rows[position].id == result.id:  # never itself: the one before
            position -= 1
        return rows[position] if position >= 0 else None
