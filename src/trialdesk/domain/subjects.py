"""Subject status and the allowed moves between statuses (the subject life cycle of a trial).

A subject starts in ``screening`` and leaves it either as ``screen_failed`` (not eligible, or left
before enrolment) or ``enrolled``. After enrolment the subject goes through treatment and follow-up
to ``completed``; ``died``, ``withdrawn`` (consent withdrawn) and ``lost_to_follow_up`` can end any
post-enrolment status that is not already final. The terminal statuses allow no further move, so a
correction of a terminal status is a data correction (with its own audit trail), not a transition.
"""

from __future__ import annotations

from enum import StrEnum

from trialdesk.domain.errors import RuleViolation


class SubjectStatus(StrEnum):
    """Where a subject is in the trial (CDISC DS disposition events map onto the terminal values)."""

    screening = "screening"
    screen_failed = "screen_failed"
    enrolled = "enrolled"
    on_treatment = "on_treatment"
    off_treatment = "off_treatment"
    follow_up = "follow_up"
    completed = "completed"
    died = "died"
    withdrawn = "withdrawn"
    lost_to_follow_up = "lost_to_follow_up"


_EXITS = (SubjectStatus.died, SubjectStatus.withdrawn, SubjectStatus.lost_to_follow_up)

ALLOWED_TRANSITIONS: dict[SubjectStatus, tuple[SubjectStatus, ...]] = {
    SubjectStatus.screening: (SubjectStatus.screen_failed, SubjectStatus.enrolled),
    SubjectStatus.enrolled: (SubjectStatus.on_treatment, *_EXITS),
    SubjectStatus.on_treatment: (SubjectStatus.off_treatment, *_EXITS),
    SubjectStatus.off_treatment: (SubjectStatus.follow_up, *_EXITS),
    SubjectStatus.follow_up: (SubjectStatus.completed, *_EXITS),
    SubjectStatus.screen_failed: (),
    SubjectStatus.completed: (),
    SubjectStatus.died: (),
    SubjectStatus.withdrawn: (),
    SubjectStatus.lost_to_follow_up: (),
}
"""Each status -> the statuses it may move to, in the order they are listed to users."""

TERMINAL_STATUSES: frozenset[SubjectStatus] = frozenset(
    s for s, targets in ALLOWED_TRANSITIONS.items() if not targets
)
"""Statuses with no way out: screen_failed, completed, died, withdrawn, lost_to_follow_up."""


RECORDED_ONLY: frozenset[SubjectStatus] = frozenset({SubjectStatus.off_treatment})
"""Statuses reached only by recording the clinical event behind them, never by a bare status change:
``off_treatment`` is the coded end of treatment (date and CDISC reason), which moves the status
itself. A status change to it would leave a subject off treatment with no treatment end date or
reason, a fact every endpoint and export reads."""


def status_change_targets(current: SubjectStatus | str) -> tuple[SubjectStatus, ...]:
    """The statuses a status change may move a subject in ``current`` to: the allowed transitions but
    the signed enrolment and the :data:`RECORDED_ONLY` ones."""
    return tuple(
        s for s in allowed_targets(current) if s is not SubjectStatus.enrolled and s not in RECORDED_ONLY
    )


class TransitionNotAllowed(RuleViolation):
    """A subject status change that the life-cycle rules forbid (a 409).

    ``rule`` states the rule that was broken (also the message); ``current`` and ``target`` are the
    statuses of the refused move.
    """

    def __init__(self, current: SubjectStatus, target: SubjectStatus, rule: str) -> None:
        super().__init__(rule, rule=rule)
        self.current = current
        self.target = target
        self.rule: str = rule


def allowed_targets(current: SubjectStatus | str) -> tuple[SubjectStatus, ...]:
    """The statuses a subject in ``current`` may move to (empty for a terminal status)."""
    return ALLOWED_TRANSITIONS[SubjectStatus(current)]


def is_terminal(status: SubjectStatus | str) -> bool:
    """Whether ``status`` is final (no further transition allowed)."""
    return SubjectStatus(status) in TERMINAL_STATUSES


def check_transition(current: SubjectStatus | str, target: SubjectStatus | str) -> None:
    """Raise :class:`TransitionNotAllowed` unless a subject may move from ``current`` to ``target``.

    Accepts enum members or their string values (``ValueError`` for an unknown status string).
    """
    current_status, target_status = SubjectStatus(current), SubjectStatus(target)
    targets = ALLOWED_TRANSITIONS[current_status]
    if target_status in targets:
        return
    if not targets:
        rule = f"a subject in '{current_status}' is in a final status and cannot move to any other status"
    else:
        rule = f"a subject in '{current_status}' can move only to: {', '.join(targets)}"
    raise TransitionNotAllowed(current_status, target_status, rule)
