"""Radiotherapy delivered: overall treatment time on weekdays, delivered BED/EQD2 (LQ model,
clinical-reference 6.2 worked values) and the minor/major deviation classes."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.radiobiology import FOWLER_SQUAMOUS, Course
from trialdesk.domain.rt_delivery import (
    DeliveredFraction,
    QualityThresholds,
    classify,
    planned_overall_time,
    summarise_course,
)

MONDAY = dt.date(2026, 3, 2)
LIMITS = QualityThresholds()


def _weekdays(
    start: dt.date, count: int, dose: float, skip_days: int = 0, after: int = 0
) -> list[DeliveredFraction]:
    """``count`` fractions on weekdays from ``start``; after ``after`` fractions, ``skip_days`` off."""
    fractions: list[DeliveredFraction] = []
    day = start
    while len(fractions) < count:
        if len(fractions) == after and skip_days:
            day += dt.timedelta(days=skip_days)
            skip_days = 0
        if day.weekday() < 5:
            fractions.append(DeliveredFraction(day, dose))
        day += dt.timedelta(days=1)
    return fractions


def test_planned_overall_time_counts_weekdays() -> None:
    assert planned_overall_time(5, MONDAY) == 5
    assert planned_overall_time(5, MONDAY + dt.timedelta(days=2)) == 7  # Wednesday to Tuesday
    assert planned_overall_time(25, MONDAY) == 33  # 5 weeks
    assert planned_overall_time(1, MONDAY + dt.timedelta(days=5)) == 3  # Saturday start: Monday
    assert planned_overall_time(0, MONDAY) == 0


def test_conventional_course_delivered_as_prescribed() -> None:
    result = summarise_course(Course(25, 2.0), _weekdays(MONDAY, 25, 2.0), LIMITS, completed=True)
    assert (result.fractions, result.dose_gy, result.overall_time_days) == (25, 50.0, 33)
    assert result.bed10_gy == pytest.approx(60.0) and result.eqd2_10_gy == pytest.approx(50.0)
    assert result.bed3_gy == pytest.approx(50 * (1 + 2 / 3))
    assert result.classification == "per_protocol" and result.prolongation_days == 0


def test_short_course_5x5_worked_example() -> None:
    wednesday = MONDAY + dt.timedelta(days=2)
    result = summarise_course(Course(5, 5.0), _weekdays(wednesday, 5, 5.0), LIMITS, completed=True)
    assert result.bed10_gy == pytest.approx(37.5) and result.eqd2_10_gy == pytest.approx(31.25)
    assert result.overall_time_days == 7 and result.prolongation_days == 0


def test_stopped_early_and_interrupted_courses_are_deviations() -> None:
    stopped = summarise_course(Course(25, 2.0), _weekdays(MONDAY, 23, 2.0), LIMITS, completed=True)
    assert stopped.dose_deviation == pytest.approx(-0.08) and stopped.classification == "minor"
    short = summarise_course(Course(25, 2.0), _weekdays(MONDAY, 20, 2.0), LIMITS, completed=True)
    assert short.classification == "major"  # -20%
    gap = summarise_course(
        Course(25, 2.0), _weekdays(MONDAY, 25, 2.0, skip_days=14, after=10), LIMITS, completed=True
    )
    assert gap.prolongation_days == 14 and gap.classification == "major"
    ongoing = summarise_course(Course(25, 2.0), _weekdays(MONDAY, 10, 2.0), LIMITS, completed=False)
    assert ongoing.classification == "not_assessable" and ongoing.fractions == 10


@pytest.mark.parametrize(
    ("deviation", "prolongation", "expected"),
    [
        (0.0, 0, "per_protocol"),
        (0.05, 5, "per_protocol"),
        (0.06, 0, "minor"),
        (0.0, 6, "minor"),
        (-0.11, 0, "major"),
        (0.0, 11, "major"),
        (0.0, None, "not_assessable"),
    ],
)
def test_classification_boundaries(deviation: float, prolongation: int | None, expected: str) -> None:
    assert classify(deviation, prolongation, LIMITS) == expected


def test_time_corrected_bed_uses_the_delivered_overall_time() -> None:
    """Fowler 1989 (alpha 0.3 Gy^-1, Tk 21 d, Tpot 3 d; ln 2 / 0.9 = 0.770164 Gy BED per day beyond Tk).
    25 x 2 Gy from a Monday: OTT 33 days, T = 32 days elapsed: BED10 60 - 11 x 0.770164 = 51.528 Gy,
    EQD2 42.940 Gy. The same course with a 14-day gap: T = 46 days: 60 - 25 x 0.770164 = 40.746 Gy."""
    on_time = summarise_course(
        Course(25, 2.0), _weekdays(MONDAY, 25, 2.0), LIMITS, completed=True, time_factor=FOWLER_SQUAMOUS
    )
    assert on_time.bed10_gy == pytest.approx(60.0)
    assert on_time.bed10_time_corrected_gy == pytest.approx(51.528, abs=1e-3)
    assert on_time.eqd2_10_time_corrected_gy == pytest.approx(42.940, abs=1e-3)
    gap = summarise_course(
        Course(25, 2.0),
        _weekdays(MONDAY, 25, 2.0, skip_days=14, after=10),
        LIMITS,
        completed=True,
        time_factor=FOWLER_SQUAMOUS,
    )
    assert gap.overall_time_days == 47
    assert gap.bed10_time_corrected_gy == pytest.approx(40.746, abs=1e-3)


def test_no_time_corrected_values_when_off_or_nothing_given() -> None:
    off = summarise_course(Course(25, 2.0), _weekdays(MONDAY, 25, 2.0), LIMITS, completed=True)
    assert (off.bed10_time_corrected_gy, off.eqd2_10_time_corrected_gy) == (None, None)
    none_given = summarise_course(Course(25, 2.0), [], LIMITS, completed=False, time_factor=FOWLER_SQUAMOUS)
    assert none_given.bed10_time_corrected_gy is None
    short = summarise_course(
        Course(5, 5.0), _weekdays(MONDAY, 5, 5.0), LIMITS, completed=True, time_factor=FOWLER_SQUAMOUS
    )
    assert short.bed10_time_corrected_gy == pytest.approx(37.5)  # T = 4 days < Tk: unchanged
