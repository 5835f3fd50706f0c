"""Values a screened record never holds but a registry extract does (``trialdesk prescreen`` evaluates
records that ``check_patient`` was not run on): an unknown unit or an impossible value in the latest
result is ``unknown``, never coerced and never replaced by an older result; Cockcroft-Gault outside
its age range is ``unknown``. The unit rules are UCUM's (case-sensitive codes: ``G/L`` is not ``g/L``,
UCUM 2.1 section 2.1 "case sensitivity")."""

from __future__ import annotations

import datetime as dt

from trialdesk.domain.eligibility.evaluator import evaluate_criterion
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.rules import Criterion
from trialdesk.domain.labs.result import LabResult
from trialdesk.domain.protocol.model import Protocol

ON = dt.date(2026, 6, 1)


def criterion(protocol: Protocol, cid: str) -> Criterion:
    return next(c for c in protocol.eligibility.criteria if c.id == cid)


def hb(value: float, unit: str, days_before: int) -> LabResult:
    return LabResult(test="hemoglobin", value=value, unit=unit, date=ON - dt.timedelta(days=days_before))


def test_latest_result_in_an_unknown_unit_is_unknown_not_the_older_one(ivo_shfrt: Protocol) -> None:
    record = PatientRecord(id="R1", labs=[hb(130, "g/L", 10), hb(12.5, "G/L", 2)])
    result = evaluate_criterion(criterion(ivo_shfrt, "inc-d-hemoglobin"), ivo_shfrt, record, ON)
    assert result.status == "unknown"
    assert "unknown unit 'G/L'" in result.evidence
    assert result.missing == [f"labs: hemoglobin in a known unit, within 28 days before {ON}"]


def test_an_impossible_latest_value_is_unknown(ivo_shfrt: Protocol) -> None:
    record = PatientRecord(id="R2", labs=[hb(900, "g/dL", 1)])  # 9000 g/L: a unit typed wrong
    result = evaluate_criterion(criterion(ivo_shfrt, "inc-d-hemoglobin"), ivo_shfrt, record, ON)
    assert result.status == "unknown" and "implausible" in result.evidence


def test_a_known_unit_is_still_converted(ivo_shfrt: Protocol) -> None:
    record = PatientRecord(id="R3", labs=[hb(9.0, "g/dL", 1)])  # 90 g/L, the threshold itself
    assert evaluate_criterion(criterion(ivo_shfrt, "inc-d-hemoglobin"), ivo_shfrt, record, ON).status == "met"


def test_cockcroft_gault_outside_its_age_range_is_unknown(ivo_shfrt: Protocol) -> None:
    renal = criterion(ivo_shfrt, "inc-d-renal")
    creatinine = LabResult(test="creatinine", value=200, unit="umol/L", date=ON, uln=100)
    newborn = PatientRecord(id="R4", sex="male", birth_date=ON, weight_kg=3.5, labs=[creatinine])
    result = evaluate_criterion(renal, ivo_shfrt, newborn, ON)
    assert result.status == "unknown" and "outside the Cockcroft-Gault formula's range" in result.evidence
