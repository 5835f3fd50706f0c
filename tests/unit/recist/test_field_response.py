"""In-field / out-of-field (abscopal) response, against hand-worked examples.

Rules: RECIST 1.1 (Eisenhauer 2009) s4.3 sums (nodes by short axis) and s4.3.1 thresholds applied to
each subset; out-of-field (abscopal) response = non-irradiated target sum >= 30 % below its baseline,
as radio-immunotherapy trials define the response of non-irradiated lesions (Theelen 2019 PEMBRO-RT,
JAMA Oncol 5:1276; Welsh 2020, J Immunother Cancer 8:e001001).
"""

from __future__ import annotations

from tests.unit.recist.helpers import baseline, day, run, target, target_node, visit
from trialdesk.domain.protocol.model import AbscopalRule, Parameter
from trialdesk.domain.recist.field_response import FieldRule, field_response
from trialdesk.protocols.loader import load_registry

# Worked example (hand computation):
#   primary oesophagus 40 mm + regional node 20 mm short axis = in-field baseline 60 mm;
#   liver 30 mm + lung 20 mm                                   = out-of-field baseline 50 mm.
#   Day 42: in 24 + 12 = 36 mm (-40 %); out 20 + 15 = 35 mm (-30 % exactly: meets the rule, inclusive).
#   Day 84: in 20 + 9 = 29 mm (-51.67 %, node < 10 mm); out 18 + 14 = 32 mm (-36 %; -8.57 % from the
#   35 mm nadir). The day-84 scan, 42 days on, confirms the out-of-field response.
BASE = baseline(
    target("primary", 40, site="oesophagus"),
    target_node("node", 20),
    target("liver", 30, site="liver"),
    target("lung", 20, site="lung"),
)
FLAGS = {"primary": True, "node": True, "liver": False, "lung": False}
VISITS = [
    visit(42, {"primary": 24, "node": 12, "liver": 20, "lung": 15}),
    visit(84, {"primary": 20, "node": 9, "liver": 18, "lung": 14}),
]


def test_worked_example_sums_and_changes_per_subset() -> None:
    result = field_response(BASE, VISITS, FLAGS)
    assert result.in_field.baseline_sum_mm == 60
    assert result.out_of_field.baseline_sum_mm == 50
    inside = [(p.sum_mm, p.pct_from_baseline, p.response) for p in result.in_field.time_points]
    assert inside == [(36, -40.0, "PR"), (29, -51.67, "PR")]
    outside = [(p.sum_mm, p.pct_from_baseline, p.pct_from_nadir) for p in result.out_of_field.time_points]
    assert outside == [(35, -30.0, -30.0), (32, -36.0, -8.57)]
    assert result.out_of_field.best_pct_from_baseline == -36.0
    assert result.in_field.best_response == "PR"


def test_worked_example_abscopal_response_at_exactly_30_percent_confirmed() -> None:
    result = field_response(BASE, VISITS, FLAGS, FieldRule(confirmation=True))
    assert (result.abscopal, result.abscopal_date, result.abscopal_confirmed) == ("yes", day(42), True)


def test_29_percent_decrease_is_not_an_abscopal_response() -> None:
    # out-of-field 21 + 14.5 = 35.5 mm = -29 %: below the threshold.
    result = field_response(BASE, [visit(42, {"primary": 24, "node": 12, "liver": 21, "lung": 14.5})], FLAGS)
    assert result.out_of_field.time_points[0].pct_from_baseline == -29.0
    assert result.abscopal == "no"


def test_unconfirmed_when_the_protocol_requires_confirmation() -> None:
    # only one scan meets the rule; with confirmation required that is not a response
    first = VISITS[:1]
    assert field_response(BASE, first, FLAGS, FieldRule(confirmation=True)).abscopal == "no"
    assert field_response(BASE, first, FLAGS, FieldRule(confirmation=False)).abscopal == "yes"


def test_no_non_irradiated_target_lesion_is_not_evaluable() -> None:
    result = field_response(BASE, VISITS, {"primary": True, "node": True, "liver": True, "lung": True})
    assert result.abscopal == "NE"
    assert result.out_of_field.lesions == []
    assert result.in_field.baseline_sum_mm == 110


def test_unflagged_lesions_belong_to_neither_subset() -> None:
    result = field_response(BASE, VISITS, {"primary": True, "liver": False})
    assert result.unassigned == ["node", "lung"]
    assert result.in_field.lesions == ["primary"]
    assert result.out_of_field.baseline_sum_mm == 30


def test_scans_from_the_overall_progression_on_do_not_count() -> None:
    # a shrinking non-irradiated subset at the scan where the patient progresses (e.g. a new lesion)
    result = field_response(BASE, VISITS, FLAGS, progression_date=day(42))
    assert result.abscopal == "no"
    assert result.out_of_field.best_response == "PD"
    assert result.out_of_field.best_pct_from_baseline is None


def test_missing_lesion_makes_the_subset_sum_incomplete() -> None:
    result = field_response(BASE, [visit(42, {"primary": 24, "node": 12, "liver": 20})], FLAGS)
    point = result.out_of_field.time_points[0]
    assert (point.sum_mm, point.missing, point.response, point.meets_rule) == (None, ["lung"], "NE", None)
    assert result.abscopal == "NE"


def test_same_sums_as_the_recist_engine_when_all_lesions_are_in_one_subset() -> None:
    everything = {lesion.id: False for lesion in BASE.lesions}
    report = run(BASE, *VISITS)
    result = field_response(BASE, VISITS, everything)
    assert [p.sum_mm for p in result.out_of_field.time_points] == [tp.sum_mm for tp in report.time_points]
    assert [p.pct_from_nadir for p in result.out_of_field.time_points] == [
        tp.pct_from_nadir for tp in report.time_points
    ]


def test_rule_from_the_protocol_defaults_to_its_response_confirmation() -> None:
    registry = load_registry()
    for protocol in registry:
        rule = FieldRule.from_tumour_assessment(protocol.tumour_assessment)
        assert rule.min_decrease == 0.30
        assert rule.confirmation == protocol.tumour_assessment.confirmation_required.value
    explicit = AbscopalRule(confirmation=Parameter[bool](value=True, provenance="default", rationale="test"))
    assessment = registry.get("scr-escc-01").tumour_assessment.model_copy(update={"abscopal": explicit})
    assert FieldRule.from_tumour_assessment(assessment).confirmation is True
