"""Radiobiology of a fractionated course: biologically effective dose (BED) and the equivalent dose
in 2 Gy fractions (EQD2) by the linear-quadratic model (pure; no time correction).

* BED = n * d * (1 + d / (alpha/beta)), n fractions of d Gy;
* EQD2 = BED / (1 + 2 / (alpha/beta)).

Sources: Hall & Giaccia, *Radiobiology for the Radiologist*; Joiner & van der Kogel, *Basic Clinical
Radiobiology* (clinical-reference.md section 6.1). Conventional alpha/beta: 10 Gy for tumour and
early-responding tissue, 3 Gy for late-responding tissue. BEDs of courses given to the same tissue
add (mixed fractionations, e.g. seed 002's LDRT and CFRT), and so do their EQD2s at one alpha/beta.

Plausible ranges (a typing or unit error beyond them is refused, naming the field): 1-100 fractions,
more than 0 and at most 30 Gy per fraction (the largest single fractions of SBRT), alpha/beta more
than 0 and at most 50 Gy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trialdesk.domain.plausibility import ImplausibleValue

MAX_FRACTIONS = 100
MAX_DOSE_PER_FRACTION_GY = 30.0
MAX_ALPHA_BETA_GY = 50.0
ALPHA_BETA_TUMOUR_GY = 10.0
ALPHA_BETA_LATE_GY = 3.0


@dataclass(frozen=True)
class Course:
    """``fractions`` fractions of ``dose_per_fraction_gy`` Gy (validated on construction)."""

    fractions: int
    dose_per_fraction_gy: float

    def __post_init__(self) -> None:
        if isinstance(self.fractions, bool) or not isinstance(self.fractions, int):
            raise ImplausibleValue("fractions", f"{self.fractions!r} is not a whole number of fractions")
        if not 1 <= self.fractions <= MAX_FRACTIONS:
            raise ImplausibleValue("fractions", f"{self.fractions} is outside 1-{MAX_FRACTIONS}")
        d = self.dose_per_fraction_gy
        if not math.isfinite(d) or not 0 < d <= MAX_DOSE_PER_FRACTION_GY:
            raise ImplausibleValue(
                "dose_per_fraction_gy", f"{d} Gy is outside (0, {MAX_DOSE_PER_FRACTION_GY:g}] Gy per fraction"
            )

    @property
    def total_dose_gy(self) -> float:
        """Physical dose n * d (Gy)."""
        return self.fractions * self.dose_per_fraction_gy


def _check_alpha_beta(alpha_beta_gy: float) -> None:
    if not math.isfinite(alpha_beta_gy) or not 0 < alpha_beta_gy <= MAX_ALPHA_BETA_GY:
        raise ImplausibleValue("alpha_beta", f"{alpha_beta_gy} Gy is outside (0, {MAX_ALPHA_BETA_GY:g}] Gy")


def bed(course: Course, alpha_beta_gy: float = ALPHA_BETA_TUMOUR_GY) -> float:
    """Biologically effective dose (Gy) of one course: n d (1 + d / (alpha/beta))."""
    _check_alpha_beta(alpha_beta_gy)
    return course.total_dose_gy * (1.0 + course.dose_per_fraction_gy / alpha_beta_gy)


def eqd2(course: Course, alpha_beta_gy: float = ALPHA_BETA_TUMOUR_GY) -> float:
    """Equivalent dose in 2 Gy fractions (Gy): BED / (1 + 2 / (alpha/beta))."""
    return bed(course, alpha_beta_gy) / (1.0 + 2.0 / alpha_beta_gy)


@dataclass(frozen=True)
class DoseSummary:
    """Physical dose, BED and EQD2 (Gy) of one or more courses at one alpha/beta (Gy)."""

    alpha_beta_gy: float
    total_dose_gy: float
    bed_gy: float
    eqd2_gy: float


def summarise(courses: Sequence[Course], alpha_beta_gy: float = ALPHA_BETA_TUMOUR_GY) -> DoseSummary:
    """The summed physical dose, BED and EQD2 of ``courses`` (at least one) to the same tissue."""
    if not courses:
        raise ImplausibleValue("courses", "give at least one course")
    total_bed = sum(bed(c, alpha_beta_gy) for c in courses)
    return DoseSummary(
        alpha_beta_gy=alpha_beta_gy,
        total_dose_gy=sum(c.total_dose_gy for c in courses),
        bed_gy=total_bed,
        eqd2_gy=total_bed / (1.0 + 2.0 / alpha_beta_gy),
    )
