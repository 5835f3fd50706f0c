"""The trial clock: the time stamped on clinical records (enrolment, randomization, assessments,
signatures) and used to refuse dates in the future.

It is the system's UTC clock. Only demonstrations and tests may pin it to a simulated moment (the
synthetic demo trial runs months of follow-up through the API in seconds). The audit trail never
uses this clock: its timestamps are always the real time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_pinned: list[dt.datetime] = []
"""Process-wide pin stack (not a context variable: the in-process API client serves requests on
another thread, which must see the same simulated time)."""


def now() -> dt.datetime:
    """The current trial time (timezone-aware UTC)."""
    return _pinned[-1] if _pinned else dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The current trial date (UTC)."""
    return now().date()


@contextmanager
def pinned_at(moment: dt.datetime) -> Iterator[None]:
    """Run the block with the trial clock pinned at ``moment`` (demonstrations and tests only)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    _pinned.append(moment)
    try:
        yield
    finally:
        _pinned.pop()
