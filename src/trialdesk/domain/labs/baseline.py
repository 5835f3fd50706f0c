"""Baseline selection: which stored result of a test is the baseline of a later result.

The baseline of a result is the latest result of the same test flagged ``is_baseline``, collected on
or before the result's own date (same date: the higher id, i.e. the later entered), other than the
result itself. CTCAE lab grading grades a result against it (value and the baseline sample's own
ULN, :mod:`trialdesk.domain.safety.ctcae`). Works on anything shaped like a stored result
(:class:`StoredResult`), so the lab service passes its rows without copying them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol, TypeVar


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
