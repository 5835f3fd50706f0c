"""BED and EQD2 (linear-quadratic model) against the published schedules of clinical-reference.md
section 6.2 (esophageal cancer schedules; BED = n d (1 + d/(a/b)), EQD2 = BED / (1 + 2/(a/b)))."""

from __future__ import annotations

import pytest

from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.radiobiology import Course, bed, eqd2, summarise

# (fractions, dose per fraction Gy, BED10, EQD2(10), BED3, EQD2(3)) as tabulated, rounded as printed.
SCHEDULES = [
    (5, 4.0, 28.0, 23.3, 46.7, 28.0),  # 20 Gy / 5 fx, short-course palliative
    (5, 5.0, 37.5, 31.25, 66.7, 40.0),  # 25 Gy / 5 fx, hypofractionated (seed 000's SHFRT class)
    (10, 3.0, 39.0, 32.5, 60.0, 36.0),  # 30 Gy / 10 fx
    (13, 3.0, 50.7, 42.25, 78.0, 46.8),  # 39 Gy / 13 fx
    (3, 8.0, 43.2, 36.0, 88.0, 52.8),  # 24 Gy / 3 fx
    (1, 8.0, 14.4, 12.0, 29.3, 17.6),  # 8 Gy single fraction
    (28, 1.8, 59.5, 49.6, 80.6, 48.4),  # 50.4 Gy / 28 fx, definitive CRT
    (25, 2.0, 60.0, 50.0, 83.3, 50.0),  # 50 Gy / 25 fx, CFRT (seed 002)
    (30, 2.0, 72.0, 60.0, 100.0, 60.0),  # 60 Gy / 30 fx
    (1, 2.0, 2.4, 2.0, 3.3, 2.0),  # LDRT single 2 Gy
    (4, 1.0, 4.4, 3.67, 5.33, 3.2),  # LDRT 4 x 1 Gy (seed 002 default)
    (2, 2.0, 4.8, 4.0, 6.67, 4.0),  # LDRT 2 x 2 Gy
    (10, 0.5, 5.25, 4.38, 5.83, 3.5),  # LDRT 10 x 0.5 Gy
]


@pytest.mark.parametrize(("n", "d", "bed10", "eqd2_10", "bed3", "eqd2_3"), SCHEDULES)
def test_bed_and_eqd2_match_the_published_schedule_table(
    n: int, d: float, bed10: float, eqd2_10: float, bed3: float, eqd2_3: float
) -> None:
    course = Course(n, d)
    assert bed(course, 10) == pytest.approx(bed10, abs=0.051)
    assert eqd2(course, 10) == pytest.approx(eqd2_10, abs=0.051)
    assert bed(course, 3) == pytest.approx(bed3, abs=0.051)
    assert eqd2(course, 3) == pytest.approx(eqd2_3, abs=0.051)


def test_two_gray_fractions_are_their_own_eqd2_at_any_alpha_beta() -> None:
    for alpha_beta in (1.5, 3.0, 10.0):
        assert eqd2(Course(25, 2.0), alpha_beta) == pytest.approx(50.0)


def test_mixed_fractionations_add_their_bed() -> None:
    """Seed 002's defaults: LDRT 4 x 1 Gy (BED10 4.4) + CFRT 25 x 2 Gy (BED10 60) = BED10 64.4 Gy."""
    summary = summarise([Course(4, 1.0), Course(25, 2.0)], 10)
    assert (summary.total_dose_gy, summary.bed_gy) == (pytest.approx(54.0), pytest.approx(64.4))
    assert summary.eqd2_gy == pytest.approx(64.4 / 1.2)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Course(0, 2.0), "fractions"),
        (lambda: Course(101, 2.0), "fractions"),
        (lambda: Course(5, 0.0), "dose_per_fraction_gy"),
        (lambda: Course(5, 31.0), "dose_per_fraction_gy"),
        (lambda: Course(5, float("nan")), "dose_per_fraction_gy"),
        (lambda: bed(Course(5, 5.0), 0.0), "alpha_beta"),
        (lambda: summarise([], 10), "courses"),
    ],
)
def test_implausible_inputs_are_refused_naming_the_field(make: object, field: str) -> None:
    with pytest.raises(ImplausibleValue) as refused:
        make()  # type: ignore[operator]
    assert refused.value.field == field
