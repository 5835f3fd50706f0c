"""Laboratory units: canonical unit per test, conversions and plausibility ranges.

Every test has one *canonical* unit (SI, as the seed protocols write their thresholds): haemoglobin
and albumin in g/L, cell counts in 10^9/L, ALT/AST/ALP/GGT in U/L, bilirubin and creatinine in umol/L,
sodium, potassium, calcium and magnesium in mmol/L, LVEF in %. Results are compared in canonical
units; the original value and unit are kept for evidence.

The conversion table is written out by hand on purpose: the factors between mass and molar
concentration are substance-specific (creatinine 1 mg/dL = 88.4 umol/L, molar mass 113.12 g/mol;
total bilirubin 1 mg/dL = 17.1 umol/L, molar mass 584.66 g/mol), so a generic unit library cannot
derive them. Sources: clinical-reference.md section 4.1 (creatinine, 88.4) and the CTCAE v5.0 SI /
conventional tables (section 3.2). Calcium (40.078 g/mol: 1 mg/dL = 0.2495 mmol/L) and magnesium
(24.305 g/mol: 1 mg/dL = 0.4114 mmol/L) from their standard atomic weights (IUPAC); sodium and
potassium are monovalent, so mEq/L = mmol/L. Haemoglobin in mmol/L is the iron-based (monomer)
concentration used in the Netherlands and Scandinavia: 1 mmol/L = 16.1145 g/L (tetramer 64,458 g/mol
/ 4). CTCAE v5.0 writes its own mmol/L and mg/dL limits for Anemia, Hypo-/Hypercalcemia and
Hypomagnesemia, which are *not* exact conversions of the SI ones (Hb 100 g/L vs 6.2 mmol/L = 99.9 g/L):
the lab grading grades a value in such a unit against the CTCAE limits of that unit
(:mod:`trialdesk.domain.safety.ctcae`); this conversion is for eligibility and display.

``calcium_corrected`` is albumin-corrected total calcium *as reported by the laboratory*; trialdesk
applies no correction formula (neither protocol specifies one). ``calcium_ionized`` is ionized
(free) calcium, mmol/L only.

Plausibility ranges (canonical units) reject values that cannot be real measurements (a typing or
unit error): they are deliberately wide and are *not* clinical limits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from trialdesk.domain.labs.catalogue import LabTest


class UnitError(ValueError):
    """A unit that is not known for the given test."""


@dataclass(frozen=True)
class TestUnits:
    """Canonical unit, accepted units (factor to canonical) and plausible range of one test."""

    label: str
    canonical: str
    factors: dict[str, float]
    plausible: tuple[float, float]


_PER_UL = 1e-3  # 1 cell/uL = 10^6 cells/L = 0.001 x 10^9/L
_COUNTS = {
    "10^9/L": 1.0,
    "10*9/L": 1.0,
    "10e9/L": 1.0,
    "10^3/uL": 1.0,
    "10*3/uL": 1.0,
    "K/uL": 1.0,
    "/uL": _PER_UL,
    "cells/uL": _PER_UL,
    "{cells}/uL": _PER_UL,
    "/mm3": _PER_UL,
}

CREATININE_UMOL_PER_MG_DL = 88.4
"""Creatinine: umol/L per mg/dL (molar mass 113.12 g/mol)."""
BILIRUBIN_UMOL_PER_MG_DL = 17.1
"""Total bilirubin: umol/L per mg/dL (molar mass 584.66 g/mol)."""
HEMOGLOBIN_G_L_PER_MMOL_L = 16.1145
"""Haemoglobin: g/L per mmol/L (Hb(Fe) monomer, 64,458 g/mol / 4)."""
CALCIUM_MMOL_PER_MG_DL = 10 / 40.078
"""Calcium: mmol/L per mg/dL (atomic weight 40.078)."""
MAGNESIUM_MMOL_PER_MG_DL = 10 / 24.305
"""Magnesium: mmol/L per mg/dL (atomic weight 24.305)."""
_MONOVALENT = {"mmol/L": 1.0, "mEq/L": 1.0}
_ENZYME = {"U/L": 1.0, "IU/L": 1.0, "[IU]/L": 1.0}

TESTS: dict[LabTest, TestUnits] = {
    "hemoglobin": TestUnits(
        "Hb", "g/L", {"g/L": 1.0, "g/dL": 10.0, "mmol/L": HEMOGLOBIN_G_L_PER_MMOL_L}, (10.0, 250.0)
    ),
    "wbc": TestUnits("WBC", "10^9/L", _COUNTS, (0.0, 500.0)),
    "anc": TestUnits("ANC", "10^9/L", _COUNTS, (0.0, 300.0)),
    "lymphocytes": TestUnits("lymphocytes", "10^9/L", _COUNTS, (0.0, 500.0)),
    "platelets": TestUnits("platelets", "10^9/L", _COUNTS, (0.0, 5000.0)),
    "albumin": TestUnits("albumin", "g/L", {"g/L": 1.0, "g/dL": 10.0}, (5.0, 80.0)),
    "alt": TestUnits("ALT", "U/L", _ENZYME, (0.0, 20000.0)),
    "ast": TestUnits("AST", "U/L", _ENZYME, (0.0, 20000.0)),
    "total_bilirubin": TestUnits(
        "total bilirubin",
        "umol/L",
        {"umol/L": 1.0, "mg/dL": BILIRUBIN_UMOL_PER_MG_DL},
        (0.0, 1000.0),
    ),
    "creatinine": TestUnits(
        "creatinine",
        "umol/L",
        {"umol/L": 1.0, "mg/dL": CREATININE_UMOL_PER_MG_DL},
        (5.0, 3000.0),
    ),
    "lvef": TestUnits("LVEF", "%", {"%": 1.0}, (5.0, 95.0)),
    "sodium": TestUnits("sodium", "mmol/L", _MONOVALENT, (80.0, 220.0)),
    "potassium": TestUnits("potassium", "mmol/L", _MONOVALENT, (0.5, 15.0)),
    "calcium_corrected": TestUnits(
        "corrected calcium", "mmol/L", {"mmol/L": 1.0, "mg/dL": CALCIUM_MMOL_PER_MG_DL}, (0.5, 6.0)
    ),
    "calcium_ionized": TestUnits("ionized calcium", "mmol/L", {"mmol/L": 1.0}, (0.2, 4.0)),
    "magnesium": TestUnits(
        "magnesium", "mmol/L", {"mmol/L": 1.0, "mg/dL": MAGNESIUM_MMOL_PER_MG_DL}, (0.05, 6.0)
    ),
    "alp": TestUnits("ALP", "U/L", _ENZYME, (0.0, 20000.0)),
    "ggt": TestUnits("GGT", "U/L", _ENZYME, (0.0, 20000.0)),
}
"""Per test: label, canonical unit, accepted units with their factor to canonical, plausible range."""


@lru_cache(maxsize=1024)
def normalise_unit(unit: str) -> str:
    """The key of a unit, matched CASE-SENSITIVELY as UCUM codes are ("G/L" is not g/L, "u/L" is not
    U/L): micro sign to ``u``, no spaces, no leading ``x`` before a power of ten, superscripts written
    out, and the litre written ``L`` (UCUM accepts ``l`` and ``L`` for the litre alike).

    ``"x10^9/L"``, ``"× 10^9/L"`` and ``"10^9/l"`` all map to ``"10^9/L"``; ``"µmol/l"`` to ``"umol/L"``.
    Cached (a pure function of the spelling; a lab history repeats a handful of spellings; bounded).
    """
    key = unit.strip().replace("µ", "u").replace("μ", "u").replace(" ", "")
    for prefix in ("x", "×", "*"):
        if key.startswith(prefix + "10"):
            key = key[len(prefix) :]
    key = key.replace("⁹", "^9").replace("³", "^3")
    return re.sub(r"/([dmu]?)l$", r"/\1L", key)


def accepted_units(test: LabTest) -> list[str]:
    """The unit spellings accepted for ``test`` (normalised keys)."""
    return sorted(TESTS[test].factors)


def to_canonical(test: LabTest, value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to the canonical unit of ``test``.

    Raises :class:`UnitError` naming the test and the unit when the unit is not known for the test.
    """
    spec = TESTS[test]
    factor = spec.factors.get(normalise_unit(unit))
    if factor is None:
        raise UnitError(
            f"unknown unit '{unit}' for {test} (accepted: {', '.join(accepted_units(test))}; "
            f"canonical {spec.canonical})"
        )
    return value * factor


