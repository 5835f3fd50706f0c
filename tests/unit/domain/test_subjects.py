"""Subject life cycle: every allowed and every refused status change."""

from __future__ import annotations

import itertools

import pytest

from trialdesk.domain.subjects import (
    TERMINAL_STATUSES,
    SubjectStatus,
    TransitionNotAllowed,
    allowed_targets,
    check_transition,
    is_terminal,
)

S = SubjectStatus
EXITS = {S.died, S.withdrawn, S.lost_to_follow_up}
EXPECTED_ALLOWED = {
    (S.screening, S.screen_failed),
    (S.screening, S.enrolled),
    (S.enrolled, S.on_treatment),
    (S.on_treatment, S.off_treatment),
    (S.off_treatment, S.follow_up),
    (S.follow_up, S.completed),
} | {
    (source, exit_)
    for source in (S.enrolled, S.on_treatment, S.off_treatment, S.follow_up)
    for exit_ in EXITS
}
ALL_PAIRS = list(itertools.product(SubjectStatus, SubjectStatus))


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED_ALLOWED))
def test_allowed_transition_passes(current: SubjectStatus, target: SubjectStatus) -> None:
    check_transition(current, target)
    assert target in allowed_targets(current)


@pytest.mark.parametrize(("current", "target"), [pair for pair in ALL_PAIRS if pair not in EXPECTED_ALLOWED])
def test_refused_transition_names_the_rule(current: SubjectStatus, target: SubjectStatus) -> None:
    with pytest.raises(TransitionNotAllowed) as excinfo:
        check_transition(current, target)
    error = excinfo.value
    assert (error.current, error.target) == (current, target)
    assert str(error) == error.rule
    assert f"a subject in '{current}'" in error.rule
    assert target not in allowed_targets(current)


def test_screening_rule_message_lists_the_allowed_moves() -> None:
    with pytest.raises(TransitionNotAllowed) as excinfo:
        check_transition(S.screening, S.withdrawn)
    assert excinfo.value.rule == "a subject in 'screening' can move only to: screen_failed, enrolled"


def test_terminal_status_message_says_it_is_final() -> None:
    with pytest.raises(TransitionNotAllowed, match="'died' is in a final status"):
        check_transition(S.died, S.follow_up)


def test_terminal_statuses() -> None:
    assert {S.screen_failed, S.completed, S.died, S.withdrawn, S.lost_to_follow_up} == TERMINAL_STATUSES
    assert all(is_terminal(s) == (s in TERMINAL_STATUSES) for s in SubjectStatus)
    assert allowed_targets("completed") == ()


def test_string_values_are_accepted_and_unknown_status_is_an_error() -> None:
    check_transition("screening", "enrolled")
    with pytest.raises(TransitionNotAllowed):
        check_transition("enrolled", "screening")
    with pytest.raises(ValueError):
        check_transition("screening", "randomized")


def test_a_status_change_never_offers_a_status_that_a_coded_record_sets() -> None:
    from trialdesk.domain.subjects import RECORDED_ONLY, status_change_targets

    assert SubjectStatus.off_treatment in RECORDED_ONLY
    assert status_change_targets("on_treatment") == (
        SubjectStatus.died,
        SubjectStatus.withdrawn,
        SubjectStatus.lost_to_follow_up,
    )
    assert SubjectStatus.enrolled not in status_change_targets("screening")
    assert status_change_targets("off_treatment")[0] is SubjectStatus.follow_up
