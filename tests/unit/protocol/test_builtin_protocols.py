"""The two built-in protocol files implement their seed documents (shared/seeds/)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from trialdesk.domain.protocol import Protocol
from trialdesk.protocols import load_registry

SEEDS = Path(__file__).resolve().parents[4] / "shared" / "seeds"


@pytest.fixture(scope="module")
def ivo() -> Protocol:
    return load_registry().get("ivo-shfrt-2l")


@pytest.fixture(scope="module")
def scr() -> Protocol:
    return load_registry().get("scr-escc-01")


def _seed_items(seed_file: str) -> tuple[list[str], list[str]]:
    """Split a seed's eligibility section into its inclusion and exclusion bullet labels/texts."""
    text = (SEEDS / seed_file).read_text(encoding="utf-8")
    inclusion, exclusion = text.split("Exclusion Criteria:")
    inclusion = inclusion.split("Inclusion Criteria:")[1]
    return (
        [line for line in inclusion.splitlines() if line.startswith("- ")],
        [line for line in exclusion.splitlines() if line.startswith("- ")],
    )


def test_both_seed_protocols_are_loaded() -> None:
    assert [p.id for p in load_registry()] == ["ivo-shfrt-2l", "scr-escc-01"]


def test_seed_000_design_single_arm_37_two_years_single_centre(ivo: Protocol) -> None:
    assert ivo.seed.startswith("000_")
    assert ivo.design.type == "single_arm"
    assert ivo.design.centres == "single"
    assert ivo.design.target_enrolment.value == 37
    assert ivo.design.target_enrolment.provenance == "seed"
    assert ivo.design.study_duration_months.value == 24
    (phase,) = ivo.design.phases
    assert phase.kind == "single_arm" and phase.target_size.min == phase.target_size.max == 37
    assert ivo.arm(phase.arms[0]).interventions == ["ivonescimab", "shfrt"]


def test_seed_000_endpoints_pfs_and_safety_primary_os_dor_orr_secondary(ivo: Protocol) -> None:
    roles = {e.id: e.role for e in ivo.endpoints}
    assert roles == {
        "pfs": "primary",
        "safety": "primary",
        "os": "secondary",
        "dor": "secondary",
        "orr": "secondary",
    }


def test_seed_000_lymph_node_counting_rule_is_data(ivo: Protocol) -> None:
    counting = ivo.tumour_assessment.lesion_counting
    assert counting.regional_nodes == "single_lesion"
    assert counting.non_regional_nodes == "per_station"
    assert "inclusion c" in counting.source


def test_seed_002_run_in_then_randomized_one_to_one(scr: Protocol) -> None:
    assert scr.registry_ids == ["NCT05978193"]
    assert scr.design.centres == "multi"
    run_in, randomized = scr.design.phases
    assert run_in.kind == "run_in" and (run_in.target_size.min, run_in.target_size.max) == (20, 25)
    assert run_in.arms == ["A"] and scr.arm("A").role == "experimental"
    assert randomized.kind == "randomized" and randomized.allocation is not None
    assert randomized.allocation.ratio == {"A": 1, "B": 1}
    assert randomized.allocation.block_sizes == [2, 4]
    assert randomized.allocation.stratify_by_site


def test_seed_002_arms_components(scr: Protocol) -> None:
    assert scr.arm("A").interventions == ["pd1", "paclitaxel", "platinum", "ldrt", "cfrt"]
    assert scr.arm("B").interventions == ["pd1", "paclitaxel", "platinum"]
    ldrt, cfrt = scr.intervention("ldrt"), scr.intervention("cfrt")
    assert ldrt.kind == "radiotherapy" and ldrt.rt_type == "LDRT"
    assert cfrt.kind == "radiotherapy" and cfrt.rt_type == "CFRT"
    assert cfrt.total_dose_gy == pytest.approx(50.0)


def test_seed_002_stopping_rule_two_grade5_related_in_run_in_terminates(scr: Protocol) -> None:
    (rule,) = scr.stopping_rules
    assert rule.threshold == 2 and rule.action == "terminate"
    assert rule.counts.min_grade == 5 and rule.counts.treatment_related
    assert rule.counts.population_phase == "iia"
    (gate,) = scr.design.gates
    assert (gate.from_phase, gate.to_phase) == ("iia", "iib")
    assert gate.stopping_rules == [rule.id] and gate.requires_signed_review


def test_seed_002_primary_endpoint_pfs_from_randomization(scr: Protocol) -> None:
    primary = [e for e in scr.endpoints if e.role == "primary"]
    assert [e.id for e in primary] == ["pfs"]
    assert primary[0].origin == "randomization" and primary[0].phases == ["iib"] and primary[0].compare_arms


@pytest.mark.parametrize(
    ("protocol_id", "seed_file", "labelled"),
    [("ivo-shfrt-2l", "000_d6b3d6ff61c32633.txt", True), ("scr-escc-01", "002_d36a316939705079.txt", False)],
)
def test_every_seed_eligibility_item_has_a_criterion(
    protocol_id: str, seed_file: str, labelled: bool
) -> None:
    protocol = load_registry().get(protocol_id)
    inclusion, exclusion = _seed_items(seed_file)
    if labelled:  # seed 000 labels its items "a.", "b.", ...; sub-bullets belong to item d
        inclusion = [i for i in inclusion if re.match(r"- [a-z]\. ", i)]
        exclusion = [i for i in exclusion if re.match(r"- [a-z]\. ", i)]
        expected = {f"inclusion {chr(97 + n)}" for n in range(len(inclusion))}
        expected |= {f"exclusion {chr(97 + n)}" for n in range(len(exclusion))}
    else:
        expected = {f"inclusion {n + 1}" for n in range(len(inclusion))}
        expected |= {f"exclusion {n + 1}" for n in range(len(exclusion))}
    sources = {c.source for c in protocol.eligibility.criteria}
    assert sources == expected


def test_seed_000_item_d_becomes_one_criterion_per_organ_function_test(ivo: Protocol) -> None:
    per_source = Counter(c.source for c in ivo.eligibility.criteria)
    assert per_source["inclusion d"] == 9  # Hb, WBC, PLT, albumin, ALT, AST, bilirubin, renal, LVEF
    assert {c.rule.type for c in ivo.eligibility.criteria if c.source == "inclusion d"} == {"lab", "any_of"}


def test_investigator_judgements_are_attestations(ivo: Protocol, scr: Protocol) -> None:
    """Items 'as assessed by the responsible physician/investigator' are recorded, never computed."""
    assert {c.source for c in ivo.eligibility.criteria if c.rule.type == "attestation"} >= {
        "exclusion e",
        "exclusion f",
        "exclusion g",
    }
    assert {c.source for c in scr.eligibility.criteria if c.rule.type == "attestation"} >= {
        "inclusion 5",
        "exclusion 2",
    }


def test_open_parameters_are_marked_with_rationale(ivo: Protocol, scr: Protocol) -> None:
    for protocol in (ivo, scr):
        paths = dict(protocol.open_parameters())
        assert any(path.startswith("interventions[") and ".dose" in path for path in paths)
        assert all(len(param.rationale) > 10 for param in paths.values())
    assert ivo.intervention("ivonescimab").dose.provenance == "default"
