"""Clinical calculators used by eligibility: age, Cockcroft-Gault creatinine clearance, PG-SGA total.

Pure functions, no I/O. Units are stated on every function; references:

* Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. Nephron
  1976;16:31-41 (clinical-reference.md section 4.1).
* Ottery FD. Scored Patient-Generated Subjective Global Assessment (PG-SGA), form v4.3.20
  (Pt-Global); clinical-reference.md section 4.2.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from trialdesk.domain.common import FrozenModel, Sex
from trialdesk.domain.labs.units import CREATININE_UMOL_PER_MG_DL

COCKCROFT_GAULT_FEMALE_FACTOR = 0.85
"""Cockcroft & Gault (1976): clearance in women is 85 % of the male estimate."""


def age_in_years(birth_date: date, on: date) -> int:
    """Age in completed years on the date ``on`` (a birthday counts from that day).

    A person born on 29 February becomes a year older on 1 March in non-leap years.
    Raises ``ValueError`` when ``on`` is before ``birth_date``.
    """
    if on < birth_date:
        raise ValueError(f"date {on} is before the birth date {birth_date}")
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def cockcroft_gault(age_years: float, weight_kg: float, creatinine_umol_l: float, sex: Sex) -> float:
    """Estimated creatinine clearance in mL/min (Cockcroft & Gault 1976), not normalised to BSA.

    ``CrCl = (140 - age) x weight / (72 x SCr[mg/dL])``, x 0.85 for women, with
    ``SCr[mg/dL] = SCr[umol/L] / 88.4``. Actual body weight is used (the protocols fix
    ``weight: actual``); serum creatinine is not rounded up.

    Parameters
    ----------
    age_years
        Age in years, 0 < age < 140.
    weight_kg
        Actual body weight in kg, > 0.
    creatinine_umol_l
        Serum creatinine in umol/L, > 0 (convert mg/dL with :func:`trialdesk.domain.labs.units.to_canonical`).
    sex
        ``"female"`` applies the 0.85 factor.
    """
    if not 0 < age_years < 140:
        raise ValueError(f"age {age_years} years is outside the formula's range (0-140)")
    if weight_kg <= 0:
        raise ValueError(f"weight {weight_kg} kg must be positive")
    if creatinine_umol_l <= 0:
        raise ValueError(f"creatinine {creatinine_umol_l} umol/L must be positive")
    creatinine_mg_dl = creatinine_umol_l / CREATININE_UMOL_PER_MG_DL
    clearance = (140.0 - age_years) * weight_kg / (72.0 * creatinine_mg_dl)
    if sex == "female":
        clearance *= COCKCROFT_GAULT_FEMALE_FACTOR
    return clearance


class PgSgaComponents(FrozenModel):
    """Scored PG-SGA component scores (Ottery; v4.3.20 form), each an integer with its form range.

    Boxes 1-4 are patient-completed (the PG-SGA Short Form); worksheets 2-4 are professional-completed.
    Worksheet 1 feeds box 1; worksheet 5 (global A/B/C category) does not enter the score.
    Ranges: box 1 weight 0-5; box 2 food intake 0-4; box 3 symptoms 0-24 (additive items);
    box 4 activities 0-3; worksheet 2 disease/age 0-7; worksheet 3 metabolic stress 0-9;
    worksheet 4 physical exam 0-3 (clinical-reference.md 4.2; the worksheet item lists are tagged
    unconfirmed there, so only the resulting ranges are checked).
    """

    box1: int = Field(ge=0, le=5, description="Box 1, weight history (0-5)")
    box2: int = Field(ge=0, le=4, description="Box 2, food intake (0-4)")
    box3: int = Field(ge=0, le=24, description="Box 3, symptoms (0-24, additive)")
    box4: int = Field(ge=0, le=3, description="Box 4, activities and function (0-3)")
    worksheet2: int = Field(ge=0, le=7, description="Worksheet 2, disease and its relation to needs (0-7)")
    worksheet3: int = Field(ge=0, le=9, description="Worksheet 3, metabolic demand (0-9)")
    worksheet4: int = Field(ge=0, le=3, description="Worksheet 4, physical exam (0-3)")


PG_SGA_MAX_TOTAL = 55
"""Highest possible PG-SGA total: 5 + 4 + 24 + 3 + 7 + 9 + 3."""


def pg_sga_total(components: PgSgaComponents) -> int:
    """Total PG-SGA score = boxes 1-4 + worksheets 2, 3 and 4 (Ottery; clinical-reference.md 4.2).

    A total of 9 or more is the "critical need" triage band (seed 002 exclusion).
    """
    c = components
    return c.box1 + c.box2 + c.box3 + c.box4 + c.worksheet2 + c.worksheet3 + c.worksheet4
