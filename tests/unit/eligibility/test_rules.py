"""Rule-by-rule behaviour of the evaluator with rules built in the tests (tri-state logic)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from trialdesk.domain.eligibility.evaluator import Context, Outcome, evaluate_rule, verdict_of
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.rules import Criterion
from trialdesk.domain.protocol.model import Protocol

ON = dt.date(2026, 3, 2)


def run(protocol: Protocol, rule: dict[str, Any], criterion_id: str = "inc-x", **patient: Any) -> Outcome:
    record = PatientRecord.model_validate({"id": "T1", **patient})
    criterion = Criterion.model_validate(
        {"id": criterion_id, "source": "inclusion x", "kind": "inclusion", "text": "test rule", "rule": rule}
    )
    return evaluate_rule(criterion.rule, Context(protocol, record, ON, criterion_id))


LAB_HB = {"type": "lab", "test": "hemoglobin", "op": ">=", "value": 90, "unit": "g/L"}
LAB_CREAT_ULN = {"type": "lab", "test": "creatinine", "op": "<=", "times_uln": 1.5}
CRCL = {"type": "creatinine_clearance", "op": ">=", "value": 60}


def hb(value: float, date: str, unit: str = "g/L") -> dict[str, Any]:
    return {"test": "hemoglobin", "value": value, "unit": unit, "date": date}


# ---------------------------------------------------------------- labs


def test_lab_missing_is_unknown_and_names_the_test(ivo: Protocol) -> None:
    outcome = run(ivo, LAB_HB)
    assert outcome.status == "unknown"
    assert outcome.missing == ("labs: hemoglobin within 28 days before 2026-03-02",)


@pytest.mark.parametrize(("date", "status"), [("2026-02-02", "met"), ("2026-02-01", "unknown")])
def test_lab_validity_window_28_days(ivo: Protocol, date: str, status: str) -> None:
    outcome = run(ivo, LAB_HB, labs=[hb(95, date)])
    assert outcome.status == status
    if status == "unknown":
        assert "is 29 days old; validity 28 days" in outcome.evidence


def test_most_recent_result_is_used(ivo: Protocol) -> None:
    labs = [hb(120, "2026-02-10"), hb(85, "2026-02-27"), hb(100, "2026-02-20")]
    outcome = run(ivo, LAB_HB, labs=labs)
    assert outcome.status == "not_met"
    assert outcome.evidence == "Hb 85 g/L, not >= 90 g/L (result of 2026-02-27)"


def test_evidence_shows_conversion(ivo: Protocol) -> None:
    assert run(ivo, LAB_HB, labs=[hb(9.5, "2026-02-27", "g/dL")]).evidence == (
        "Hb 9.5 g/dL (= 95 g/L) >= 90 g/L (result of 2026-02-27)"
    )


def test_uln_relative_needs_the_patients_uln(ivo: Protocol) -> None:
    creat = {"test": "creatinine", "value": 100, "unit": "umol/L", "date": "2026-02-27"}
    outcome = run(ivo, LAB_CREAT_ULN, labs=[creat])
    assert outcome.status == "unknown"
    assert "uln" in outcome.missing[0]
    creat["uln"] = 84
    assert run(ivo, LAB_CREAT_ULN, labs=[creat]).status == "met"
    creat["uln"] = 66
    assert run(ivo, LAB_CREAT_ULN, labs=[creat]).status == "not_met"


def test_creatinine_clearance_names_every_missing_input(ivo: Protocol) -> None:
    outcome = run(ivo, CRCL)
    assert outcome.status == "unknown"
    assert outcome.missing == (
        "birth_date",
        "sex",
        "weight_kg",
        "labs: creatinine within 28 days before 2026-03-02",
    )


def test_creatinine_clearance_evidence(ivo: Protocol) -> None:
    creat = {"test": "creatinine", "value": 80, "unit": "umol/L", "date": "2026-02-27"}
    outcome = run(ivo, CRCL, sex="male", birth_date="1966-01-01", weight_kg=60, labs=[creat])
    assert outcome.status == "met"
    assert outcome.evidence.startswith("CrCl 73.7 mL/min (Cockcroft-Gault: male, 60 y, 60 kg")


# ---------------------------------------------------------------- any_of (tri-state OR)


def test_any_of_tri_state(ivo: Protocol) -> None:
    rule = {"type": "any_of", "rules": [LAB_CREAT_ULN, CRCL]}
    high = {"test": "creatinine", "value": 200, "unit": "umol/L", "date": "2026-02-27", "uln": 84}
    # first not met, second unknown (no weight) -> unknown, naming only what is missing
    outcome = run(ivo, rule, sex="male", birth_date="1966-01-01", labs=[high])
    assert outcome.status == "unknown"
    assert outcome.missing == ("weight_kg",)
    # both not met -> not met
    assert run(ivo, rule, sex="male", birth_date="1966-01-01", weight_kg=60, labs=[high]).status == "not_met"
    # second met -> met even though the first is not
    assert run(ivo, rule, sex="male", birth_date="1996-01-01", weight_kg=150, labs=[high]).status == "met"


def test_any_of_with_attestation_needs_attestation(ivo: Protocol) -> None:
    rule = {
        "type": "any_of",
        "rules": [
            LAB_HB,
            {"type": "attestation", "question": "Transfusion planned?", "satisfied_when": True},
        ],
    }
    assert run(ivo, rule, labs=[hb(80, "2026-02-27")]).status == "needs_attestation"
    assert run(ivo, rule, labs=[hb(95, "2026-02-27")]).status == "met"


# ---------------------------------------------------------------- attestations, findings, consent

ATTEST = {"type": "attestation", "question": "Is the patient suitable?", "satisfied_when": True}


def test_attestation_is_never_guessed(ivo: Protocol) -> None:
    outcome = run(ivo, ATTEST, criterion_id="inc-z")
    assert outcome.status == "needs_attestation"
    assert outcome.evidence == "investigator to answer: Is the patient suitable?"


@pytest.mark.parametrize(("answer", "status"), [(True, "met"), (False, "not_met")])
def test_attestation_records_who_and_when(ivo: Protocol, answer: bool, status: str) -> None:
    attestations = {
        "inc-z": {"answer": answer, "by": "Dr. A", "at": "2026-03-01T10:00:00", "role": "investigator"}
    }
    outcome = run(ivo, ATTEST, criterion_id="inc-z", attestations=attestations)
    assert outcome.status == status
    assert "by Dr. A (investigator) at 2026-03-01T10:00" in outcome.evidence


FINDING = {"type": "finding_absent", "findings": ["pregnant", "lactating"], "applies_to_sex": "female"}


@pytest.mark.parametrize(
    ("patient", "status", "missing"),
    [
        ({"sex": "male"}, "met", ()),
        ({"sex": "female"}, "unknown", ("findings.pregnant", "findings.lactating")),
        ({"sex": "female", "findings": {"pregnant": False}}, "unknown", ("findings.lactating",)),
        ({"sex": "female", "findings": {"pregnant": False, "lactating": False}}, "met", ()),
        ({"findings": {"pregnant": False, "lactating": False}}, "met", ()),
        ({"findings": {"pregnant": False}}, "unknown", ("findings.lactating", "sex")),
        ({"findings": {"lactating": True}}, "not_met", ()),
    ],
)
def test_finding_absent_requires_explicit_absence(
    ivo: Protocol, patient: dict[str, Any], status: str, missing: tuple[str, ...]
) -> None:
    outcome = run(ivo, FINDING, **patient)
    assert (outcome.status, outcome.missing) == (status, missing)


def test_consent(ivo: Protocol) -> None:
    assert run(ivo, {"type": "consent"}).missing == ("consent.signed_date",)
    assert run(ivo, {"type": "consent"}, consent={"signed_date": "2026-03-02"}).status == "met"
    assert run(ivo, {"type": "consent"}, consent={"signed_date": "2026-03-03"}).status == "not_met"


# ---------------------------------------------------------------- treatment history

FAILURE = {"type": "prior_line_failure", "line": 1, "ccrt_progression_window_months": 6}


def therapy(**values: Any) -> dict[str, Any]:
    return {"modality": "chemotherapy", "for_esophageal_cancer": True, "start_date": "2025-01-01", **values}


@pytest.mark.parametrize(
    ("therapies", "status", "missing"),
    [
        (None, "unknown", ("prior_therapies",)),
        ([], "not_met", ()),
        ([therapy(line=1, outcome="progression")], "met", ()),
        ([therapy(line=1, outcome="intolerance")], "met", ()),
        ([therapy(line=1, outcome="completed")], "not_met", ()),
        ([therapy(line=1)], "unknown", ("prior_therapies[0].outcome",)),
        ([therapy(line=1, outcome="progression", for_esophageal_cancer=False)], "not_met", ()),
        (
            [therapy(line=1, outcome="progression", for_esophageal_cancer=None)],
            "unknown",
            ("prior_therapies[0].for_esophageal_cancer",),
        ),
        ([therapy(line=2, outcome="progression")], "not_met", ()),
        ([therapy(modality="surgery", outcome="progression")], "not_met", ()),
        # unnumbered lines are numbered by start date
        (
            [therapy(start_date="2025-06-01", outcome="progression"), therapy(outcome="completed")],
            "not_met",
            (),
        ),
        ([therapy(start_date="2024-06-01", outcome="progression"), therapy(outcome="completed")], "met", ()),
        # mixed numbered and unnumbered: the unnumbered line stays unknown
        (
            [therapy(line=1, outcome="completed"), therapy(outcome="progression")],
            "unknown",
            ("prior_therapies[1].line",),
        ),
    ],
)
def test_prior_line_failure(
    ivo: Protocol, therapies: list[dict[str, Any]] | None, status: str, missing: tuple[str, ...]
) -> None:
    outcome = run(ivo, FAILURE, prior_therapies=therapies)
    assert (outcome.status, outcome.missing) == (status, missing)


def ccrt(**values: Any) -> dict[str, Any]:
    return therapy(
        **{
            "line": 1,
            "modality": "chemoradiotherapy",
            "intent": "definitive",
            "end_date": "2025-02-15",
            **values,
        }
    )


@pytest.mark.parametrize(
    ("record", "status", "missing"),
    [
        (ccrt(outcome="completed", progression_date="2025-08-15"), "met", ()),
        (ccrt(outcome="completed", progression_date="2025-08-16"), "not_met", ()),
        (ccrt(outcome="completed"), "not_met", ()),
        (ccrt(outcome="progression"), "unknown", ("prior_therapies[0].progression_date",)),
        (ccrt(), "unknown", ("prior_therapies[0].outcome",)),
        (ccrt(outcome="intolerance"), "met", ()),
        ({**ccrt(outcome="ongoing", progression_date="2025-02-01"), "end_date": None}, "met", ()),
        (
            {**ccrt(outcome="completed", progression_date="2025-03-01"), "end_date": None},
            "unknown",
            ("prior_therapies[0].end_date",),
        ),
        # CCRT that is not definitive is judged like any systemic line
        (ccrt(intent="neoadjuvant", outcome="completed", progression_date="2025-12-01"), "met", ()),
    ],
)
def test_definitive_ccrt_window(
    ivo: Protocol, record: dict[str, Any], status: str, missing: tuple[str, ...]
) -> None:
    outcome = run(ivo, FAILURE, prior_therapies=[record])
    assert (outcome.status, outcome.missing) == (status, missing)


NAIVE_ESO = {
    "type": "no_prior_therapy",
    "modalities": ["surgery", "radiotherapy"],
    "indication": "esophageal_cancer",
}


@pytest.mark.parametrize(
    ("therapies", "status"),
    [
        (None, "unknown"),
        ([], "met"),
        ([therapy(modality="immunotherapy")], "met"),  # modality not listed
        ([therapy(modality="chemoradiotherapy")], "not_met"),  # CCRT includes radiotherapy
        ([therapy(modality="surgery", for_esophageal_cancer=False)], "met"),
        ([therapy(modality="surgery", for_esophageal_cancer=None)], "unknown"),
    ],
)
def test_no_prior_therapy(ivo: Protocol, therapies: list[dict[str, Any]] | None, status: str) -> None:
    assert run(ivo, NAIVE_ESO, prior_therapies=therapies).status == status


def test_recent_investigational_drug_unknown_when_not_recorded(ivo: Protocol) -> None:
    rule = {"type": "no_recent_investigational_drug", "window_days": 28}
    assert run(ivo, rule).missing == ("investigational_drug_exposures",)
    assert run(ivo, rule, investigational_drug_exposures=[]).status == "met"


def test_measurable_disease_uses_protocol_lesion_counting(ivo: Protocol, scr: Protocol) -> None:
    rule = {"type": "measurable_disease", "min_lesions": 2}
    nodes = [
        {"id": "N1", "site": "lymph node", "nodal": True, "regional_node": True, "diameter_mm": 16},
        {"id": "N2", "site": "lymph node", "nodal": True, "regional_node": True, "diameter_mm": 20},
    ]
    # seed 000: all regional nodes are ONE lesion -> 1 measurable lesion; standard RECIST: 2
    assert run(ivo, rule, lesions=nodes).status == "not_met"
    assert run(scr, rule, lesions=nodes).status == "met"
    assert run(ivo, rule).missing == ("lesions",)


def test_coded_and_numeric_unknown_name_the_field(ivo: Protocol) -> None:
    assert run(ivo, {"type": "coded", "field": "diagnosis.stage", "allowed": ["IVB"]}).missing == (
        "diagnosis.stage",
    )
    assert run(ivo, {"type": "numeric", "field": "ecog", "op": "<=", "value": 2}).missing == ("ecog",)
    assert run(ivo, {"type": "age", "min_years": 18}).missing == ("birth_date",)


def test_pg_sga_unknown_when_missing(scr: Protocol) -> None:
    assert run(scr, {"type": "score", "score": "pg_sga", "op": "<", "value": 9}).missing == ("pg_sga",)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        (["met", "met"], "eligible"),
        (["met", "unknown"], "incomplete"),
        (["met", "needs_attestation"], "incomplete"),
        (["unknown", "not_met", "needs_attestation"], "ineligible"),
    ],
)
def test_verdict(statuses: list[Any], verdict: str) -> None:
    assert verdict_of(statuses) == verdict
