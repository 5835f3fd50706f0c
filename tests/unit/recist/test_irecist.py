"""iRECIST (Seymour 2017): iUPD, confirmation as iCPD, reset, iBOR (Table 3) and the PFS date."""

from __future__ import annotations

import pytest

from tests.unit.recist.helpers import (
    START,
    baseline,
    day,
    new_lesion,
    non_target,
    overall,
    run,
    target,
    visit,
)
from trialdesk.domain.recist.irecist import irecist_best_response
from trialdesk.domain.recist.settings import ResponseSettings

NO_CONFIRMATION = {"confirmation_required": False}


def test_first_progression_is_iupd_and_next_assessment_confirms_icpd_by_5_mm_more() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 50}),  # +10 mm, +25 % over the nadir of 40: iUPD
        visit(126, {"T1": 55}),  # +5 mm over the iUPD sum: iCPD
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "iCPD"]
    assert report.progression_date == day(84)
    assert report.best_overall_response == "iSD"
    assert report.recist11 is not None
    assert report.recist11.progression_date == day(84)


def test_iupd_then_isd_resets_and_pfs_has_no_event() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 50}),
        visit(126, {"T1": 45}),  # back under PD criteria from the nadir: iSD, reset
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "iSD"]
    assert report.progression_date is None
    assert report.unconfirmed_progression_date is None
    assert report.recist11 is not None
    assert report.recist11.progression_date == day(84)


def test_further_increase_under_5_mm_remains_iupd_and_increases_add_up() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 50}),
        visit(126, {"T1": 54}),  # +4 mm: remains iUPD
        visit(168, {"T1": 56}),  # +2 mm more, +6 mm since iUPD: iCPD
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "iUPD", "iCPD"]
    assert report.progression_date == day(84)


def test_after_reset_a_new_progression_is_a_new_iupd_from_the_current_nadir() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 50}),
        visit(126, {"T1": 30}),  # reset (iPR), new nadir 30
        visit(168, {"T1": 36}),  # +6 mm, +20 %: new iUPD
        visit(210, {"T1": 41}),  # +5 mm: iCPD
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "iPR", "iUPD", "iCPD"]
    assert report.progression_date == day(168)
    assert report.best_overall_response == "iPR"


def test_scan_less_than_4_weeks_after_iupd_does_not_confirm() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 50}),
        visit(104, {"T1": 60}),  # 20 days later: too early
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "iUPD"]
    assert report.progression_date is None
    assert report.unconfirmed_progression_date == day(84)
    assert report.best_overall_response == "iSD"
    assert "too early" in report.time_points[2].notes[0]


def test_early_scan_with_an_additional_new_lesion_confirms_icpd() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 50}, new=[new_lesion("X1", site="bone")]),
        visit(56, {"T1": 50}, new=[new_lesion("X1", site="bone"), new_lesion("X2", site="lung")]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iCPD"]
    assert report.progression_date == day(42)


def test_non_target_driven_iupd_confirmed_by_any_further_increase() -> None:
    base = baseline(target("T1", 50), non_target("NT1"))
    persisting = run(
        base,
        visit(42, {"T1": 45}, {"NT1": "unequivocal_progression"}),
        visit(84, {"T1": 45}, {"NT1": "unequivocal_progression"}),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(persisting) == ["iUPD", "iUPD"]
    increased = run(
        base,
        visit(42, {"T1": 45}, {"NT1": "unequivocal_progression"}),
        visit(84, {"T1": 45}, {"NT1": "increased"}),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(increased) == ["iUPD", "iCPD"]


def test_new_lesion_driven_iupd_confirmed_by_new_lesion_target_sum_growing_5_mm() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 50}, new=[new_lesion("X1", diameter_mm=12)]),
        visit(84, {"T1": 50}, new=[new_lesion("X1", diameter_mm=16)]),
        visit(126, {"T1": 50}, new=[new_lesion("X1", diameter_mm=17)]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iUPD", "iCPD"]
    assert [tp.new_target_som_mm for tp in report.time_points] == [12, 16, 17]


def test_new_non_target_lesion_growth_confirms_icpd() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 50}, new=[new_lesion("X1", site="pleura")]),
        visit(84, {"T1": 50}, new=[new_lesion("X1", site="pleura", increased=True)]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iCPD"]


def test_progression_in_another_category_confirms_icpd() -> None:
    report = run(
        baseline(target("T1", 50), non_target("NT1")),
        visit(42, {"T1": 40}, {"NT1": "present"}),
        visit(84, {"T1": 50}, {"NT1": "present"}),  # target-driven iUPD
        visit(126, {"T1": 50}, {"NT1": "present"}, new=[new_lesion("X1")]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "iCPD"]


def test_new_lesion_iupd_followed_by_further_target_shrinkage_can_be_ipr() -> None:
    # EORTC iRECIST FAQ scenario B: the new lesion persists, the targets keep shrinking
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}, new=[new_lesion("X1")]),
        visit(84, {"T1": 30}, new=[new_lesion("X1")]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iPR"]


def test_new_lesion_iupd_without_any_change_remains_iupd() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 30}, new=[new_lesion("X1")]),
        visit(84, {"T1": 30}, new=[new_lesion("X1")]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iUPD"]


def test_iupd_followed_by_ne_stays_pending() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 50}),
        visit(126),
        visit(168, {"T1": 56}),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iSD", "iUPD", "NE", "iCPD"]
    assert report.progression_date == day(84)


