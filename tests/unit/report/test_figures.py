"""Report figures: non-empty images with the expected artists (curves, censor marks, bars, boxes)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from trialdesk.adapters.report.figures import (
    KmCurve,
    SwimmerRow,
    consort_figure,
    km_figure,
    spider_figure,
    swimmer_figure,
    waterfall_figure,
)
from trialdesk.analysis.snapshot import ConsortArm, ConsortCounts, TargetSumPoint, TargetSumSeries
from trialdesk.stats.kaplan_meier import kaplan_meier
from trialdesk.stats.survival_data import FloatArray

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    return buffer.getvalue()


def _x(line: Line2D) -> FloatArray:
    return np.asarray(line.get_xdata(), dtype=float)


def _y(line: Line2D) -> FloatArray:
    return np.asarray(line.get_ydata(), dtype=float)


def _gid(fig: Figure, gid: str) -> list[object]:
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def test_km_figure_has_one_curve_per_arm_censor_marks_and_numbers_at_risk() -> None:
    # Arm 1: events at 1, 4; censored at 2 and 5 (two marks). Arm 2: events at 2, 3; censored at 6 (one mark).
    km1 = kaplan_meier([1, 2, 4, 5], [1, 0, 1, 0])
    km2 = kaplan_meier([2, 3, 6], [1, 1, 0])
    fig = km_figure(
        [KmCurve("Arm A", km1, "#0072B2"), KmCurve("Arm B", km2, "#D55E00")],
        title="Figure 1. PFS",
        ylabel="PFS",
        annotation="HR 0.5",
    )
    curves = _gid(fig, "km-curve")
    assert len(curves) == 2
    marks = [m for m in _gid(fig, "censor-marks") if isinstance(m, Line2D)]
    assert sorted(len(_x(m)) for m in marks) == [1, 2]
    arm_a = next(m for m in marks if len(_x(m)) == 2)
    assert _x(arm_a).tolist() == [2.0, 5.0]
    assert np.allclose(_y(arm_a), [0.75, 0.375])
    (risk_axes,) = _gid(fig, "risk-table")
    numbers = [t.get_text() for t in risk_axes.texts if isinstance(t, Text)]  # type: ignore[attr-defined]
    # Ticks every month from 0 to 6; at risk at t = subjects followed to t or longer:
    # arm A (1, 2, 4, 5) 4,4,3,2,2,1,0 and arm B (2, 3, 6) 3,3,3,2,1,1,1.
    assert numbers[1:8] == ["4", "4", "3", "2", "2", "1", "0"]
    assert numbers[9:16] == ["3", "3", "3", "2", "1", "1", "1"]
    assert _png(fig).startswith(PNG_MAGIC)


def _series(subject_id: str, pcts: list[float | None], bor: str) -> TargetSumSeries:
    points = [
        TargetSumPoint(
            date=dt.date(2025, 1, 1) + dt.timedelta(days=42 * (i + 1)),
            days=42 * (i + 1),
            sum_mm=None if p is None else 50 * (1 + p / 100),
            pct_from_baseline=p,
            overall=bor,
        )
        for i, p in enumerate(pcts)
    ]
    measured = [p for p in pcts if p is not None]
    return TargetSumSeries(
        subject_id=subject_id,
        arm="A",
        phase_id="iib",
        baseline_sum_mm=50.0,
        points=points,
        best_pct=min(measured) if measured else None,
        bor=bor,
    )


def test_waterfall_has_one_bar_per_measured_subject_sorted_and_coloured_by_response() -> None:
    series = [
        _series("S1", [-40.0, -50.0], "PR"),
        _series("S2", [10.0], "SD"),
        _series("S3", [None], "NE"),
        _series("S4", [150.0], "PD"),
    ]
    fig = waterfall_figure({"Arm A": series}, title="Figure 2. Waterfall")
    bars = [b for b in _gid(fig, "waterfall-bar") if isinstance(b, Rectangle)]
    assert len(bars) == 3  # S3 has no measured sum
    assert [round(b.get_height()) for b in bars] == [100, 10, -50]  # +150 % drawn at the 100 % cap
    assert _png(fig).startswith(PNG_MAGIC)


def test_spider_has_one_line_per_subject_starting_at_zero() -> None:
    series = [_series("S1", [-20.0, -40.0], "PR"), _series("S2", [5.0, 30.0], "PD")]
    fig = spider_figure({"Arm A": series, "Arm B": [_series("S3", [0.0], "SD")]}, title="Figure 3. Spider")
    lines = [ln for ln in _gid(fig, "spider-line") if isinstance(ln, Line2D)]
    assert len(lines) == 3
    assert all((_x(ln)[0], _y(ln)[0]) == (0.0, 0.0) for ln in lines)
    assert _png(fig).startswith(PNG_MAGIC)


def test_swimmer_has_one_lane_per_subject_with_markers() -> None:
    rows = [
        SwimmerRow("S1", "Arm A", "#0072B2", 6.0, False, 1.4, 6.0, None),
        SwimmerRow("S2", "Arm A", "#0072B2", 9.5, True, 2.8, None, None),
        SwimmerRow("S3", "Arm B", "#D55E00", 1.2, False, None, None, 2.0),
    ]
    fig = swimmer_figure(rows, title="Figure 4. Swimmer")
    bars = [b for b in _gid(fig, "swimmer-bar") if isinstance(b, Rectangle)]
    assert sorted(round(b.get_width(), 1) for b in bars) == [1.2, 6.0, 9.5]
    ax = fig.axes[0]
    labelled = {ln.get_label(): len(_x(ln)) for ln in ax.lines}
    assert labelled == {"First response (CR/PR)": 2, "Progression": 1, "Death": 1}
    assert _png(fig).startswith(PNG_MAGIC)


def test_consort_boxes_show_the_counts() -> None:
    """CONSORT 2010 flow diagram (Schulz et al. 2010, Figure 1): enrolment, allocation, follow-up (lost
    to follow-up, discontinued intervention) and analysis boxes, plus seed 002's enrolled-but-not-yet-
    randomized phase IIb subjects in their own box; dead subjects are not "on treatment"."""
    consort = ConsortCounts(
        screened=32,
        screen_failed=6,
        screen_failures={"inc-3-ecog: ECOG 0-1": 4, "exc-6-pg-sga: PG-SGA >= 9": 2},
        not_randomized={"iib": 2},
        arms=[
            ConsortArm(
                phase_id="iia",
                arm="A",
                allocated=8,
                treated=8,
                discontinued={"death": 1},
                ongoing=7,
                died=1,
                analysed=8,
            ),
            ConsortArm(
                phase_id="iib",
                arm="A",
                allocated=8,
                treated=7,
                not_treated=1,
                discontinued={},
                ongoing=7,
                analysed=8,
            ),
            ConsortArm(
                phase_id="iib",
                arm="B",
                allocated=8,
                treated=8,
                discontinued={"progressive disease": 3},
                ongoing=5,
                left_study={"lost to follow-up": 2},
                analysed=8,
            ),
        ],
    )
    assert consort.arithmetic_errors() == []
    fig = consort_figure(
        consort,
        phase_names={"iia": "Run-in", "iib": "Randomized"},
        phase_kinds={"iia": "run_in", "iib": "randomized"},
        arm_labels={"A": "Arm A", "B": "Arm B"},
    )
    texts = [t.get_text() for t in _gid(fig, "consort-box") if isinstance(t, Text)]
    assert "Assessed for eligibility\n(n = 32)" in texts
    assert "Enrolled\n(n = 26)" in texts
    assert "Randomized\nEnrolled (n = 18)" in texts
    assert "Enrolled, not randomized\nat the cut-off\n(n = 2)" in texts
    assert any(t.startswith("Randomized to Arm B\n(n = 8)") for t in texts)
    assert any("Excluded (n = 6)" in t and "inc-3-ecog: ECOG 0-1 (n = 4)" in t for t in texts)
    assert any("Not treated (n = 1)" in t for t in texts)
    assert any("progressive disease (n = 3)" in t for t in texts)
    assert any("Left the study (n = 2)" in t and "lost to follow-up (n = 2)" in t for t in texts)
    assert any("Died (n = 1)" in t and "On treatment at cut-off (n = 7)" in t for t in texts)
    assert sum("lost to follow-up (n = 0)" in t for t in texts) == 2  # shown even when nobody is lost
    assert sum(t.startswith("Analysed (n = 8)") for t in texts) == 3
    assert _png(fig).startswith(PNG_MAGIC)
