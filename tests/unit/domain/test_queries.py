"""Query life cycle, who may move a query, and aging (issue 14).

References: the discrepancy life cycle of Oracle InForm (Adapter Discrepancy interface: issue an open
discrepancy, answer it, close it, "reissue an answered discrepancy") and OpenClinica's notes and
discrepancies (new -> updated -> closed / not applicable); the median as defined in the NIST/SEMATECH
e-Handbook of Statistical Methods, section 1.3.5.1 (even count: the mean of the two middle values).
"""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.queries import (
    QueryMove,
    QueryStatus,
    QueryTransitionNotAllowed,
    days_open,
    may_move,
    median_days,
    moves_from,
    next_status,
    status_after,
)

ALLOWED = [
    ("open", QueryMove.ANSWER, "answered"),
    ("answered", QueryMove.CLOSE, "closed"),
    ("answered", QueryMove.REOPEN, "open"),
    ("closed", QueryMove.REOPEN, "open"),
    ("open", QueryMove.CANCEL, "cancelled"),
    ("answered", QueryMove.CANCEL, "cancelled"),
]


@pytest.mark.parametrize(("start", "move", "end"), ALLOWED)
def test_allowed_moves(start: str, move: QueryMove, end: str) -> None:
    assert next_status(start, move) is QueryStatus(end)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("question", "open"),
        ("answer", "answered"),
        ("answer_changed", "answered"),
        ("close", "closed"),
        ("reopen", "open"),
        ("cancel", "cancelled"),
    ],
)
def test_the_status_after_each_kind_of_message(kind: str, status: str) -> None:
    """A thread replayed message by message (the ODM copy's annotations) gives the status each move leads
    to, the same as :func:`next_status` from any state the move may start from."""
    assert status_after(kind) is QueryStatus(status)
    if kind not in ("question", "answer_changed"):
        assert all(
            next_status(start, QueryMove(kind)) is QueryStatus(status) for start, m, _ in ALLOWED if m == kind
        )
    with pytest.raises(ValueError):
        status_after("shrug")


def test_every_other_move_is_refused_naming_the_rule() -> None:
    allowed = {(start, move) for start, move, _ in ALLOWED}
    refused = [(s, m) for s in QueryStatus for m in QueryMove if (s.value, m) not in allowed]
    assert len(refused) == 4 * 4 - len(ALLOWED)
    for status, move in refused:
        with pytest.raises(QueryTransitionNotAllowed) as caught:
            next_status(status, move)
        assert caught.value.rule and move.value in caught.value.rule
    with pytest.raises(QueryTransitionNotAllowed) as closed:
        next_status("closed", QueryMove.ANSWER)
    assert closed.value.rule == "answer_only_open_query" and "closed" in closed.value.message


def test_the_system_closes_its_own_open_query_but_nothing_final() -> None:
    assert next_status("open", QueryMove.CLOSE, by_system=True) is QueryStatus.CLOSED
    with pytest.raises(QueryTransitionNotAllowed, match="cancelled"):
        next_status("cancelled", QueryMove.CLOSE, by_system=True)


def test_who_may_move() -> None:
    assert may_move("coordinator", QueryMove.ANSWER) and may_move("investigator", QueryMove.ANSWER)
    assert not may_move("monitor", QueryMove.ANSWER) and not may_move("data_manager", QueryMove.ANSWER)
    assert may_move("data_manager", QueryMove.CLOSE) and not may_move("coordinator", QueryMove.CLOSE)
    assert not may_move("statistician", QueryMove.CANCEL)
    assert moves_from("answered", "monitor") == [QueryMove.CLOSE, QueryMove.REOPEN, QueryMove.CANCEL]
    assert moves_from("open", "coordinator") == [QueryMove.ANSWER]
    assert moves_from("cancelled", "data_manager") == []


def test_days_open_counts_calendar_days() -> None:
    # 1 March to 31 March 2026: 30 days; across the end of February of a leap year (2028): 2 days
    assert days_open(dt.date(2026, 3, 1), dt.date(2026, 3, 31), dt.date(2026, 6, 1)) == 30
    assert days_open(dt.date(2028, 2, 28), None, dt.date(2028, 3, 1)) == 2
    assert days_open(dt.date(2026, 3, 1), None, dt.date(2026, 3, 1)) == 0
    assert days_open(dt.date(2026, 3, 2), None, dt.date(2026, 3, 1)) == 0  # a clock behind: never negative


def test_median_of_ages() -> None:
    assert median_days([]) is None
    assert median_days([5, 1, 3]) == 3.0
    assert median_days([1, 2, 3, 10]) == 2.5