# iRECIST Table 3 (randomised study, no confirmation of CR/PR); time points every 6 weeks.
IBOR_EXAMPLES = [
    (["iCR", "iPR", "iUPD", "iUPD", "iCPD"], "iCR"),
    (["iCR", "NE", "iCR", "iUPD", "iCPD"], "iCR"),
    (["iUPD", "iSD", "iCR", "iUPD", "iCPD"], "iCR"),
    (["iUPD", "NE", "iCR", "NE", "iPR"], "iCR"),
    (["iUPD", "iPR", "iSD", "NE", "iCPD"], "iPR"),
    (["iUPD", "iSD", "iPR", "iUPD", "iCPD"], "iPR"),
    (["iUPD", "NE", "iPR", "iSD", "NE"], "iPR"),
    (["iUPD", "iSD", "iUPD", "iCPD", "iPR"], "iSD"),
    (["iUPD", "iSD", "NE", "NE", "NE"], "iSD"),
    (["iUPD", "iCPD", "iPR", "iCR", "iSD"], "iCPD"),
    (["iUPD", "iUPD", "iCPD", "iCR", "iCR"], "iCPD"),
    (["iUPD", "NE", "NE", "NE", "NE"], "iUPD"),
]


@pytest.mark.parametrize(("responses", "expected"), IBOR_EXAMPLES)
def test_table_3_ibor_examples(responses: list[str], expected: str) -> None:
    settings = ResponseSettings(confirmation_required=False)
    points = [(day(42 * (i + 1)), response) for i, response in enumerate(responses)]
    assert irecist_best_response(START, points, settings).response == expected


def test_unknown_irecist_response_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an iRECIST"):
        irecist_best_response(START, [(day(42), "PD")], ResponseSettings())


def test_further_increase_is_measured_on_the_lesions_measured_at_iupd() -> None:
    report = run(
        baseline(target("T1", 30), target("T2", 30, site="lung")),
        visit(42, {"T1": 80}),  # T2 not assessed, PD certain: iUPD on T1 alone
        visit(84, {"T1": 80, "T2": 30}),  # T1 unchanged: remains iUPD although the sum is 110
        visit(126, {"T1": 85, "T2": 30}),  # T1 +5 mm: iCPD
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iUPD", "iCPD"]
    assert report.progression_date == day(42)


def test_persisting_new_lesion_after_reset_prevents_icr() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}, new=[new_lesion("X1")]),
        visit(84, {"T1": 0}, new=[new_lesion("X1")]),  # further shrinkage: reset, but X1 is still there
        visit(126, {"T1": 0}),  # X1 gone: iCR
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iPR", "iCR"]
    assert report.best_overall_response == "iCR"


def test_after_reset_known_new_lesions_give_a_new_iupd_only_when_more_appear() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}, new=[new_lesion("X1")]),
        visit(84, {"T1": 30}, new=[new_lesion("X1")]),
        visit(126, {"T1": 30}, new=[new_lesion("X1")]),
        visit(168, {"T1": 30}, new=[new_lesion("X1"), new_lesion("X2", site="bone")]),
        rules="irecist",
        **NO_CONFIRMATION,
    )
    assert overall(report) == ["iUPD", "iPR", "iPR", "iUPD"]
    assert report.unconfirmed_progression_date == day(168)


def test_recist_1_1_calls_every_time_point_with_a_new_lesion_pd() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}, new=[new_lesion("X1")]),
        visit(84, {"T1": 30}, new=[new_lesion("X1")]),
    )
    assert overall(report) == ["PD", "PD"]
    assert report.best_overall_response == "PD"
