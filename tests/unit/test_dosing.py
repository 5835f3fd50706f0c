"""Planned doses from body size and relative dose intensity, against published worked examples."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.dosing import (
    Administration,
    BodySize,
    bsa_mosteller,
    calvert_dose,
    creatinine_clearance,
    dose_deviation,
    exposure,
    needs_reason,
    planned_dose_mg,
)
from trialdesk.domain.labs.units import CREATININE_UMOL_PER_MG_DL
from trialdesk.domain.plausibility import ImplausibleValue


@pytest.mark.parametrize(
    ("height", "weight", "bsa"),
    [
        (180, 80, 2.0),  # sqrt(180 x 80 / 3600) = sqrt(4) exactly
        (170, 70, 1.818),  # Mosteller 1987 nomogram value
        (160, 50, 1.491),
        (152.4, 45.4, 1.386),  # 5 ft, 100 lb
    ],
)
def test_mosteller_bsa(height: float, weight: float, bsa: float) -> None:
    assert bsa_mosteller(height, weight) == pytest.approx(bsa, abs=5e-4)


def test_calvert_carboplatin_with_the_us_label_gfr_cap() -> None:
    # Paraplatin label: dose = AUC x (GFR + 25); FDA 2010: GFR capped at 125, max dose = AUC x 150.
    assert calvert_dose(5, 100) == pytest.approx(625.0)
    assert calvert_dose(5, 180) == pytest.approx(750.0)
    assert calvert_dose(6, 125) == pytest.approx(900.0)
    assert calvert_dose(4, 60) == pytest.approx(340.0)


def test_cockcroft_gault_fixtures_from_clinical_reference_section_4_1() -> None:
    male = BodySize(170, 70, 65, "male", 1.4 * CREATININE_UMOL_PER_MG_DL)
    female = BodySize(160, 60, 45, "female", 0.9 * CREATININE_UMOL_PER_MG_DL)
    assert creatinine_clearance(male) == pytest.approx(52.1, abs=0.05)
    assert creatinine_clearance(female) == pytest.approx(74.8, abs=0.05)


def test_planned_doses_by_unit() -> None:
    body = BodySize(170, 70, 65, "male", 1.4 * CREATININE_UMOL_PER_MG_DL)
    assert planned_dose_mg(200, "mg", None) == 200  # flat PD-1 dose
    assert planned_dose_mg(20, "mg/kg", body) == pytest.approx(1400)  # ivonescimab 20 mg/kg
    assert planned_dose_mg(175, "mg/m2", body) == pytest.approx(175 * 1.8181, abs=0.1)  # paclitaxel
    assert planned_dose_mg(5, "AUC", body) == pytest.approx(5 * (52.08 + 25), abs=0.5)  # carboplatin
    with pytest.raises(ImplausibleValue, match="body_size"):
        planned_dose_mg(20, "mg/kg", None)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("height_cm", {"height_cm": 17.0, "weight_kg": 70}),  # metres typed as cm... 17 cm
        ("weight_kg", {"height_cm": 170, "weight_kg": 700}),
        ("weight_kg", {"height_cm": 170, "weight_kg": float("nan")}),
        ("creatinine_umol_l", {"height_cm": 170, "weight_kg": 70, "creatinine_umol_l": 1.2}),  # mg/dL typed
    ],
)
def test_implausible_body_sizes_name_the_field(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(ImplausibleValue) as error:
        BodySize(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


def test_dose_deviation_and_tolerance() -> None:
    assert dose_deviation(100, 90) == pytest.approx(-0.10)
    assert not needs_reason(100, 90)  # exactly 10%: within tolerance
    assert needs_reason(100, 89.9)
    assert needs_reason(100, 0)  # omitted
    assert needs_reason(100, 106, tolerance=0.05)


def test_relative_dose_intensity_of_delayed_cycles() -> None:
    # Paclitaxel 300 mg q3w x 6 planned (100 mg/week); all 6 given in full but every 4 weeks:
    # first to last dose 20 weeks + the 3-week cycle after it = 23 weeks, 1800 mg / 23 weeks =
    # 78.3 mg/week -> RDI 0.783 (Hryniuk & Bush 1984).
    start = dt.date(2026, 1, 5)
    late = [Administration(start + dt.timedelta(weeks=4 * k), 300, 300) for k in range(6)]
    result = exposure(late, 21)
    assert result.cycles == 6 and result.cumulative_mg == 1800
    assert result.weeks == pytest.approx(23.0)
    assert result.relative_dose_intensity == pytest.approx(18 / 23)
    on_time = [Administration(start + dt.timedelta(weeks=3 * k), 300, 300) for k in range(6)]
    assert exposure(on_time, 21).relative_dose_intensity == pytest.approx(1.0)
    reduced = [Administration(start + dt.timedelta(weeks=3 * k), 225, 300) for k in range(6)]
    assert exposure(reduced, 21).relative_dose_intensity == pytest.approx(0.75)
    assert exposure([], 21).cycles == 0
