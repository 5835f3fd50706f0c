"""Planned doses from body size, dose deviations and relative dose intensity (pure arithmetic).

* Body-surface area by Mosteller (N Engl J Med 1987;317:1098): ``BSA (m2) = sqrt(height cm x weight kg
  / 3600)``.
* Creatinine clearance by Cockcroft-Gault (:func:`trialdesk.domain.measures.cockcroft_gault`), the
  GFR estimate of the Calvert formula.
* Carboplatin by Calvert (J Clin Oncol 1989;7:1748): ``dose (mg) = target AUC (mg/mL.min) x (GFR + 25)``,
  with the GFR capped at 125 mL/min as the US carboplatin label advises (maximum dose = AUC x 150 mg).
* Relative dose intensity (Hryniuk & Bush, J Clin Oncol 1984;2:1281): delivered dose per week over
  planned dose per week. Delivered time runs from the first dose to one cycle after the last dose.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from trialdesk.domain.common import Sex
from trialdesk.domain.measures import cockcroft_gault
from trialdesk.domain.plausibility import ImplausibleValue

DoseUnit = Literal["mg", "mg/kg", "mg/m2", "AUC"]
"""How a protocol states a dose: flat mg, per kg of body weight, per m2 of BSA, or a carboplatin AUC
(mg/mL.min)."""
GFR_CAP_ML_MIN = 125.0
DEFAULT_TOLERANCE = 0.10
"""A given dose more than 10% away from the planned dose needs a reason (protocol may change it)."""


def _check(field: str, value: float, low: float, high: float, unit: str) -> None:
    if not math.isfinite(value) or not low <= value <= high:
        raise ImplausibleValue(field, f"{value:g} {unit} is outside {low:g}-{high:g} {unit}")


@dataclass(frozen=True)
class BodySize:
    """Height (cm, 100-230), weight (kg, 25-250), age (years), sex, serum creatinine (umol/L, the
    canonical unit of the lab catalogue)."""

    height_cm: float
    weight_kg: float
    age_years: float | None = None
    sex: Sex | None = None
    creatinine_umol_l: float | None = None

    def __post_init__(self) -> None:
        _check("height_cm", self.height_cm, 100, 230, "cm")
        _check("weight_kg", self.weight_kg, 25, 250, "kg")
        if self.age_years is not None:
            _check("age_years", self.age_years, 18, 110, "years")
        if self.creatinine_umol_l is not None:
            _check("creatinine_umol_l", self.creatinine_umol_l, 10, 2000, "umol/L")


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Body-surface area in m2 (Mosteller 1987)."""
    BodySize(height_cm, weight_kg)
    return math.sqrt(height_cm * weight_kg / 3600.0)


def creatinine_clearance(body: BodySize) -> float:
    """Cockcroft-Gault creatinine clearance (mL/min), the GFR estimate of the Calvert formula."""
    if body.age_years is None or body.sex is None or body.creatinine_umol_l is None:
        raise ImplausibleValue("creatinine_umol_l", "Cockcroft-Gault needs age, sex and serum creatinine")
    return cockcroft_gault(body.age_years, body.weight_kg, body.creatinine_umol_l, body.sex)


def calvert_dose(target_auc: float, gfr_ml_min: float, cap: float = GFR_CAP_ML_MIN) -> float:
    """Carboplatin dose in mg for a target AUC (mg/mL.min): AUC x (min(GFR, cap) + 25)."""
    _check("target_auc", target_auc, 1, 10, "mg/mL.min")
    _check("gfr_ml_min", gfr_ml_min, 1, 300, "mL/min")
    return target_auc * (min(gfr_ml_min, cap) + 25.0)


def planned_dose_mg(dose: float, unit: DoseUnit, body: BodySize | None) -> float:
    """The planned dose of one administration in mg from the protocol's dose and the body size."""
    if unit == "mg":
        return dose
    if body is None:
        raise ImplausibleValue("body_size", f"a dose in {unit} needs the subject's height and weight")
    if unit == "mg/kg":
        return dose * body.weight_kg
    if unit == "mg/m2":
        return dose * bsa_mosteller(body.height_cm, body.weight_kg)
    return calvert_dose(dose, creatinine_clearance(body))


def dose_deviation(planned_mg: float, given_mg: float) -> float:
    """The given dose's relative deviation from the planned one (-1 = omitted, +0.1 = 10% over)."""
    if planned_mg <= 0:
        raise ImplausibleValue("planned_dose", "the planned dose must be positive")
    return (given_mg - planned_mg) / planned_mg


def needs_reason(planned_mg: float, given_mg: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether the given dose lies outside the tolerance around the planned dose (a reason is due)."""
    return abs(dose_deviation(planned_mg, given_mg)) > tolerance + 1e-12


@dataclass(frozen=True)
class Administration:
    """One dose given: the date, the dose given and the dose planned (mg)."""

    date: dt.date
    given_mg: float
    planned_mg: float


@dataclass(frozen=True)
class Exposure:
    """Exposure to one agent: cycles, cumulative dose (mg), weeks on treatment, dose intensities
    (mg/week) and the relative dose intensity (1.0 = as planned)."""

    cycles: int
    cumulative_mg: float
    weeks: float
    dose_intensity_mg_week: float
    planned_intensity_mg_week: float
    relative_dose_intensity: float


def exposure(administrations: Sequence[Administration], cycle_days: int) -> Exposure:
    """Exposure of one agent given every ``cycle_days`` (Hryniuk & Bush 1984 dose intensity)."""
    given = sorted((a for a in administrations if a.given_mg > 0), key=lambda a: a.date)
    if not given:
        return Exposure(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    weeks = ((given[-1].date - given[0].date).days + cycle_days) / 7.0
    cumulative = sum(a.given_mg for a in given)
    planned_per_cycle = sum(a.planned_mg for a in given) / len(given)
    planned_intensity = planned_per_cycle / (cycle_days / 7.0)
    intensity = cumulative / weeks
    return Exposure(
        len(given), cumulative, weeks, intensity, planned_intensity, intensity / planned_intensity
    )
