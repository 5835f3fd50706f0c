"""RECIST 1.1 s4.3.1 target-lesion response at one time point (Eisenhauer 2009)."""

from __future__ import annotations

from tests.unit.recist.helpers import baseline, run, single_target_sums, target, target_node, visit


def test_sum_of_diameters_adds_longest_diameters_and_node_short_axes() -> None:
    report = run(baseline(target("T1", 30), target_node("N1", 20)), visit(42, {"T1": 25.5, "N1": 12}))
    assert report.baseline_sum_mm == 50
    assert report.time_points[0].sum_mm == 37.5
    assert report.time_points[0].pct_from_baseline == -25.0


def test_pr_at_exactly_30_percent_decrease() -> None:
    assert single_target_sums(100, 70).time_points[0].target == "PR"


def test_pr_boundary_is_exact_with_decimal_measurements() -> None:
    # 12.3 -> 8.61 is exactly -30 % (binary floating point would get this wrong)
    assert single_target_sums(12.3, 8.61).time_points[0].target == "PR"


def test_29_9_percent_decrease_is_sd() -> None:
    assert single_target_sums(100, 70.1).time_points[0].target == "SD"


def test_pd_at_exactly_20_percent_and_5_mm_increase_from_nadir() -> None:
    tp = single_target_sums(25, 30).time_points[0]
    assert tp.pct_from_nadir == 20.0
    assert tp.target == "PD"


def test_20_percent_increase_under_5_mm_is_not_pd() -> None:
    tp = single_target_sums(20, 24).time_points[0]
    assert tp.pct_from_nadir == 20.0
    assert tp.target == "SD"


def test_5_mm_increase_under_20_percent_is_not_pd() -> None:
    assert single_target_sums(100, 105).time_points[0].target == "SD"


def test_pd_is_measured_from_the_nadir_after_baseline() -> None:
    report = single_target_sums(100, 60, 72)
    second = report.time_points[1]
    assert second.nadir_mm == 60
    assert second.pct_from_baseline == -28.0
    assert second.pct_from_nadir == 20.0
    assert second.target == "PD"


def test_nadir_includes_baseline_when_sums_only_grow() -> None:
    report = single_target_sums(50, 55, 60)
    assert [tp.nadir_mm for tp in report.time_points] == [50, 50]
    assert [tp.target for tp in report.time_points] == ["SD", "PD"]


def test_cr_when_non_nodal_targets_gone_and_node_shrinks_from_16_to_9_mm() -> None:
    report = run(baseline(target("T1", 20), target_node("N1", 16)), visit(42, {"T1": 0, "N1": 9}))
    tp = report.time_points[0]
    assert tp.sum_mm == 9  # the node's actual short axis stays in the sum
    assert tp.target == "CR"


def test_node_of_10_mm_prevents_cr() -> None:
    report = run(baseline(target("T1", 20), target_node("N1", 16)), visit(42, {"T1": 0, "N1": 10}))
    assert report.time_points[0].target == "PR"


def test_too_small_to_measure_counts_5_mm_and_prevents_cr() -> None:
    report = run(
        baseline(target("T1", 20), target("T2", 20, site="lung")), visit(42, {"T1": "too_small", "T2": 0})
    )
    tp = report.time_points[0]
    assert tp.sum_mm == 5
    assert tp.target == "PR"


def test_too_small_default_is_a_setting() -> None:
    report = run(baseline(target("T1", 20)), visit(42, {"T1": "too_small"}), too_small_mm=3.0)
    assert report.time_points[0].sum_mm == 3


def test_too_small_lesion_reappearing_after_disappearing_can_be_pd() -> None:
    # nadir 0 mm: +5 mm (too small to measure) is >= 5 mm and >= 20 % of 0
    report = run(baseline(target("T1", 20)), visit(42, {"T1": 0}), visit(84, {"T1": "too_small"}))
    assert [tp.target for tp in report.time_points] == ["CR", "PD"]


def test_missing_target_measurement_is_ne() -> None:
    report = run(baseline(target("T1", 30), target("T2", 30, site="lung")), visit(42, {"T1": 10, "T2": None}))
    tp = report.time_points[0]
    assert tp.target == "NE"
    assert tp.sum_mm is None
    assert tp.measured_sum_mm == 10
    assert tp.missing_targets == ["T2"]


def test_missing_target_still_pd_when_progression_is_certain() -> None:
    report = run(baseline(target("T1", 30), target("T2", 30, site="lung")), visit(42, {"T1": 80}))
    assert report.time_points[0].target == "PD"
    assert report.time_points[0].overall == "PD"


def test_incomplete_sum_does_not_become_the_nadir() -> None:
    report = run(
        baseline(target("T1", 30), target("T2", 30, site="lung")),
        visit(42, {"T1": 5}),
        visit(84, {"T1": 30, "T2": 30}),
    )
    assert report.time_points[1].nadir_mm == 60
    assert report.time_points[1].target == "SD"
