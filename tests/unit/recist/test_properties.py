"""Properties of the RECIST 1.1 target rules that must hold for any measurements (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.recist.helpers import baseline, run, target, visit

SIZE = st.integers(min_value=0, max_value=3000).map(lambda tenths: tenths / 10)
BASELINE_SIZE = st.integers(min_value=100, max_value=3000).map(lambda tenths: tenths / 10)


@settings(max_examples=60, deadline=None)
@given(b1=BASELINE_SIZE, b2=BASELINE_SIZE, m1=SIZE, m2=SIZE)
def test_pd_declared_with_a_missing_target_holds_whatever_its_size(
    b1: float, b2: float, m1: float, m2: float
) -> None:
    base = baseline(target("T1", b1), target("T2", b2, site="lung"))
    partial = run(base, visit(42, {"T1": m1})).time_points[0]
    complete = run(base, visit(42, {"T1": m1, "T2": m2})).time_points[0]
    if partial.target == "PD":
        assert complete.target == "PD"
    else:
        assert partial.target == "NE"


@settings(max_examples=60, deadline=None)
@given(b=BASELINE_SIZE, m=SIZE)
def test_target_categories_follow_the_thresholds(b: float, m: float) -> None:
    tp = run(baseline(target("T1", b)), visit(42, {"T1": m})).time_points[0]
    # compare on tenths of a millimetre, exactly
    b10, m10 = round(b * 10), round(m * 10)
    if m10 - b10 >= 50 and 5 * (m10 - b10) >= b10:
        assert tp.target == "PD"
    elif m10 == 0:
        assert tp.target == "CR"
    elif 10 * m10 <= 7 * b10:
        assert tp.target == "PR"
    else:
        assert tp.target == "SD"
