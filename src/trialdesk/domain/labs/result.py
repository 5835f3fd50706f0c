"""The one lab-result value type and the validity window.

:class:`LabResult` is a laboratory (or LVEF) result as the patient record carries it (the
``labs`` of the trialdesk patient JSON format; its JSON Schema is generated from this class, see
:mod:`trialdesk.domain.eligibility.patient`). The stored row with its canonical copies and baseline
flag is the storage adapter's ``LabResultRow``.

The validity window: a result speaks for the patient's state at a date when it was collected on or
before that date and at most the protocol's ``lab_validity_days`` before it. Among results of one
test the most recent one on or before the date counts; results of the same day: the last one listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import Field

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.labs.catalogue import LabTest


class LabResult(FrozenModel):
    """One laboratory (or LVEF) result.

    ``uln``/``lln`` are the reporting laboratory's own reference limits, in the same unit as
    ``value``; ULN-relative criteria use ``uln``.
    """

    test: LabTest
    value: float
    unit: str = Field(
        min_length=1, description="Unit as reported, e.g. g/L, g/dL, umol/L, mg/dL, 10^9/L, /uL"
    )
    date: dt.date
    uln: float | None = Field(default=None, gt=0, description="Upper limit of normal, unit of value")
    lln: float | None = Field(default=None, ge=0, description="Lower limit of normal, unit of value")


def latest_result(labs: Iterable[LabResult], test: LabTest, on: dt.date) -> LabResult | None:
    """The most recent ``test`` result collected on or before ``on`` (same day: the last listed),
    whatever its age; ``None`` when there is none."""
    candidates = [lab for lab in labs if lab.test == test and lab.date <= on]
    return max(reversed(candidates), key=lambda lab: lab.date, default=None)


def age_in_days(collected: dt.date, on: dt.date) -> int:
    """Days from collection (or scoring) to ``on``."""
    return (on - collected).days


def within_validity(collected: dt.date, on: dt.date, validity_days: int) -> bool:
    """Whether data collected on ``collected`` are still current at ``on``: at most
    ``validity_days`` old (the protocol's ``lab_validity_days``, also the PG-SGA screening window)."""
    return age_in_days(collected, on) <= validity_days
