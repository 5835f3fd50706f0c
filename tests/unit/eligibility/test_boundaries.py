"""Boundary values of the built-in protocols' criteria (the sign of each threshold is honoured)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.eligibility.conftest import lab, screen, status_of
from trialdesk.domain.protocol.model import Protocol


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(90, "g/L", "met"), (89.9, "g/L", "not_met"), (9.0, "g/dL", "met"), (8.99, "g/dL", "not_met")],
)
def test_hemoglobin_boundary_90_g_per_l(
    ivo: Protocol, ivo_patient: dict[str, Any], value: float, unit: str, expected: str
) -> None:
    lab(ivo_patient, "hemoglobin").update(value=value, unit=unit, uln=None, lln=None)
    assert status_of(screen(ivo, ivo_patient), "inc-d-hemoglobin") == expected


@pytest.mark.parametrize(("value", "expected"), [(100, "met"), (100.01, "not_met"), (99.99, "met")])
@pytest.mark.parametrize("test", ["alt", "ast"])
def test_transaminases_boundary_exactly_2_5_uln(
    ivo: Protocol, ivo_patient: dict[str, Any], test: str, value: float, expected: str
) -> None:
    lab(ivo_patient, test).update(value=value, uln=40)
    assert status_of(screen(ivo, ivo_patient), f"inc-d-{test}") == expected


@pytest.mark.parametrize(
    ("value", "uln", "expected"), [(1.8, 1.2, "met"), (1.81, 1.2, "not_met"), (31.5, 21, "met")]
)
def test_bilirubin_boundary_1_5_uln_without_float_noise(
    ivo: Protocol, ivo_patient: dict[str, Any], value: float, uln: float, expected: str
) -> None:
    # 1.5 * 1.2 is 1.7999999999999998 in binary floating point; the boundary must still be inclusive
    unit = "mg/dL" if uln < 5 else "umol/L"
    lab(ivo_patient, "total_bilirubin").update(value=value, uln=uln, unit=unit)
    assert status_of(screen(ivo, ivo_patient), "inc-d-bilirubin") == expected


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [
        ("1945-03-03", "met"),  # 80 years, 364 days
        ("1946-03-02", "met"),  # 80th birthday on the screening date
        ("1945-03-02", "not_met"),  # 81st birthday on the screening date
        ("2008-03-02", "met"),  # 18th birthday
        ("2008-03-03", "not_met"),  # one day short of 18
    ],
)
def test_age_80_and_81_and_18(
    ivo: Protocol, ivo_patient: dict[str, Any], birth_date: str, expected: str
) -> None:
    ivo_patient["birth_date"] = birth_date
    assert status_of(screen(ivo, ivo_patient), "inc-a-age") == expected


@pytest.mark.parametrize(("ecog", "expected"), [(0, "met"), (2, "met"), (3, "not_met"), (5, "not_met")])
def test_ecog_0_2_for_seed_000(ivo: Protocol, ivo_patient: dict[str, Any], ecog: int, expected: str) -> None:
    ivo_patient["ecog"] = ecog
    assert status_of(screen(ivo, ivo_patient), "inc-e-ecog") == expected


@pytest.mark.parametrize(("ecog", "expected"), [(0, "met"), (1, "met"), (2, "not_met")])
def test_ecog_0_1_for_seed_002(scr: Protocol, scr_patient: dict[str, Any], ecog: int, expected: str) -> None:
    scr_patient["ecog"] = ecog
    assert status_of(screen(scr, scr_patient), "inc-3-ecog") == expected


@pytest.mark.parametrize(
    ("value", "unit", "test", "expected"),
    [
        (1.5, "10^9/L", "wbc", "met"),
        (1500, "/uL", "wbc", "met"),
        (1499, "cells/uL", "wbc", "not_met"),
        (60, "10^9/L", "platelets", "met"),
        (60, "10*3/uL", "platelets", "met"),
        (59999, "/uL", "platelets", "not_met"),
        (2.5, "g/dL", "albumin", "met"),
        (24.9, "g/L", "albumin", "not_met"),
        (50, "%", "lvef", "met"),
        (49.9, "%", "lvef", "not_met"),
    ],
)
def test_other_lab_thresholds_in_any_accepted_unit(
    ivo: Protocol, ivo_patient: dict[str, Any], value: float, unit: str, test: str, expected: str
) -> None:
    lab(ivo_patient, test).update(value=value, unit=unit, uln=None, lln=None)
    criterion = {
        "wbc": "inc-d-wbc",
        "platelets": "inc-d-platelets",
        "albumin": "inc-d-albumin",
        "lvef": "inc-d-lvef",
    }
    assert status_of(screen(ivo, ivo_patient), criterion[test]) == expected


@pytest.mark.parametrize(
    ("creatinine", "weight", "expected"),
    [
        (1.8, 62.5, "met"),  # exactly 1.5 x ULN 1.2 mg/dL (CrCl 36 mL/min)
        (1.9, 62.5, "not_met"),  # 1.58 x ULN and CrCl 34 mL/min
        (1.9, 150.0, "met"),  # 1.58 x ULN but CrCl 82 mL/min: the OR branch
    ],
)
def test_renal_creatinine_or_cockcroft_gault(
    ivo: Protocol, ivo_patient: dict[str, Any], creatinine: float, weight: float, expected: str
) -> None:
    lab(ivo_patient, "creatinine").update(value=creatinine)
    ivo_patient["weight_kg"] = weight
    assert status_of(screen(ivo, ivo_patient), "inc-d-renal") == expected


def test_renal_unknown_when_creatinine_above_uln_and_weight_missing(
    ivo: Protocol, ivo_patient: dict[str, Any]
) -> None:
    lab(ivo_patient, "creatinine").update(value=1.9)
    del ivo_patient["weight_kg"]
    result = screen(ivo, ivo_patient)
    renal = next(c for c in result.criteria if c.id == "inc-d-renal")
    assert renal.status == "unknown"
    assert renal.missing == ["weight_kg"]
    assert result.verdict == "incomplete"


@pytest.mark.parametrize(
    ("progression", "expected"),
    [
        ("2025-07-01", "met"),  # during CCRT (2025-06-02 to 2025-07-18)
        ("2026-01-18", "met"),  # exactly 6 months after the end
        ("2026-01-19", "not_met"),  # one day later
    ],
)
def test_ccrt_progression_window_6_months(
    ivo: Protocol, ivo_patient: dict[str, Any], progression: str, expected: str
) -> None:
    ivo_patient["prior_therapies"][0]["progression_date"] = progression
    assert status_of(screen(ivo, ivo_patient), "inc-b-first-line-failure") == expected


@pytest.mark.parametrize(("last_dose", "expected"), [("2026-02-01", "met"), ("2026-02-02", "not_met")])
def test_other_drug_trial_within_4_weeks(
    ivo: Protocol, ivo_patient: dict[str, Any], last_dose: str, expected: str
) -> None:
    ivo_patient["investigational_drug_exposures"] = [{"last_dose_date": last_dose}]
    assert status_of(screen(ivo, ivo_patient), "exc-j-recent-trial") == expected


@pytest.mark.parametrize(
    ("box3", "expected"),
    [(2, "met"), (3, "not_met")],  # totals 8 and 9: the exclusion is PG-SGA >= 9
)
def test_pg_sga_components_8_and_9(
    scr: Protocol, scr_patient: dict[str, Any], box3: int, expected: str
) -> None:
    scr_patient["pg_sga"]["components"]["box3"] = box3
    assert status_of(screen(scr, scr_patient), "exc-6-pg-sga") == expected


@pytest.mark.parametrize(("total", "expected"), [(8, "met"), (9, "not_met"), (0, "met")])
def test_pg_sga_total_given(scr: Protocol, scr_patient: dict[str, Any], total: int, expected: str) -> None:
    scr_patient["pg_sga"] = {"total": total, "date": "2026-04-14"}  # dated in the screening window
    assert status_of(screen(scr, scr_patient), "exc-6-pg-sga") == expected


@pytest.mark.parametrize(
    ("malignancy", "expected"),
    [
        # screening 2026-04-15: a diagnosis exactly 5 years earlier is still "within the past 5 years"
        ({"type": "other_solid", "diagnosis_date": "2021-04-15", "status": "cured"}, "not_met"),
        ({"type": "other_solid", "diagnosis_date": "2021-04-14", "status": "cured"}, "met"),
        ({"type": "basal_cell_skin_carcinoma", "diagnosis_date": "2025-01-01", "status": "cured"}, "met"),
        (
            {"type": "basal_cell_skin_carcinoma", "diagnosis_date": "2025-01-01", "status": "active"},
            "not_met",
        ),
        # issue 10: an excepted type within 5 years whose cure is not recorded is unknown, not excluded
        ({"type": "squamous_cell_skin_carcinoma", "diagnosis_date": "2025-01-01"}, "unknown"),
        (
            {"type": "hematologic", "diagnosis_date": "2010-01-01", "status": "cured", "synchronous": True},
            "not_met",
        ),
        ({"type": "hematologic", "status": "cured"}, "unknown"),
    ],
)
def test_other_malignancy_lookback_and_exceptions(
    scr: Protocol, scr_patient: dict[str, Any], malignancy: dict[str, Any], expected: str
) -> None:
    scr_patient["other_malignancies"] = [malignancy]
    assert status_of(screen(scr, scr_patient), "exc-12-other-malignancy") == expected
