"""Unit conversion, plausibility, age, Cockcroft-Gault and PG-SGA calculators."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from trialdesk.domain.labs.units import (
    TESTS,
    UnitError,
    accepted_units,
    convert,
    fmt,
    normalise_unit,
    plausibility_problem,
    to_canonical,
)
from trialdesk.domain.measures import PgSgaComponents, age_in_years, cockcroft_gault, pg_sga_total


@pytest.mark.parametrize(
    ("test", "value", "unit", "canonical"),
    [
        ("hemoglobin", 9.5, "g/dL", 95.0),
        ("hemoglobin", 95, "g/L", 95.0),
        ("albumin", 3.4, "g/dL", 34.0),
        ("creatinine", 1.0, "mg/dL", 88.4),
        ("creatinine", 88.4, "µmol/L", 88.4),
        ("total_bilirubin", 1.0, "mg/dL", 17.1),
        ("total_bilirubin", 17.1, "umol/L", 17.1),
        ("wbc", 4200, "/uL", 4.2),
        ("wbc", 4.2, "x10^9/L", 4.2),
        ("platelets", 150, "10*3/uL", 150.0),
        ("platelets", 150, "10^9/L", 150.0),
        ("platelets", 150000, "cells/uL", 150.0),
        ("alt", 40, "IU/L", 40.0),
        ("lvef", 55, "%", 55.0),
    ],
)
def test_to_canonical(test: str, value: float, unit: str, canonical: float) -> None:
    assert to_canonical(test, value, unit) == pytest.approx(canonical)  # type: ignore[arg-type]


def test_convert_round_trip_between_conventional_and_si() -> None:
    assert convert("creatinine", 1.5, "mg/dL", "umol/L") == pytest.approx(132.6)
    assert convert("creatinine", 132.6, "umol/L", "mg/dL") == pytest.approx(1.5)
    assert convert("hemoglobin", 90, "g/L", "g/dL") == pytest.approx(9.0)


def test_normalise_unit_spellings() -> None:
    assert normalise_unit(" × 10^9/L ") == "10^9/L"
    assert normalise_unit("μmol/L") == "umol/L"
    assert normalise_unit("10⁹/L") == "10^9/L"
    assert normalise_unit("g/dl") == "g/dL"  # UCUM: 'l' and 'L' are both the litre


@pytest.mark.parametrize(
    ("test", "unit"),
    [("hemoglobin", "G/L"), ("creatinine", "MG/DL"), ("alt", "u/L"), ("albumin", "G/DL"), ("wbc", "10^9/I")],
)
def test_units_are_matched_case_sensitively_as_ucum_codes(test: str, unit: str) -> None:
    """Issue 10: UCUM codes are case-sensitive ("G/L" is gauss per litre, "u" the atomic mass unit),
    so a wrongly cased unit is refused, never read as the lab unit it resembles."""
    with pytest.raises(UnitError, match=f"unknown unit '{re.escape(unit)}'"):
        to_canonical(test, 1.0, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize(("test", "unit"), [("hemoglobin", "umol/L"), ("creatinine", "mg/L"), ("wbc", "g/L")])
def test_unknown_unit_names_test_and_unit(test: str, unit: str) -> None:
    with pytest.raises(UnitError, match=rf"unknown unit '{unit}' for {test}"):
        to_canonical(test, 1.0, unit)  # type: ignore[arg-type]


def test_plausibility_messages() -> None:
    assert plausibility_problem("hemoglobin", 95, "g/L") is None
    assert plausibility_problem("hemoglobin", 900, "g/dL") == (
        "hemoglobin 900 g/dL (9000 g/L) is implausible (plausible 10-250 g/L)"
    )
    assert plausibility_problem("platelets", -5, "10^9/L") == "platelets -5 10^9/L is negative"
    assert (
        plausibility_problem("creatinine", float("nan"), "umol/L")
        == "creatinine value nan is not a finite number"
    )


def test_fmt_hides_float_noise() -> None:
    assert fmt(1.7999999999999998) == "1.8"
    assert fmt(90.0) == "90"
    assert fmt(-0.00001) == "0"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        ("1960-05-14", "2026-05-13", 65),
        ("1960-05-14", "2026-05-14", 66),
        ("2000-02-29", "2026-02-28", 25),  # leap-day birthday: a year older on 1 March
        ("2000-02-29", "2026-03-01", 26),
        ("2000-02-29", "2028-02-29", 28),
    ],
)
def test_age_in_completed_years(birth: str, on: str, age: int) -> None:
    assert age_in_years(dt.date.fromisoformat(birth), dt.date.fromisoformat(on)) == age


def test_age_refuses_date_before_birth() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_in_years(dt.date(2000, 1, 2), dt.date(2000, 1, 1))


# clinical-reference.md 4.1 worked fixtures (the first two match superglobalcalculator.com)
@pytest.mark.parametrize(
    ("sex", "age", "weight", "creatinine", "unit", "expected"),
    [
        ("male", 65, 70, 1.4, "mg/dL", 52.1),
        ("female", 45, 60, 0.9, "mg/dL", 74.8),
        ("male", 60, 60, 80, "umol/L", 73.7),
        ("female", 70, 50, 100, "umol/L", 36.5),
    ],
)
def test_cockcroft_gault_matches_clinical_reference_fixtures(
    sex: str, age: int, weight: float, creatinine: float, unit: str, expected: float
) -> None:
    umol = to_canonical("creatinine", creatinine, unit)
    assert round(cockcroft_gault(age, weight, umol, sex), 1) == expected  # type: ignore[arg-type]


def test_cockcroft_gault_published_formula_and_female_factor() -> None:
    # (140 - 65) x 70 / (72 x 1.4) = 52.083 mL/min; a woman of the same age/weight/creatinine: x 0.85
    male = cockcroft_gault(65, 70, 1.4 * 88.4, "male")
    female = cockcroft_gault(65, 70, 1.4 * 88.4, "female")
    assert male == pytest.approx(75 * 70 / (72 * 1.4))
    assert female == pytest.approx(0.85 * male)
    # SI form (clinical-reference 4.1): (140 - age) x wt x 1.228 / SCr[umol/L] for men; 1.228 ~ 88.4/72
    assert cockcroft_gault(60, 60, 80, "male") == pytest.approx(80 * 60 * 1.228 / 80, rel=1e-3)


@pytest.mark.parametrize(
    ("age", "weight", "creatinine", "message"),
    [(140, 70, 80, "outside"), (50, 0, 80, "weight"), (50, 70, 0, "creatinine")],
)
def test_cockcroft_gault_refuses_impossible_inputs(
    age: float, weight: float, creatinine: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cockcroft_gault(age, weight, creatinine, "male")


def test_pg_sga_total_sums_boxes_and_worksheets() -> None:
    components = PgSgaComponents(box1=3, box2=2, box3=7, box4=2, worksheet2=1, worksheet3=2, worksheet4=3)
    assert pg_sga_total(components) == 20
    assert (
        pg_sga_total(
            PgSgaComponents(box1=0, box2=0, box3=0, box4=0, worksheet2=0, worksheet3=0, worksheet4=0)
        )
        == 0
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("box1", 6),
        ("box2", 5),
        ("box3", 25),
        ("box4", 4),
        ("worksheet2", 8),
        ("worksheet3", 10),
        ("worksheet4", 4),
        ("box1", -1),
    ],
)
def test_pg_sga_component_ranges_are_checked(name: str, value: int) -> None:
    values = {"box1": 0, "box2": 0, "box3": 0, "box4": 0, "worksheet2": 0, "worksheet3": 0, "worksheet4": 0}
    values[name] = value
    with pytest.raises(ValidationError, match=name):
        PgSgaComponents(**values)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    data=st.data(),
    value=st.floats(min_value=0.001, max_value=1e5, allow_nan=False, allow_infinity=False),
)
def test_every_accepted_unit_round_trips(data: st.DataObject, value: float) -> None:
    test = data.draw(st.sampled_from(sorted(TESTS)))
    unit = data.draw(st.sampled_from(accepted_units(test)))
    canonical = to_canonical(test, value, unit)
    assert convert(test, canonical, TESTS[test].canonical, unit) == pytest.approx(value, rel=1e-12)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    age=st.integers(min_value=18, max_value=110),
    weight=st.floats(min_value=30, max_value=200),
    creatinine=st.floats(min_value=20, max_value=1500),
)
def test_cockcroft_gault_properties(age: int, weight: float, creatinine: float) -> None:
    male = cockcroft_gault(age, weight, creatinine, "male")
    assert male > 0
    assert cockcroft_gault(age, weight, creatinine, "female") == pytest.approx(0.85 * male)
    assert cockcroft_gault(age, weight, creatinine * 2, "male") == pytest.approx(male / 2)
    assert cockcroft_gault(age + 1, weight, creatinine, "male") < male
