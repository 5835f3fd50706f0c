"""Phase state machine and the run-in -> randomization gate of SCR-ESCC-01 (seed 002)."""

from __future__ import annotations

import itertools

import pytest

from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.trial_phase import (
    PhaseState,
    PhaseTransitionRefused,
    check_phase_transition,
    current_phase_id,
    enrolment_allowed,
    enrolment_target,
    initial_state,
    randomization_allowed,
)

P = PhaseState
# (current, target) -> the (stopping_rule_met, signed_review) combinations that are accepted
ACCEPTED: dict[tuple[PhaseState, PhaseState], set[tuple[bool, bool]]] = {
    (P.enrolment_open, P.enrolment_closed): {(False, False), (False, True), (True, False), (True, True)},
    (P.enrolment_open, P.terminated): {(True, False), (False, True), (True, True)},
    (P.run_in_open, P.run_in_review): {(False, False), (False, True), (True, False), (True, True)},
    (P.run_in_open, P.terminated): {(True, False), (False, True), (True, True)},
    (P.run_in_review, P.randomized_open): {(False, True)},
    (P.run_in_review, P.run_in_open): {(False, True)},
    (P.run_in_review, P.terminated): {(True, False), (False, True), (True, True)},
    (P.randomized_open, P.terminated): {(True, False), (False, True), (True, True)},
    (P.terminated, P.run_in_review): {(False, True)},
}
FLAGS = list(itertools.product([False, True], repeat=2))
CASES = [(c, t, met, signed) for c, t in itertools.product(PhaseState, PhaseState) for met, signed in FLAGS]


@pytest.mark.parametrize(("current", "target", "met", "signed"), CASES)
def test_every_phase_transition_matrix_entry(
    current: PhaseState, target: PhaseState, met: bool, signed: bool
) -> None:
    if (met, signed) in ACCEPTED.get((current, target), set()):
        check_phase_transition(current, target, stopping_rule_met=met, signed_review=signed)
    else:
        with pytest.raises(PhaseTransitionRefused) as excinfo:
            check_phase_transition(current, target, stopping_rule_met=met, signed_review=signed)
        assert excinfo.value.reason == str(excinfo.value)
        assert (excinfo.value.current, excinfo.value.target) == (current, target)


def test_randomization_without_signature_is_refused_with_the_reason() -> None:
    with pytest.raises(PhaseTransitionRefused, match="without a signed safety review"):
        check_phase_transition(
            P.run_in_review, P.randomized_open, stopping_rule_met=False, signed_review=False
        )


def test_randomization_with_stopping_rule_met_is_refused_even_when_signed() -> None:
    with pytest.raises(PhaseTransitionRefused, match="stopping rule of the safety gate is met"):
        check_phase_transition(P.run_in_review, P.randomized_open, stopping_rule_met=True, signed_review=True)


def test_randomization_directly_from_the_open_run_in_is_refused() -> None:
    with pytest.raises(PhaseTransitionRefused, match="cannot move to 'randomized_open'"):
        check_phase_transition(P.run_in_open, P.randomized_open, stopping_rule_met=False, signed_review=True)


def test_termination_without_reason_is_refused() -> None:
    with pytest.raises(PhaseTransitionRefused, match="reason on record"):
        check_phase_transition(P.run_in_open, P.terminated, stopping_rule_met=False, signed_review=False)


def test_reopening_the_run_in_needs_a_signed_review() -> None:
    check_phase_transition(P.run_in_review, P.run_in_open, stopping_rule_met=False, signed_review=True)
    with pytest.raises(PhaseTransitionRefused, match="run-in again without a signed"):
        check_phase_transition(P.run_in_review, P.run_in_open, stopping_rule_met=False, signed_review=False)


def test_terminated_reopens_only_to_review_with_a_signature_and_the_rule_no_longer_met() -> None:
    with pytest.raises(PhaseTransitionRefused, match="it can move to: run_in_review"):
        check_phase_transition(P.terminated, P.run_in_open, stopping_rule_met=False, signed_review=True)
    with pytest.raises(PhaseTransitionRefused, match="stopping rule of the safety gate is met"):
        check_phase_transition(P.terminated, P.run_in_review, stopping_rule_met=True, signed_review=True)
    with pytest.raises(PhaseTransitionRefused, match="without a signed safety review"):
        check_phase_transition(P.terminated, P.run_in_review, stopping_rule_met=False, signed_review=False)
    check_phase_transition(P.terminated, P.run_in_review, stopping_rule_met=False, signed_review=True)


def test_scr_escc_opens_in_the_run_in(scr_escc: Protocol) -> None:
    assert initial_state(scr_escc) == P.run_in_open
    assert current_phase_id(scr_escc, P.run_in_open) == "iia"
    assert current_phase_id(scr_escc, P.run_in_review) == "iia"
    assert current_phase_id(scr_escc, P.randomized_open) == "iib"
    assert current_phase_id(scr_escc, P.terminated) is None


def test_scr_escc_enrolment_targets(scr_escc: Protocol) -> None:
    run_in = enrolment_target(scr_escc, P.run_in_open)
    randomized = enrolment_target(scr_escc, "randomized_open")
    assert run_in is not None and (run_in.min, run_in.max) == (20, 25)
    assert randomized is not None and (randomized.min, randomized.max) == (135, 140)
    assert enrolment_target(scr_escc, P.terminated) is None


def test_single_arm_trial_opens_enrolment(ivo_shfrt: Protocol) -> None:
    assert initial_state(ivo_shfrt) == P.enrolment_open
    assert current_phase_id(ivo_shfrt, P.enrolment_open) == "main"
    target = enrolment_target(ivo_shfrt, P.enrolment_open)
    assert target is not None and (target.min, target.max) == (37, 37)
    assert current_phase_id(ivo_shfrt, P.randomized_open) is None


def test_purely_randomized_design_opens_randomization(scr_escc: Protocol) -> None:
    randomized_only = scr_escc.design.model_copy(
        update={"type": "randomized", "phases": [scr_escc.phase("iib")], "gates": []}
    )
    protocol = scr_escc.model_copy(update={"design": randomized_only})
    assert initial_state(protocol) == P.randomized_open
    assert current_phase_id(protocol, P.randomized_open) == "iib"


@pytest.mark.parametrize(
    ("state", "enrol", "randomize"),
    [
        (P.enrolment_open, True, False),
        (P.enrolment_closed, False, False),
        (P.run_in_open, True, False),
        (P.run_in_review, False, False),
        (P.randomized_open, True, True),
        (P.terminated, False, False),
    ],
)
def test_enrolment_and_randomization_are_open_only_in_their_states(
    state: PhaseState, enrol: bool, randomize: bool
) -> None:
    assert enrolment_allowed(state) is enrol
    assert randomization_allowed(state) is randomize