def convert(test: LabTest, value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` of ``test`` between two accepted units."""
    canonical = to_canonical(test, value, from_unit)
    return canonical / to_canonical(test, 1.0, to_unit)


def canonical_unit(test: LabTest) -> str:
    """The canonical (comparison) unit of ``test``."""
    return TESTS[test].canonical


def test_label(test: LabTest) -> str:
    """Short human label of ``test`` (``Hb``, ``WBC``, ``ALT``...)."""
    return TESTS[test].label


def plausibility_problem(test: LabTest, value: float, unit: str) -> str | None:
    """Why ``value unit`` cannot be a real result of ``test``, or ``None`` when it is plausible.

    Example: ``hemoglobin 900 g/dL (9000 g/L) is implausible (plausible 10-250 g/L)``.
    """
    spec = TESTS[test]
    if not math.isfinite(value):
        return f"{test} value {value} is not a finite number"
    if value < 0:
        return f"{test} {fmt(value)} {unit} is negative"
    canonical = to_canonical(test, value, unit)
    low, high = spec.plausible
    if low <= canonical <= high:
        return None
    shown = f"{fmt(value)} {unit}"
    if normalise_unit(unit) != normalise_unit(spec.canonical):
        shown += f" ({fmt(canonical)} {spec.canonical})"
    return f"{test} {shown} is implausible (plausible {fmt(low)}-{fmt(high)} {spec.canonical})"


def fmt(value: float) -> str:
    """A number for evidence text: at most 4 decimals (hides float noise), no trailing zeros."""
    rounded = round(value, 4)
    text = f"{rounded:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
