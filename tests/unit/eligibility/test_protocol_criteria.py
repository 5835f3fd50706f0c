"""Every criterion of both built-in protocols has a met case and a not-met case.

The met case of every criterion is the protocol's eligible example patient; each not-met case
changes that patient in one respect. A coverage test fails when a criterion is added to a protocol
file without a not-met case here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.eligibility.conftest import Mutation, lab, load_example, screen, status_of
from trialdesk.domain.protocol.model import Protocol


def set_path(path: str, value: Any) -> Mutation:
    """A mutation setting ``a.b.c`` in the patient dict."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value

    return mutate


def set_lab(test: str, **values: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        lab(data, test).update(values)

    return mutate


def attest(criterion_id: str, answer: bool) -> Mutation:
    return set_path(f"attestations.{criterion_id}.answer", answer)


def finding(code: str) -> Mutation:
    return set_path(f"findings.{code}", True)


def chain(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for m in mutations:
            m(data)

    return mutate


IVO_NOT_MET: dict[str, Mutation] = {
    "inc-a-histology": set_path("diagnosis.histology", "adenocarcinoma"),
    "inc-a-histology-confirmation": set_path("diagnosis.confirmation", "cytology"),
    "inc-a-age": set_path("birth_date", "1945-03-02"),  # 81 on the screening date 2026-03-02
    "inc-b-disease-setting": set_path("diagnosis.setting", ["resectable_locally_advanced"]),
    "inc-b-first-line-failure": set_path("prior_therapies.0.progression_date", "2026-01-19"),
    "inc-c-measurable-disease": set_path(
        "lesions", [{"id": "L1", "site": "liver", "nodal": False, "diameter_mm": 8}]
    ),
    "inc-d-hemoglobin": set_lab("hemoglobin", value=8.9),
    "inc-d-wbc": set_lab("wbc", value=1400),
    "inc-d-platelets": set_lab("platelets", value=59),
    "inc-d-albumin": set_lab("albumin", value=24.9),
    "inc-d-alt": set_lab("alt", value=101),
    "inc-d-ast": set_lab("ast", value=100.5),
    "inc-d-bilirubin": set_lab("total_bilirubin", value=1.81),
    "inc-d-renal": set_lab("creatinine", value=1.9),
    "inc-d-lvef": set_lab("lvef", value=49),
    "inc-e-ecog": set_path("ecog", 3),
    "inc-f-expected-survival": set_path("expected_survival_months", 2.9),
    "inc-g-consent": set_path("consent.signed_date", "2026-03-03"),
    "inc-g-compliance": attest("inc-g-compliance", False),
    "exc-a-organ-dysfunction": attest("exc-a-organ-dysfunction", True),
    "exc-b-spinal-cord-compression": finding("vertebral_metastasis_with_cord_compression"),
    "exc-c-fistula": finding("esophagomediastinal_fistula"),
    "exc-d-effusions": finding("uncontrolled_effusion_repeated_drainage"),
    "exc-e-great-vessel-invasion": attest("exc-e-great-vessel-invasion", True),
    "exc-f-airway-invasion": attest("exc-f-airway-invasion", True),
    "exc-g-shfrt-unsuitable": attest("exc-g-shfrt-unsuitable", False),
    "exc-h-pregnancy": chain(
        set_path("sex", "female"), finding("lactating"), set_path("findings.pregnant", False)
    ),
    "exc-i-mental-disorder": finding("psychotropic_drug_abuse_unable_to_quit"),
    "exc-j-recent-trial": set_path("investigational_drug_exposures", [{"last_dose_date": "2026-02-02"}]),
    "exc-k-refusal": finding("participation_refused_by_patient_or_family"),
}

SCR_NOT_MET: dict[str, Mutation] = {
    "inc-1-age": set_path("birth_date", "2008-04-16"),  # 17 on 2026-04-15
    "inc-2-histology": set_path("diagnosis.histology", "adenocarcinoma"),
    "inc-2-pathology-confirmation": set_path("diagnosis.confirmation", "clinical"),
    "inc-2-stage": set_path("diagnosis.stage", "IVA"),
    "inc-2-m1": set_path("diagnosis.m_stage", "M0"),
    "inc-3-ecog": set_path("ecog", 2),
    # inclusion 4 is read as "no prior treatment for esophageal cancer" (issue 10): a targeted
    # therapy for the ESCC fails it (exclusion 4 lists only surgery, RT, chemo, immunotherapy)
    "inc-4-treatment-naive": set_path(
        "prior_therapies",
        [{"modality": "targeted_therapy", "start_date": "2026-01-05", "for_esophageal_cancer": True}],
    ),
    "inc-5-organ-function": attest("inc-5-organ-function", False),
    "exc-1-non-squamous": set_path("diagnosis.histology", "escc_mixed"),
    "exc-2-curable-by-surgery": attest("exc-2-curable-by-surgery", True),
    "exc-3-pleural-pericardial": finding("pericardial_effusion"),
    "exc-4-prior-therapy": set_path(
        "prior_therapies",
        [{"modality": "surgery", "start_date": "2025-12-01", "for_esophageal_cancer": True}],
    ),
    "exc-5-bleeding-fistula-risk": attest("exc-5-bleeding-fistula-risk", True),
    "exc-6-pg-sga": set_path("pg_sga.components.box3", 3),  # total 9
    "exc-7-cardiac": finding("unstable_cardiac_disease"),
    "exc-8-pulmonary": finding("noninfectious_pneumonitis"),
    "exc-9-autoimmune": finding("autoimmune_disease_history"),
    "exc-10-immunodeficiency-infection": finding("active_infection_requiring_systemic_therapy"),
    "exc-11-pregnancy": finding("breastfeeding"),
    "exc-12-other-malignancy": set_path(
        "other_malignancies", [{"type": "other_solid", "diagnosis_date": "2026-03-01", "synchronous": True}]
    ),
}

CASES = [
    ("ivo-shfrt-2l-eligible.json", "ivo", IVO_NOT_MET),
    ("scr-escc-01-eligible.json", "scr", SCR_NOT_MET),
]


@pytest.mark.parametrize(("example", "fixture", "table"), CASES)
def test_every_criterion_has_a_not_met_case(
    example: str, fixture: str, table: dict[str, Mutation], request: pytest.FixtureRequest
) -> None:
    protocol: Protocol = request.getfixturevalue(fixture)
    assert sorted(table) == sorted(c.id for c in protocol.eligibility.criteria)


@pytest.mark.parametrize(("example", "fixture"), [(c[0], c[1]) for c in CASES])
def test_eligible_example_meets_every_criterion(
    example: str, fixture: str, request: pytest.FixtureRequest
) -> None:
    protocol: Protocol = request.getfixturevalue(fixture)
    result = screen(protocol, load_example(example))
    assert {c.id: c.status for c in result.criteria} == {c.id: "met" for c in protocol.eligibility.criteria}
    assert result.verdict == "eligible"


@pytest.mark.parametrize(
    ("example", "fixture", "criterion_id"),
    [(example, fixture, cid) for example, fixture, table in CASES for cid in table],
)
def test_not_met_case(example: str, fixture: str, criterion_id: str, request: pytest.FixtureRequest) -> None:
    protocol: Protocol = request.getfixturevalue(fixture)
    table = IVO_NOT_MET if fixture == "ivo" else SCR_NOT_MET
    data = load_example(example)
    table[criterion_id](data)
    result = screen(protocol, data)
    assert status_of(result, criterion_id) == "not_met", next(
        c for c in result.criteria if c.id == criterion_id
    )
    assert result.verdict == "ineligible"
