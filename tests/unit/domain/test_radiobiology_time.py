"""Time-corrected BED (Fowler JF, Br J Radiol 1989;62:679-694):
BED_T = n d (1 + d/(a/b)) - ln 2 (T - Tk) / (alpha Tpot) for T > Tk, T in days from first to last
fraction; parameters alpha 0.3 Gy^-1, Tk 21 days, Tpot 3 days (Fowler's squamous-carcinoma values).

The outside anchors: the formula and its parameters (Fowler 1989), the repopulation rate measured
clinically for squamous carcinoma (Withers HR, Taylor JMG, Maciejewski B, Acta Oncol 1988;27:131-146:
about 0.6 Gy per day in 2 Gy-fraction equivalents once repopulation has kicked off), and the
uncorrected BEDs of clinical-reference.md section 6.2. The worked examples below apply the published
formula and parameters to textbook schedules and show their arithmetic step by step; the papers'
own printed tables could not be retrieved here, so the numbers are checkable by hand rather than
copied from a table (a reviewer with the papers should compare).
"""

from __future__ import annotations

import math

import pytest

from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.radiobiology import (
    FOWLER_SQUAMOUS,
    Course,
    TimeFactor,
    bed,
    time_corrected,
)


def test_bed_lost_per_day_is_ln2_over_alpha_tpot() -> None:
    """ln 2 / (0.3 Gy^-1 x 3 days) = 0.693147 / 0.9 = 0.770 Gy BED per day beyond Tk."""
    assert FOWLER_SQUAMOUS.bed_lost_per_day_gy == pytest.approx(0.770164, abs=1e-6)


def test_daily_loss_agrees_with_the_clinically_measured_repopulation_rate() -> None:
    """Withers 1988: ~0.6 Gy/day (EQD2) recovered by repopulating head and neck squamous carcinoma.
    Fowler's parameters give 0.770 / (1 + 2/10) = 0.642 Gy/day EQD2(10): within 0.1 Gy/day of it."""
    eqd2_per_day = FOWLER_SQUAMOUS.bed_lost_per_day_gy / (1 + 2 / 10)
    assert eqd2_per_day == pytest.approx(0.6, abs=0.1)


def test_worked_example_70_gy_in_35_fractions_over_7_weeks() -> None:
    """70 Gy / 35 x 2 Gy Monday-Friday from a Monday: T = 46 days (first to last fraction).
    BED10 = 70 x 1.2 = 84 Gy; repopulation = 0.693147 x (46 - 21) / 0.9 = 19.254 Gy;
    BED_T = 64.746 Gy; EQD2_T = 64.746 / 1.2 = 53.955 Gy.
    With Tk 28 days (Withers 1988's onset): 0.693147 x 18 / 0.9 = 13.863 Gy, BED_T = 70.137 Gy."""
    uncorrected = bed(Course(35, 2.0), 10)
    result = time_corrected(uncorrected, 10, 46)
    assert uncorrected == pytest.approx(84.0)
    assert result.repopulation_gy == pytest.approx(19.254, abs=1e-3)
    assert result.bed_gy == pytest.approx(64.746, abs=1e-3)
    assert result.eqd2_gy == pytest.approx(53.955, abs=1e-3)
    later_kickoff = time_corrected(uncorrected, 10, 46, TimeFactor(0.3, 28, 3))
    assert later_kickoff.bed_gy == pytest.approx(70.137, abs=1e-3)


def test_worked_example_an_unscheduled_gap_costs_its_days_of_repopulation() -> None:
    """The RCR's reasoning for unscheduled interruptions ("The timely delivery of radical radiotherapy",
    Royal College of Radiologists, 4th ed. 2019): beyond Tk, every day the course is prolonged loses
    the BED repopulation takes back. 66 Gy / 33 x 2 Gy, planned T = 45 days: BED10 79.2 Gy,
    BED_T = 79.2 - 0.770164 x 24 = 60.716 Gy; the same fractions after a one-week gap (T = 52 days):
    60.716 - 7 x 0.770164 = 55.325 Gy, 5.391 Gy lost (4.493 Gy EQD2)."""
    planned = time_corrected(bed(Course(33, 2.0), 10), 10, 45)
    delayed = time_corrected(bed(Course(33, 2.0), 10), 10, 52)
    assert planned.bed_gy == pytest.approx(60.716, abs=1e-3)
    assert delayed.bed_gy == pytest.approx(55.325, abs=1e-3)
    assert planned.eqd2_gy - delayed.eqd2_gy == pytest.approx(4.493, abs=1e-3)


@pytest.mark.parametrize("days", [0, 4, 20.5, 21])
def test_no_correction_up_to_the_kickoff(days: float) -> None:
    """Short courses (seed 000's 5 x 5 Gy in one week, T = 4 days) are unchanged: 37.5 Gy."""
    result = time_corrected(37.5, 10, days)
    assert (result.repopulation_gy, result.bed_gy) == (0.0, 37.5)
    assert result.eqd2_gy == pytest.approx(31.25)


def test_seed_002_cfrt_50_gy_in_25_fractions() -> None:
    """CFRT 25 x 2 Gy from a Monday: T = 32 days; BED10 60 - 0.770164 x 11 = 51.528 Gy."""
    assert time_corrected(60.0, 10, 32).bed_gy == pytest.approx(51.528, abs=1e-3)


@pytest.mark.parametrize("alpha_beta", [3.0, 2.0, 1.5])
def test_never_applied_to_late_effects(alpha_beta: float) -> None:
    with pytest.raises(ImplausibleValue) as refused:
        time_corrected(100.0, alpha_beta, 46)
    assert refused.value.field == "alpha_beta"
    assert "late effects" in refused.value.reason


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: TimeFactor(0.0, 21, 3), "alpha"),
        (lambda: TimeFactor(-0.3, 21, 3), "alpha"),
        (lambda: TimeFactor(1.5, 21, 3), "alpha"),
        (lambda: TimeFactor(math.nan, 21, 3), "alpha"),
        (lambda: TimeFactor(0.3, -1, 3), "tk"),
        (lambda: TimeFactor(0.3, 91, 3), "tk"),
        (lambda: TimeFactor(0.3, 21, 0), "tpot"),
        (lambda: TimeFactor(0.3, 21, 101), "tpot"),
        (lambda: TimeFactor(0.3, 21, math.inf), "tpot"),
        (lambda: time_corrected(84.0, 10, -1), "overall_time_days"),
        (lambda: time_corrected(84.0, 10, 366), "overall_time_days"),
        (lambda: time_corrected(84.0, 0, 46), "alpha_beta"),
    ],
)
def test_implausible_parameters_are_refused_naming_the_field(make: object, field: str) -> None:
    with pytest.raises(ImplausibleValue) as refused:
        make()  # type: ignore[operator]
    assert refused.value.field == field
