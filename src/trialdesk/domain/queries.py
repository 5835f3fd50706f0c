"""Data queries: the life cycle of a question on a value, who may move it, and how long it stays open.

A query is opened (``open``) by a monitor, a data manager or an edit check; site staff answer it
(``answered``); the monitor or data manager closes it (``closed``) or re-opens it (back to ``open``),
and may cancel an open or answered query raised in error (``cancelled``). A closed query can be
re-opened; closed and cancelled queries are otherwise final. The system (an edit check) may also close
an open query whose condition no longer holds. This is the discrepancy life cycle of the established
EDC systems (Oracle InForm: issue -> answer -> close, "reissue an answered discrepancy"; OpenClinica's
notes and discrepancies: new -> updated -> closed / not applicable).

Aging is counted in whole calendar days from the day a query was opened to the day it was closed or
cancelled (or to today while it is unresolved): opened and closed on the same day is 0 days.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from enum import StrEnum

from trialdesk.domain.errors import RuleViolation
from trialdesk.domain.roles import Capability, Role, can


class QueryStatus(StrEnum):
    """Where a query is in its life cycle."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class QueryMove(StrEnum):
    """What a user (or the system) does to a query; each move adds one message to its thread."""

    ANSWER = "answer"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"


class QueryOrigin(StrEnum):
    """Who raised the query: a person (monitor, data manager) or an edit check."""

    MANUAL = "manual"
    SYSTEM = "system"


UNRESOLVED: frozenset[QueryStatus] = frozenset({QueryStatus.OPEN, QueryStatus.ANSWERED})
"""States that still wait for someone (counted as open in aging)."""

MOVE_CAPABILITY: dict[QueryMove, Capability] = {
    QueryMove.ANSWER: Capability.ANSWER_QUERY,
    QueryMove.CLOSE: Capability.CLOSE_QUERY,
    QueryMove.REOPEN: Capability.CLOSE_QUERY,
    QueryMove.CANCEL: Capability.CLOSE_QUERY,
}
"""The capability a person needs for each move (roles in :mod:`trialdesk.domain.roles`)."""

_ALLOWED_FROM: dict[QueryMove, tuple[frozenset[QueryStatus], QueryStatus, str]] = {
    QueryMove.ANSWER: (frozenset({QueryStatus.OPEN}), QueryStatus.ANSWERED, "answer_only_open_query"),
    QueryMove.CLOSE: (frozenset({QueryStatus.ANSWERED}), QueryStatus.CLOSED, "close_only_answered_query"),
    QueryMove.REOPEN: (
        frozenset({QueryStatus.ANSWERED, QueryStatus.CLOSED}),
        QueryStatus.OPEN,
        "reopen_only_answered_or_closed_query",
    ),
    QueryMove.CANCEL: (UNRESOLVED, QueryStatus.CANCELLED, "cancel_only_unresolved_query"),
}
"""Move -> (states it may start from, the state it leads to, the rule named when refused)."""

SYSTEM_CLOSE_FROM: frozenset[QueryStatus] = UNRESOLVED
"""An edit check closes its own query, open or answered, when its condition no longer holds."""


class QueryTransitionNotAllowed(RuleViolation):
    """This move is not allowed from the query's current state."""


def next_status(status: QueryStatus | str, move: QueryMove, *, by_system: bool = False) -> QueryStatus:
    """The state a query in ``status`` reaches by ``move``; :class:`QueryTransitionNotAllowed` naming
    the rule otherwise (``by_system``: an edit check closing its own query, which may close an open one)."""
    current = QueryStatus(status)
    sources, target, rule = _ALLOWED_FROM[move]
    if by_system and move is QueryMove.CLOSE:
        sources, rule = SYSTEM_CLOSE_FROM, "system_closes_only_unresolved_query"
    if current not in sources:
        allowed = " or ".join(sorted(sources))
        raise QueryTransitionNotAllowed(
            f"cannot {move.value} a query that is {current.value}: only a query that is {allowed} can be "
            f"{_past(move)}",
            rule=rule,
        )
    return target


QUESTION = "question"
"""The kind of a thread's first message (the query raised)."""

ANSWER_WITH_CHANGE = "answer_changed"
"""The kind of an answer that says the data were changed (checked against the audit trail)."""


def status_after(kind: str) -> QueryStatus:
    """The state a query is in after a message of ``kind`` (``question``, ``answer``,
    ``answer_changed``, ``close``, ``reopen``, ``cancel``): the state its move leads to."""
    if kind == QUESTION:
        return QueryStatus.OPEN
    move = QueryMove.ANSWER if kind == ANSWER_WITH_CHANGE else QueryMove(kind)
    return _ALLOWED_FROM[move][1]


def _past(move: QueryMove) -> str:
    return {"answer": "answered", "close": "closed", "reopen": "re-opened", "cancel": "cancelled"}[move.value]


def may_move(role: Role | str, move: QueryMove) -> bool:
    """Whether a person of ``role`` may make ``move`` (the site check is the service's)."""
    return can(role, MOVE_CAPABILITY[move])


def moves_from(status: QueryStatus | str, role: Role | str) -> list[QueryMove]:
    """The moves ``role`` may make on a query in ``status`` (what a page offers), in a stable order."""
    current = QueryStatus(status)
    return [
        move for move, (sources, _, _) in _ALLOWED_FROM.items() if current in sources and may_move(role, move)
    ]


def days_open(opened_on: dt.date, resolved_on: dt.date | None, today: dt.date) -> int:
    """Whole calendar days from opening to resolution (or to ``today`` while unresolved); never negative.

    Opened 2026-03-01 and closed 2026-03-31 is 30 days (the ISO 8601 calendar day count, as
    ``date.__sub__``); opened and closed the same day is 0.
    """
    end = resolved_on if resolved_on is not None else today
    return max((end - opened_on).days, 0)


def median_days(values: Sequence[int]) -> float | None:
    """The median of ``values`` (the mean of the two middle values for an even count), None if empty.

    Definition: NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.5.1 "Measures of Location".
    """
    return float(statistics.median(values)) if values else None
