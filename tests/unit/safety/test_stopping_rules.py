"""SCR-ESCC-01 safety stopping rule (>= 2 treatment-related grade-5 AEs in the run-in) and its probability."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from trialdesk.domain.protocol.model import AttributionPolicy, Protocol, StoppingRule
from trialdesk.domain.safety import (
    AdverseEventFact,
    AttributionLevel,
    evaluate_all,
    evaluate_stopping_rule,
    gate_rule_met,
    is_treatment_related,
)
from trialdesk.stats.stopping_rule import probability_rule_met

DEFAULT_POLICY = AttributionPolicy()
_counter = iter(range(1, 10_000))


def ae(
    subject: str,
    grade: int = 5,
    attributions: Mapping[str, AttributionLevel] | None = None,
    phase: str = "iia",
) -> AdverseEventFact:
    """An adverse event; by default a grade-5 event in the run-in 'possibly' related to the PD-1 antibody."""
    return AdverseEventFact(
        subject_id=subject,
        subject_phase_id=phase,
        grade=grade,
        attributions={"pd1": "possible", "ldrt": "unrelated"} if attributions is None else attributions,
        onset_date=dt.date(2026, 3, 1),
        ae_id=f"AE{next(_counter)}",
    )


@pytest.fixture(scope="module")
def rule(scr_escc: Protocol) -> StoppingRule:
    (only,) = scr_escc.stopping_rules
    assert only.id == "runin-grade5-trae"
    return only


def test_one_related_death_does_not_meet_the_rule(rule: StoppingRule) -> None:
    status = evaluate_stopping_rule(rule, [ae("S1")], DEFAULT_POLICY)
    assert (status.count, status.met, status.subjects) == (1, False, ("S1",))
    assert (status.rule_id, status.threshold, status.action) == ("runin-grade5-trae", 2, "terminate")


def test_second_related_grade5_meets_the_rule(rule: StoppingRule) -> None:
    status = evaluate_stopping_rule(
        rule, [ae("S1"), ae("S2", attributions={"cfrt": "definite"})], DEFAULT_POLICY
    )
    assert status.count == 2
    assert status.met
    assert status.subjects == ("S1", "S2")


def test_unrelated_grade5_does_not_count(rule: StoppingRule) -> None:
    unrelated = ae("S2", attributions={"pd1": "unrelated", "ldrt": "unrelated"})
    status = evaluate_stopping_rule(rule, [ae("S1"), unrelated], DEFAULT_POLICY)
    assert (status.count, status.met) == (1, False)


def test_grade5_in_a_phase_iib_subject_does_not_count_for_the_run_in_rule(rule: StoppingRule) -> None:
    status = evaluate_stopping_rule(rule, [ae("S1"), ae("R7", phase="iib")], DEFAULT_POLICY)
    assert (status.count, status.met, status.subjects) == (1, False, ("S1",))


def test_two_grade5_events_in_the_same_subject_count_once(rule: StoppingRule) -> None:
    status = evaluate_stopping_rule(
        rule, [ae("S1"), ae("S1", attributions={"cfrt": "probable"})], DEFAULT_POLICY
    )
    assert (status.count, status.met, status.subjects) == (1, False, ("S1",))


def test_grade4_related_event_does_not_count(rule: StoppingRule) -> None:
    status = evaluate_stopping_rule(rule, [ae("S1"), ae("S2", grade=4)], DEFAULT_POLICY)
    assert status.count == 1


def test_unlikely_is_not_related_under_the_default_policy(rule: StoppingRule) -> None:
    unlikely = ae("S2", attributions={"pd1": "unlikely"})
    assert not is_treatment_related(unlikely, DEFAULT_POLICY)
    assert not evaluate_stopping_rule(rule, [ae("S1"), unlikely], DEFAULT_POLICY).met


def test_a_policy_listing_unlikely_makes_it_related(rule: StoppingRule) -> None:
    policy = AttributionPolicy(related_levels=["unlikely", "possible", "probable", "definite"])
    unlikely = ae("S2", attributions={"pd1": "unlikely"})
    assert is_treatment_related(unlikely, policy)
    assert evaluate_stopping_rule(rule, [ae("S1"), unlikely], policy).met


@pytest.mark.parametrize(
    ("level", "related"),
    [("unrelated", False), ("unlikely", False), ("possible", True), ("probable", True), ("definite", True)],
)
def test_default_policy_levels(level: AttributionLevel, related: bool) -> None:
    assert is_treatment_related(ae("S1", attributions={"pd1": level}), DEFAULT_POLICY) is related


def test_any_component_related_makes_the_event_related() -> None:
    mixed = ae("S1", attributions={"pd1": "unrelated", "paclitaxel": "unlikely", "ldrt": "probable"})
    assert is_treatment_related(mixed, DEFAULT_POLICY)


def test_unattributed_death_is_flagged_not_counted(rule: StoppingRule) -> None:
    status = evaluate_stopping_rule(rule, [ae("S1"), ae("S2", attributions={})], DEFAULT_POLICY)
    assert (status.count, status.met) == (1, False)
    assert status.unattributed_subjects == ("S2",)
    assert status.could_be_met


def test_rule_without_relatedness_counts_unrelated_events(scr_escc: Protocol, rule: StoppingRule) -> None:
    any_death = rule.model_copy(
        update={"counts": rule.counts.model_copy(update={"treatment_related": False})}
    )
    facts = [ae("S1", attributions={"pd1": "unrelated"}), ae("S2", attributions={})]
    status = evaluate_stopping_rule(any_death, facts, DEFAULT_POLICY)
    assert (status.count, status.met, status.unattributed_subjects) == (2, True, ())


def test_evaluate_all_uses_the_protocol_policy_and_drives_the_gate(scr_escc: Protocol) -> None:
    facts = iter([ae("S1"), ae("S2", attributions={"ldrt": "definite"}), ae("S3", grade=3)])
    statuses = evaluate_all(scr_escc, facts)
    assert [(s.rule_id, s.count, s.met) for s in statuses] == [("runin-grade5-trae", 2, True)]
    assert gate_rule_met(scr_escc, statuses, from_phase="iia")
    assert not gate_rule_met(scr_escc, evaluate_all(scr_escc, [ae("S1")]), from_phase="iia")
    assert not gate_rule_met(scr_escc, statuses, from_phase="iib")


def test_single_arm_protocol_has_no_stopping_rules(ivo_shfrt: Protocol) -> None:
    assert evaluate_all(ivo_shfrt, [ae("S1", phase="main")]) == []


@pytest.mark.parametrize(
    "fields",
    [{"grade": 0}, {"grade": 6}, {"grade": 5.0}, {"grade": True}, {"attributions": {"pd1": "maybe"}}],
)
def test_invalid_adverse_event_facts_are_refused(fields: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "subject_id": "S1",
        "subject_phase_id": "iia",
        "grade": 5,
        "attributions": {"pd1": "possible"},
        "onset_date": dt.date(2026, 1, 1),
        "ae_id": "AE1",
    }
    with pytest.raises(ValueError):
        AdverseEventFact(**(base | fields))


# Section 0 of clinical-reference.md: P(>= 2 grade-5 events among n patients), rounded to 3 decimals
CLINICAL_REFERENCE_TABLE = {
    20: [0.017, 0.060, 0.120, 0.264, 0.608, 0.824],
    22: [0.020, 0.071, 0.140, 0.302, 0.661, 0.863],
    25: [0.026, 0.089, 0.172, 0.358, 0.729, 0.907],
}
RATES = [0.01, 0.02, 0.03, 0.05, 0.10, 0.15]


@pytest.mark.parametrize("n", sorted(CLINICAL_REFERENCE_TABLE))
def test_probability_rule_met_matches_clinical_reference_table(n: int) -> None:
    computed = [round(probability_rule_met(n, 2, p), 3) for p in RATES]
    assert computed == CLINICAL_REFERENCE_TABLE[n]


def test_clinical_reference_table_is_the_one_in_the_shared_file(reference_dir: Path) -> None:
    text = (reference_dir / "clinical-reference.md").read_text(encoding="utf-8")
    for n, row in CLINICAL_REFERENCE_TABLE.items():
        assert f"| {n} | " + " | ".join(f"{v:.3f}" for v in row) + " |" in text


def test_probability_rule_met_matches_designs_json(reference_dir: Path) -> None:
    rows = json.loads((reference_dir / "design" / "designs.json").read_text(encoding="utf-8"))[
        "safety_rule_ge2_deaths"
    ]
    assert len(rows) >= 20
    for row in rows:
        assert probability_rule_met(row["n"], 2, row["p_death"]) == pytest.approx(
            row["p_stop"], abs=1e-9, rel=0
        )
        p_zero_or_one = row["p_zero_deaths"] + row["p_exactly_one"]
        assert 1.0 - probability_rule_met(row["n"], 2, row["p_death"]) == pytest.approx(
            p_zero_or_one, abs=1e-9
        )


def test_probability_rule_met_closed_form_and_edges() -> None:
    n, p = 20, 0.05
    closed_form = 1 - (1 - p) ** n - n * p * (1 - p) ** (n - 1)
    assert probability_rule_met(n, 2, p) == pytest.approx(closed_form, abs=1e-12)
    assert probability_rule_met(10, 1, 0.1) == pytest.approx(1 - 0.9**10, abs=1e-12)
    assert probability_rule_met(10, 0, 0.3) == 1.0
    assert probability_rule_met(3, 4, 0.9) == 0.0
    assert probability_rule_met(5, 2, 0.0) == 0.0
    assert probability_rule_met(5, 5, 1.0) == 1.0
    assert math.isclose(probability_rule_met(25, 2, 0.10), 0.729, abs_tol=5e-4)


@pytest.mark.parametrize(
    ("n", "k", "p"), [(-1, 2, 0.1), (10, -1, 0.1), (10, 2, -0.01), (10, 2, 1.5), (10, 2, math.nan)]
)
def test_probability_rule_met_rejects_invalid_input(n: int, k: int, p: float) -> None:
    with pytest.raises(ValueError):
        probability_rule_met(n, k, p)
