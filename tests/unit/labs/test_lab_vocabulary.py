"""domain/labs: one catalogue of tests, the validity window and the baseline rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.domain.labs.baseline import BaselineIndex, baseline_of
from trialdesk.domain.labs.catalogue import LAB_TESTS, is_lab_test
from trialdesk.domain.labs.result import LabResult, latest_result, within_validity
from trialdesk.domain.labs.units import TESTS

D = dt.date(2026, 3, 1)


def test_every_catalogue_test_has_units_and_nothing_else_does() -> None:
    assert set(TESTS) == set(LAB_TESTS)
    assert is_lab_test("alt")
    assert not is_lab_test("ALT")


def _lab(days_before: int, value: float, test: str = "hemoglobin") -> LabResult:
    return LabResult.model_validate(
        {"test": test, "value": value, "unit": "g/L", "date": D - dt.timedelta(days=days_before)}
    )


def test_latest_result_is_the_most_recent_on_or_before_the_date_last_listed_on_a_tie() -> None:
    labs = [_lab(10, 100), _lab(3, 110), _lab(3, 120), _lab(-1, 130), _lab(1, 90, test="albumin")]
    latest = latest_result(labs, "hemoglobin", D)
    assert latest is not None and latest.value == 120
    assert latest_result(labs, "platelets", D) is None


def test_validity_window_includes_its_last_day() -> None:
    assert within_validity(D - dt.timedelta(days=28), D, 28)
    assert not within_validity(D - dt.timedelta(days=29), D, 28)


@dataclass(frozen=True)
class Row:
    id: int
    test: str
    collected_date: dt.date
    is_baseline: bool


def test_baseline_is_the_latest_flagged_result_of_the_test_on_or_before_the_result() -> None:
    rows = [
        Row(1, "alt", D - dt.timedelta(days=20), True),
        Row(2, "alt", D - dt.timedelta(days=5), True),
        Row(3, "alt", D - dt.timedelta(days=5), True),
        Row(4, "ast", D - dt.timedelta(days=1), True),
        Row(5, "alt", D + dt.timedelta(days=1), True),
        Row(6, "alt", D, False),
    ]
    assert baseline_of(rows, rows[5]) == rows[2]  # same date: the later entered (higher id)
    assert baseline_of(rows, rows[2]) == rows[1]  # never itself
    assert baseline_of(rows, Row(7, "alt", D - dt.timedelta(days=30), False)) is None


def test_baseline_index_gives_the_same_answers_as_the_rule() -> None:
    rows = [
        Row(1, "alt", D - dt.timedelta(days=20), True),
        Row(2, "alt", D - dt.timedelta(days=5), True),
        Row(3, "alt", D - dt.timedelta(days=5), True),
        Row(4, "ast", D - dt.timedelta(days=1), True),
        Row(5, "alt", D + dt.timedelta(days=1), True),
        Row(6, "alt", D, False),
    ]
    index = BaselineIndex(rows)
    assert index.baseline_of(rows[5]) == rows[2]
    assert index.baseline_of(rows[2]) == rows[1]  # never itself
    assert index.baseline_of(rows[0]) is None
    assert index.baseline_of(Row(7, "alt", D - dt.timedelta(days=30), False)) is None
    assert index.baseline_of(Row(8, "sodium", D, False)) is None


_ROWS = st.lists(
    st.tuples(st.sampled_from(["alt", "ast"]), st.integers(min_value=0, max_value=6), st.booleans()),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(_ROWS)
def test_baseline_index_matches_the_linear_rule_on_any_history(spec: list[tuple[str, int, bool]]) -> None:
    """Property: the O(log n) look-up (issue 15) answers exactly as the O(n) rule for every result,
    whatever the order of ids and dates, ties on the same date included."""
    rows = [Row(i + 1, test, D + dt.timedelta(days=day), flag) for i, (test, day, flag) in enumerate(spec)]
    index = BaselineIndex(rows)
    for row in rows:
        assert index.baseline_of(row) == baseline_of(rows, row)
