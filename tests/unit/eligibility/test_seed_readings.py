"""Issue 10 eligibility corrections; each test quotes the seed sentence it checks (the seed is the authority).

Seed 002 (scr-escc-01), screened on 2026-04-15 (the eligible example), and seed 000 (ivo-shfrt-2l),
screened on 2026-03-02. An exclusion criterion is ``met`` when the patient is free of the excluding
condition and ``not_met`` when the patient has it (see ``trialdesk.domain.eligibility.rules``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.eligibility.conftest import screen, status_of
from trialdesk.domain.protocol.model import Protocol

# ---------------------------------------------------------------- seed 002 inclusion 4 / exclusion 4


def test_prior_treatment_for_another_cancer_is_not_prior_treatment_for_escc(
    scr: Protocol, scr_patient: dict[str, Any]
) -> None:
    """Seed 002 inclusion 4 "No prior anti-tumor treatment" read with exclusion 4 "Any prior anti-tumor
    therapy for esophageal cancer": chemotherapy given in 2015 for another cancer (a lymphoma, cured,
    diagnosed more than 5 years ago) meets both; the old malignancy is judged by exclusion 12 only."""
    scr_patient["prior_therapies"] = [
        {"modality": "chemotherapy", "start_date": "2015-01-01", "for_esophageal_cancer": False}
    ]
    scr_patient["other_malignancies"] = [
        {"type": "hematologic", "diagnosis_date": "2014-11-01", "status": "cured"}
    ]
    result = screen(scr, scr_patient)
    assert status_of(result, "inc-4-treatment-naive") == "met"
    assert status_of(result, "exc-4-prior-therapy") == "met"
    assert status_of(result, "exc-12-other-malignancy") == "met"
    assert result.verdict == "eligible"


def test_prior_treatment_for_another_recent_cancer_excludes_by_exclusion_12_only(
    scr: Protocol, scr_patient: dict[str, Any]
) -> None:
    """Seed 002 exclusion 12 "a history of malignancy within the past 5 years": the treated 2023
    lymphoma excludes through exclusion 12; inclusion 4 ("No prior anti-tumor treatment", for the
    esophageal cancer) stays met."""
    scr_patient["prior_therapies"] = [
        {"modality": "chemotherapy", "start_date": "2023-02-01", "for_esophageal_cancer": False}
    ]
    scr_patient["other_malignancies"] = [
        {"type": "hematologic", "diagnosis_date": "2023-01-10", "status": "cured"}
    ]
    result = screen(scr, scr_patient)
    assert status_of(result, "inc-4-treatment-naive") == "met"
    assert status_of(result, "exc-12-other-malignancy") == "not_met"
    assert result.verdict == "ineligible"


@pytest.mark.parametrize("modality", ["chemotherapy", "targeted_therapy", "other"])
def test_prior_treatment_for_escc_fails_inclusion_4(
    scr: Protocol, scr_patient: dict[str, Any], modality: str
) -> None:
    """Seed 002 inclusion 4 "No prior anti-tumor treatment": any prior treatment for the esophageal
    cancer (of any modality, not only those exclusion 4 lists) is not met."""
    scr_patient["prior_therapies"] = [
        {"modality": modality, "start_date": "2026-01-05", "for_esophageal_cancer": True}
    ]
    assert status_of(screen(scr, scr_patient), "inc-4-treatment-naive") == "not_met"


def test_prior_treatment_with_unrecorded_indication_is_unknown_for_inclusion_4(
    scr: Protocol, scr_patient: dict[str, Any]
) -> None:
    """Seed 002 inclusion 4 "No prior anti-tumor treatment" (for esophageal cancer): a prior therapy
    whose indication is not recorded cannot be judged, so the criterion is unknown and names the field."""
    scr_patient["prior_therapies"] = [{"modality": "radiotherapy", "start_date": "2020-01-01"}]
    result = screen(scr, scr_patient)
    criterion = next(c for c in result.criteria if c.id == "inc-4-treatment-naive")
    assert criterion.status == "unknown"
    assert criterion.missing == ["prior_therapies[0].for_esophageal_cancer"]
