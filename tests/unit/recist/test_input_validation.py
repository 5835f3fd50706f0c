"""Input rules: RECIST 1.1 s3 target selection, dates, lesion ids and the JSON format, as clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.recist.helpers import baseline, new_lesion, non_target, run, target, target_node, visit
from trialdesk.domain.protocol.model import LesionCounting
from trialdesk.domain.recist import Lesion
from trialdesk.domain.recist.errors import (
    AssessmentBeforeBaseline,
    AssessmentsOutOfOrder,
    DuplicateLesion,
    GroupedLesionSplit,
    InvalidResponseInput,
    NoBaselineDisease,
    NonMeasurableTarget,
    NormalNodeRecorded,
    RecistInputError,
    TooManyTargetLesions,
    TooManyTargetsPerOrgan,
    UnknownLesion,
)
from trialdesk.domain.recist.io import parse_response_input

SEED_000 = LesionCounting(regional_nodes="single_lesion", non_regional_nodes="per_station", source="seed 000")
SITES = ["liver", "lung", "bone", "adrenal", "spleen", "kidney"]


def test_six_target_lesions_are_too_many() -> None:
    lesions = [target(f"T{i}", 20, site=site) for i, site in enumerate(SITES)]
    with pytest.raises(TooManyTargetLesions, match=r"6 target lesions.*at most 5") as exc:
        run(baseline(*lesions))
    assert exc.value.field == "baseline.lesions"


def test_three_targets_in_one_organ_are_too_many() -> None:
    with pytest.raises(TooManyTargetsPerOrgan, match="3 target lesions in organ 'liver'"):
        run(baseline(target("T1", 20), target("T2", 20), target("T3", 20, site="Liver ")))


def test_all_lymph_nodes_are_one_organ_for_the_two_per_organ_rule() -> None:
    nodes = [target_node(f"N{i}", 20, station=s) for i, s in enumerate(["neck", "mediastinum", "abdomen"])]
    with pytest.raises(TooManyTargetsPerOrgan, match="lymph nodes"):
        run(baseline(*nodes))


def test_five_targets_two_per_organ_are_accepted() -> None:
    # clinical-reference.md s1.9 selection example: 45 + 40 + 38 + 35 + 32 = 190 mm
    lesions = [target("T1", 45), target("T2", 40)]
    lesions += [target("T3", 38, site="lung"), target("T4", 35, site="lung")]
    report = run(baseline(*lesions, target_node("N1", 32)))
    assert report.baseline_sum_mm == 190


def test_non_measurable_target_is_rejected() -> None:
    with pytest.raises(NonMeasurableTarget, match=r"'T2' is not measurable.*below 10 mm") as exc:
        run(baseline(target("T1", 20), target("T2", 8, site="lung")))
    assert exc.value.field == "baseline.lesions[1].role"


def test_pathological_node_under_15_mm_cannot_be_a_target() -> None:
    with pytest.raises(NonMeasurableTarget, match=r"short axis 12\.0 mm is below 15 mm"):
        run(baseline(target_node("N1", 12)))


def test_pathological_node_under_15_mm_is_a_valid_non_target() -> None:
    report = run(baseline(target("T1", 20), non_target("N1", site="lymph node", nodal=True, mm=12)))
    assert report.baseline_sum_mm == 20


def test_normal_node_is_not_a_lesion() -> None:
    with pytest.raises(NormalNodeRecorded, match="normal node"):
        run(baseline(target("T1", 20), non_target("N1", site="lymph node", nodal=True, mm=8)))


def test_target_without_baseline_measurement_is_rejected() -> None:
    lesion = Lesion(id="T1", site="liver", nodal=False, diameter_mm=None, role="target")
    with pytest.raises(NonMeasurableTarget, match="needs a baseline measurement"):
        run(baseline(lesion))


def test_seed_000_regional_nodes_count_as_one_target_lesion() -> None:
    nodes = [target_node(f"R{i}", 16, regional_node=True, station=f"s{i}") for i in range(3)]
    with pytest.raises(TooManyTargetsPerOrgan):
        run(baseline(*nodes))
    report = run(baseline(*nodes), lesion_counting=SEED_000)
    assert report.baseline_sum_mm == 48


def test_seed_000_grouped_lesion_must_have_one_role() -> None:
    lesions = [
        target_node("R1", 16, regional_node=True),
        Lesion(id="R2", site="lymph node", nodal=True, regional_node=True, diameter_mm=12, role="non_target"),
    ]
    with pytest.raises(GroupedLesionSplit, match="R1, R2"):
        run(baseline(*lesions), lesion_counting=SEED_000)


def test_node_fields_on_a_non_nodal_lesion_are_rejected() -> None:
    with pytest.raises(InvalidResponseInput, match="not a lymph node"):
        run(baseline(target("T1", 20, regional_node=True)))


def test_baseline_without_lesions_is_rejected() -> None:
    with pytest.raises(NoBaselineDisease):
        run(baseline())


def test_duplicate_baseline_lesion_id_is_rejected() -> None:
    with pytest.raises(DuplicateLesion, match="used twice"):
        run(baseline(target("T1", 20), target("T1", 30, site="lung")))


def test_assessment_dated_before_baseline_is_rejected() -> None:
    with pytest.raises(AssessmentBeforeBaseline, match="not after the baseline date") as exc:
        run(baseline(target("T1", 20)), visit(-7, {"T1": 20}))
    assert exc.value.field == "assessments[0].date"


def test_assessments_out_of_order_are_rejected() -> None:
    with pytest.raises(AssessmentsOutOfOrder) as exc:
        run(baseline(target("T1", 20)), visit(84, {"T1": 20}), visit(42, {"T1": 20}))
    assert exc.value.field == "assessments[1].date"


def test_unknown_lesion_id_in_measurements_is_rejected() -> None:
    with pytest.raises(UnknownLesion, match="'T9' is not a baseline lesion") as exc:
        run(baseline(target("T1", 20)), visit(42, {"T9": 20}))
    assert exc.value.field == "assessments[0].measurements.T9"


def test_non_target_id_in_measurements_names_the_role() -> None:
    with pytest.raises(UnknownLesion, match="other role"):
        run(baseline(target("T1", 20), non_target("NT1")), visit(42, {"NT1": 20}))


def test_unknown_non_target_id_is_rejected() -> None:
    with pytest.raises(UnknownLesion) as exc:
        run(baseline(target("T1", 20)), visit(42, {"T1": 20}, {"NT5": "present"}))
    assert exc.value.field == "assessments[0].non_target.NT5"


def test_new_lesion_reusing_a_baseline_id_is_rejected() -> None:
    with pytest.raises(DuplicateLesion, match="already a baseline lesion"):
        run(baseline(target("T1", 20)), visit(42, {"T1": 20}, new=[new_lesion("T1")]))


def test_negative_measurement_is_rejected() -> None:
    with pytest.raises(InvalidResponseInput, match="negative"):
        run(baseline(target("T1", 20)), visit(42, {"T1": -3}))


def _document(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "baseline": {
            "date": "2024-01-01",
            "lesions": [{"id": "T1", "site": "liver", "nodal": False, "role": "target", "diameter_mm": 20}],
        },
        "assessments": [{"date": "2024-02-12", "measurements": {"T1": 12}}],
    }
    doc.update(overrides)
    return doc


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"confirmation_required": "maybe"}, "confirmation_required", "valid boolean"),
        ({"assessments": [{"date": "2024-02-30"}]}, "assessments[0].date", "valid date"),
        (
            {"assessments": [{"date": "2024-02-12", "measurements": {"T1": "big"}}]},
            "assessments[0].measurements.T1",
            "",
        ),
        (
            {"assessments": [{"date": "2024-02-12", "colour": "red"}]},
            "assessments[0].colour",
            "unknown field",
        ),
        ({"baseline": {"date": "2024-01-01"}}, "baseline.lesions", "required field is missing"),
        (
            {"assessments": [{"date": "2024-02-12", "non_target": {"NT1": "gone"}}]},
            "assessments[0].non_target.NT1",
            "",
        ),
    ],
)
def test_wrong_types_name_the_field(change: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidResponseInput) as exc:
        parse_response_input(_document(**change))
    assert exc.value.field == field
    assert reason in exc.value.reason


def test_errors_are_value_errors_with_field_and_reason() -> None:
    error = UnknownLesion("assessments[0].measurements.X", "not a baseline lesion")
    assert isinstance(error, RecistInputError)
    assert isinstance(error, ValueError)
    assert str(error) == "assessments[0].measurements.X: not a baseline lesion"


def test_parsed_document_runs_through_the_engine() -> None:
    parsed = parse_response_input(_document())
    assert parsed.confirmation_required is None
    report = run(parsed.baseline, *parsed.assessments)
    assert report.time_points[0].target == "PR"
