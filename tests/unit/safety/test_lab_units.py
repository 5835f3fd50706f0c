"""Units and LOINC codes of the tests added for CTCAE v5.0 electrolyte, ALP and GGT grading (issue 10).

Conversion factors from standard atomic weights (IUPAC: Ca 40.078, Mg 24.305) and the haemoglobin
monomer (64,458 g/mol / 4 = 16,114.5 g/mol); sodium and potassium are monovalent (mEq/L = mmol/L).
LOINC codes and names as published by Regenstrief (loinc.org).
"""

from __future__ import annotations

import pytest

from trialdesk.adapters import fhir_codes
from trialdesk.domain.labs.units import UnitError, canonical_unit, plausibility_problem, to_canonical


@pytest.mark.parametrize(
    ("test", "value", "unit", "expected"),
    [
        ("calcium_corrected", 10.0, "mg/dL", 2.495),  # 10 mg/dL / 40.078 g/mol
        ("calcium_corrected", 8.0, "mg/dL", 1.996),  # CTCAE Hypocalcemia G1 limit: not 2.0 mmol/L
        ("magnesium", 1.2, "mg/dL", 0.4937),  # CTCAE Hypomagnesemia G1 limit: not 0.5 mmol/L
        ("sodium", 140.0, "mEq/L", 140.0),
        ("potassium", 4.1, "mEq/L", 4.1),
        ("hemoglobin", 6.2, "mmol/L", 99.91),  # CTCAE Anemia "<6.2 mmol/L" ~ "<100 g/L", not equal
        ("alp", 120.0, "IU/L", 120.0),
        ("ggt", 60.0, "U/L", 60.0),
    ],
)
def test_conversion_to_the_canonical_unit(test: str, value: float, unit: str, expected: float) -> None:
    assert to_canonical(test, value, unit) == pytest.approx(expected, abs=5e-4)  # type: ignore[arg-type]


def test_canonical_units_of_the_new_tests() -> None:
    tests = ("sodium", "potassium", "calcium_corrected", "calcium_ionized", "magnesium", "alp", "ggt")
    assert [canonical_unit(t) for t in tests] == ["mmol/L"] * 5 + ["U/L"] * 2


def test_ionized_calcium_is_mmol_per_l_only_and_implausible_values_are_refused() -> None:
    with pytest.raises(UnitError, match="unknown unit 'mg/dL' for calcium_ionized"):
        to_canonical("calcium_ionized", 4.8, "mg/dL")
    assert plausibility_problem("sodium", 14.0, "mmol/L") == (
        "sodium 14 mmol/L is implausible (plausible 80-220 mmol/L)"
    )


def test_loinc_codes_of_the_new_tests() -> None:
    expected = {
        "59260-0": "hemoglobin",  # Hemoglobin [Moles/volume] in Blood
        "2951-2": "sodium",
        "2823-3": "potassium",
        "29265-6": "calcium_corrected",
        "1994-3": "calcium_ionized",
        "19123-9": "magnesium",
        "6768-6": "alp",
        "2324-2": "ggt",
    }
    assert {code: fhir_codes.LOINC_LABS[code] for code in expected} == expected
