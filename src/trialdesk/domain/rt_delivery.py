"""Radiotherapy delivered: per course, the fractions given, the dose, the overall treatment time, BED
and EQD2 of what was delivered, and the deviation class (pure).

* Delivered BED/EQD2 sum the BED of each fraction (n d (1 + d / (alpha/beta)) over fractions of
  possibly different doses; :mod:`trialdesk.domain.radiobiology`).
* Overall treatment time (OTT): days from the first to the last fraction, both included. The planned
  OTT gives one fraction each weekday (Monday to Friday) from the first fraction's date: 5 fractions
  started on a Monday take 5 days, started on a Wednesday 7; 25 from a Monday take 33.
* When the protocol enables it (``rt_quality.time_correction``), the delivered BED10 and EQD2(10) are
  also reported corrected for repopulation over the delivered overall time
  (:func:`trialdesk.domain.radiobiology.time_corrected`, Fowler 1989), T counted as the days elapsed
  from the first to the last fraction, i.e. the OTT above minus one (25 fractions from a Monday:
  OTT 33 days, T 32 days). They stand beside the uncorrected values; the classification uses neither.
* Deviation classes follow the usual radiotherapy quality-assurance grading (RTOG/EORTC QA: per
  protocol, minor or major deviation) with the protocol's thresholds
  (:class:`trialdesk.domain.protocol.model.RtQuality`): the delivered total dose's relative
  difference from the prescription, and the prolongation of the OTT in days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from trialdesk.domain.radiobiology import (
    ALPHA_BETA_LATE_GY,
    ALPHA_BETA_TUMOUR_GY,
    Course,
    TimeFactor,
    bed,
    time_corrected,
)

A_MONDAY = dt.date(2024, 1, 1)
"""Where a course's planned time is counted from before its first fraction is given."""
DeviationClass = Literal["per_protocol", "minor", "major", "not_assessable"]


@dataclass(frozen=True)
class DeliveredFraction:
    """One fraction given on ``date``: ``dose_gy`` (Gy) to ``target``."""

    date: dt.date
    dose_gy: float
    target: str = "primary"


@dataclass(frozen=True)
class QualityThresholds:
    """Relative dose deviation (fraction of the prescribed total) and OTT prolongation (days) above
    which a course is a minor, then a major, deviation."""

    dose_minor: float = 0.05
    dose_major: float = 0.10
    prolongation_minor_days: int = 5
    prolongation_major_days: int = 10


@dataclass(frozen=True)
class CourseDelivery:
    """What one RT course delivered against its prescription."""

    prescribed_fractions: int
    prescribed_dose_gy: float
    fractions: int
    dose_gy: float
    first: dt.date | None
    last: dt.date | None
    overall_time_days: int | None
    planned_time_days: int
    prolongation_days: int | None
    dose_deviation: float
    bed10_gy: float
    eqd2_10_gy: float
    bed3_gy: float
    classification: DeviationClass
    bed10_time_corrected_gy: float | None = None
    """Delivered BED10 corrected for repopulation (protocol's time correction on, a fraction given)."""
    eqd2_10_time_corrected_gy: float | None = None


def planned_overall_time(fractions: int, start: dt.date) -> int:
    """Days from the first to the last of ``fractions`` fractions given one per weekday from ``start``
    (a weekend start begins on the Monday after; the days count from ``start``)."""
    if fractions < 1:
        return 0
    day, given = start, 0
    while True:
        if day.weekday() < 5:
            given += 1
            if given == fractions:
                return (day - start).days + 1
        day += dt.timedelta(days=1)


def delivered_bed(fractions: Sequence[DeliveredFraction], alpha_beta_gy: float) -> float:
    """The BED (Gy) of the fractions delivered, each with its own dose (LQ model, no time factor)."""
    return sum(bed(Course(1, f.dose_gy), alpha_beta_gy) for f in fractions if f.dose_gy > 0)


def classify(deviation: float, prolongation: int | None, limits: QualityThresholds) -> DeviationClass:
    """Per protocol, minor or major deviation: the worse of the dose and the time criteria."""
    if prolongation is None:
        return "not_assessable"
    dose = abs(deviation)
    if dose > limits.dose_major or prolongation > limits.prolongation_major_days:
        return "major"
    if dose > limits.dose_minor or prolongation > limits.prolongation_minor_days:
        return "minor"
    return "per_protocol"


def _time_corrected(
    bed10: float, first: dt.date | None, last: dt.date | None, factor: TimeFactor | None
) -> tuple[float | None, float | None]:
    """(BED10, EQD2(10)) corrected for repopulation from ``first`` to ``last``, or (None, None)."""
    if factor is None or first is None or last is None:
        return None, None
    corrected = time_corrected(bed10, ALPHA_BETA_TUMOUR_GY, (last - first).days, factor)
    return corrected.bed_gy, corrected.eqd2_gy


def summarise_course(
    prescribed: Course,
    fractions: Sequence[DeliveredFraction],
    limits: QualityThresholds,
    *,
    completed: bool,
    time_factor: TimeFactor | None = None,
) -> CourseDelivery:
    """The delivery of one course; its classification is assessed once the course is over
    (``completed``: all fractions given or the course stopped), else ``not_assessable``. With a
    ``time_factor`` the delivered BED10/EQD2(10) are also given corrected for repopulation."""
    given = sorted((f for f in fractions if f.dose_gy > 0), key=lambda f: f.date)
    dose = sum(f.dose_gy for f in given)
    first, last = (given[0].date, given[-1].date) if given else (None, None)
    ott = (last - first).days + 1 if first and last else None
    prolongation = max(0, ott - planned_overall_time(len(given), first)) if ott and first else None
    deviation = (dose - prescribed.total_dose_gy) / prescribed.total_dose_gy
    bed10 = delivered_bed(given, ALPHA_BETA_TUMOUR_GY)
    bed10_t, eqd2_10_t = _time_corrected(bed10, first, last, time_factor)
    return CourseDelivery(
        prescribed_fractions=prescribed.fractions,
        prescribed_dose_gy=prescribed.total_dose_gy,
        fractions=len(given),
        dose_gy=dose,
        first=first,
        last=last,
        overall_time_days=ott,
        planned_time_days=planned_overall_time(prescribed.fractions, first or A_MONDAY),
        prolongation_days=prolongation,
        dose_deviation=deviation,
        bed10_gy=bed10,
        eqd2_10_gy=bed10 / (1 + 2 / ALPHA_BETA_TUMOUR_GY),
        bed3_gy=delivered_bed(given, ALPHA_BETA_LATE_GY),
        classification=classify(deviation, prolongation or 0, limits) if completed else "not_assessable",
        bed10_time_corrected_gy=bed10_t,
        eqd2_10_time_corrected_gy=eqd2_10_t,
    )
