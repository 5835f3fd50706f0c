"""RECIST 1.1 s4.3.3 new lesions: unequivocal new lesions are PD; equivocal ones wait for confirmation."""

from __future__ import annotations

from tests.unit.recist.helpers import baseline, day, new_lesion, non_target, overall, run, target, visit


def test_unequivocal_new_lesion_is_pd_whatever_the_targets() -> None:
    report = run(baseline(target("T1", 50)), visit(42, {"T1": 20}, new=[new_lesion("X1", site="bone")]))
    tp = report.time_points[0]
    assert (tp.target, tp.new_lesion, tp.overall) == ("PR", "yes", "PD")
    assert report.progression_date == day(42)


def test_equivocal_new_lesion_does_not_count() -> None:
    report = run(baseline(target("T1", 50)), visit(42, {"T1": 40}, new=[new_lesion("X1", equivocal=True)]))
    tp = report.time_points[0]
    assert (tp.new_lesion, tp.overall) == ("equivocal", "SD")
    assert report.progression_date is None


def test_equivocal_new_lesion_later_confirmed_dates_progression_back_to_first_scan() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}),
        visit(84, {"T1": 40}, new=[new_lesion("X1", equivocal=True)]),
        visit(126, {"T1": 40}, new=[new_lesion("X1")]),
    )
    assert overall(report) == ["SD", "PD", "PD"]
    assert report.time_points[1].new_lesion == "yes"
    assert "confirmed on 2024-05-06" in report.time_points[1].notes[0]
    assert report.progression_date == day(84)


def test_equivocal_new_lesion_that_resolves_never_counts() -> None:
    report = run(
        baseline(target("T1", 50)),
        visit(42, {"T1": 40}, new=[new_lesion("X1", equivocal=True)]),
        visit(84, {"T1": 40}),
    )
    assert overall(report) == ["SD", "SD"]
    assert report.progression_date is None


def test_new_lesion_with_non_target_disease_only_is_pd() -> None:
    report = run(
        baseline(non_target("NT1")), visit(42, non_targets={"NT1": "present"}, new=[new_lesion("X1")])
    )
    assert overall(report) == ["PD"]
