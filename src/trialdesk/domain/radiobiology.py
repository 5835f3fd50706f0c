"""Radiobiology of a fractionated course: biologically effective dose (BED) and the equivalent dose
in 2 Gy fractions (EQD2) by the linear-quadratic model, optionally corrected for tumour repopulation
during the overall treatment time (pure).

* BED = n * d * (1 + d / (alpha/beta)), n fractions of d Gy;
* EQD2 = BED / (1 + 2 / (alpha/beta)).
* Time-corrected BED (Fowler JF, "The linear-quadratic formula and progress in fractionated
  radiotherapy", Br J Radiol 1989;62:679-694):
  BED_T = n d (1 + d / (alpha/beta)) - ln 2 * (T - Tk) / (alpha * Tpot) for T > Tk, and no
  correction for T <= Tk. T is the overall treatment time in days, counted as the days elapsed from
  the first to the last fraction (35 weekday fractions begun on a Monday: T = 46 days); Tk the
  kick-off time of accelerated repopulation (days); Tpot the potential doubling time of the
  clonogens (days); alpha the linear coefficient (Gy^-1). ln 2 / (alpha Tpot) is the BED lost per day
  beyond Tk (0.77 Gy/day with alpha 0.3 Gy^-1 and Tpot 3 days, about 0.64 Gy/day in EQD2 at
  alpha/beta 10, the ~0.6 Gy/day Withers, Taylor & Maciejewski measured for head and neck squamous
  carcinoma from about day 28: Acta Oncol 1988;27:131-146). Time-corrected EQD2 = BED_T / (1 + 2 /
  (alpha/beta)).
* The correction describes repopulating tumour (and early-responding) tissue: late-responding tissue
  (alpha/beta 3 Gy and below) does not repopulate during a course, so it is refused there.
* Default parameters (:data:`FOWLER_SQUAMOUS`): alpha 0.3 Gy^-1, Tk 21 days, Tpot 3 days, the values
  Fowler 1989 used for squamous carcinoma of the head and neck (the oesophagus is the same histology in
  ESCC); Tk is uncertain between 21 and 28 days (Withers 1988), which a protocol may set.

Sources: Hall & Giaccia, *Radiobiology for the Radiologist*; Joiner & van der Kogel, *Basic Clinical
Radiobiology* (clinical-reference.md section 6.1). Conventional alpha/beta: 10 Gy for tumour and
early-responding tissue, 3 Gy for late-responding tissue. BEDs of courses given to the same tissue
add (mixed fractionations, e.g. seed 002's LDRT and CFRT), and so do their EQD2s at one alpha/beta.

Plausible ranges (a typing or unit error beyond them is refused, naming the field): 1-100 fractions,
more than 0 and at most 30 Gy per fraction (the largest single fractions of SBRT), alpha/beta more
than 0 and at most 50 Gy; for the time correction alpha more than 0 and at most 1 Gy^-1 (published
clinical values are 0.1-0.5), Tk 0-90 days, Tpot more than 0 and at most 100 days (measured human
tumour Tpot are 2-25 days), T 0-365 days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trialdesk.domain.plausibility import ImplausibleValue

MAX_FRACTIONS = 100
MAX_DOSE_PER_FRACTION_GY = 30.0
MAX_ALPHA_BETA_GY = 50.0
MAX_ALPHA_PER_GY = 1.0
MAX_KICKOFF_DAYS = 90.0
MAX_TPOT_DAYS = 100.0
MAX_OVERALL_TIME_DAYS = 365
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


def _check_range(field: str, value: float, low: float, high: float, unit: str, *, open_low: bool) -> None:
    below = value <= low if open_low else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if open_low else "["
        raise ImplausibleValue(field, f"{value:g} {unit} is outside {bracket}{low:g}, {high:g}] {unit}")


@dataclass(frozen=True)
class TimeFactor:
    """Repopulation parameters of the time-corrected BED (validated on construction): ``alpha``
    (Gy^-1), ``tk_days`` (kick-off of accelerated repopulation) and ``tpot_days`` (potential doubling
    time)."""

    alpha: float
    tk_days: float
    tpot_days: float

    def __post_init__(self) -> None:
        _check_range("alpha", self.alpha, 0.0, MAX_ALPHA_PER_GY, "Gy^-1", open_low=True)
        _check_range("tk", self.tk_days, 0.0, MAX_KICKOFF_DAYS, "days", open_low=False)
        _check_range("tpot", self.tpot_days, 0.0, MAX_TPOT_DAYS, "days", open_low=True)

    @property
    def bed_lost_per_day_gy(self) -> float:
        """BED (Gy) repopulation takes back per day beyond Tk: ln 2 / (alpha Tpot)."""
        return math.log(2) / (self.alpha * self.tpot_days)

    def repopulation_gy(self, overall_time_days: float) -> float:
        """The BED (Gy) repopulation takes back over ``overall_time_days`` (0 up to Tk)."""
        _check_range(
            "overall_time_days", overall_time_days, 0.0, MAX_OVERALL_TIME_DAYS, "days", open_low=False
        )
        return max(0.0, overall_time_days - self.tk_days) * self.bed_lost_per_day_gy


FOWLER_SQUAMOUS = TimeFactor(alpha=0.3, tk_days=21.0, tpot_days=3.0)
"""Fowler 1989's squamous-carcinoma parameters: alpha 0.3 Gy^-1, Tk 21 days, Tpot 3 days."""


@dataclass(frozen=True)
class TimeCorrectedDose:
    """BED and EQD2 (Gy) at ``alpha_beta_gy`` corrected for repopulation over ``overall_time_days``."""

    alpha_beta_gy: float
    overall_time_days: float
    repopulation_gy: float
    bed_gy: float
    eqd2_gy: float


def time_corrected(
    bed_gy: float, alpha_beta_gy: float, overall_time_days: float, factor: TimeFactor = FOWLER_SQUAMOUS
) -> TimeCorrectedDose:
    """Correct an (uncorrected) BED for repopulation: BED - ln 2 (T - Tk) / (alpha Tpot) for T > Tk.

    Refused (naming ``alpha_beta``) for late-responding tissue, alpha/beta <= 3 Gy: late effects do not
    depend on overall time. The corrected BED may be below zero for absurdly protracted low doses; it is
    returned as computed (the formula's value), never clipped.
    """
    _check_alpha_beta(alpha_beta_gy)
    if alpha_beta_gy <= ALPHA_BETA_LATE_GY:
        raise ImplausibleValue(
            "alpha_beta",
            f"the time correction applies to tumour and early-responding tissue, not to late effects "
            f"(alpha/beta {alpha_beta_gy:g} Gy <= {ALPHA_BETA_LATE_GY:g} Gy)",
        )
    lost = factor.repopulation_gy(overall_time_days)
    corrected = bed_gy - lost
    return TimeCorrectedDose(
        alpha_beta_gy=alpha_beta_gy,
        overall_time_days=overall_time_days,
        repopulation_gy=lost,
        bed_gy=corrected,
        eqd2_gy=corrected / (1.0 + 2.0 / alpha_beta_gy),
    )
