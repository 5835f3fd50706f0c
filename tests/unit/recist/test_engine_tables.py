"""RECIST 1.1 Tables 4 and 5 through the whole engine, and time points with no data (NE)."""

from __future__ import annotations

from tests.unit.recist.helpers import baseline, non_target, overall, run, target, visit


def test_table_5_non_target_disease_only_gives_non_cr_non_pd_not_sd() -> None:
    report = run(
        baseline(non_target("NT1"), non_target("NT2", site="pleura")),
        visit(42, non_targets={"NT1": "present", "NT2": "absent"}),
        visit(84, non_targets={"NT1": "absent", "NT2": "absent"}),
        visit(126, non_targets={"NT1": "absent"}),
        visit(168, non_targets={"NT1": "unequivocal_progression"}),
    )
    assert [tp.target for tp in report.time_points] == [None] * 4
    assert overall(report) == ["NON-CR/NON-PD", "CR", "NE", "PD"]


def test_target_cr_with_non_target_not_evaluated_is_pr() -> None:
    report = run(baseline(target("T1", 30), non_target("NT1")), visit(42, {"T1": 0}))
    tp = report.time_points[0]
    assert (tp.target, tp.non_target, tp.overall) == ("CR", "NE", "PR")


def test_time_point_without_any_data_is_ne() -> None:
    report = run(baseline(target("T1", 30), non_target("NT1")), visit(42))
    tp = report.time_points[0]
    assert (tp.target, tp.non_target, tp.new_lesion, tp.overall) == ("NE", "NE", "no", "NE")


def test_non_target_progression_makes_overall_pd_despite_target_pr() -> None:
    report = run(
        baseline(target("T1", 30), non_target("NT1")),
        visit(42, {"T1": 15}, {"NT1": "unequivocal_progression"}),
    )
    assert overall(report) == ["PD"]
