"""The trial phase state machine and its gate (seed 002: safety run-in, then randomization).

States and moves::

    single-arm trial:  enrolment_open -> enrolment_closed | terminated
    run-in design:     run_in_open -> run_in_review -> randomized_open | terminated
                       run_in_open -> terminated
                       run_in_review -> run_in_open   (a signed review reopens the run-in)
    randomized phase:  randomized_open -> terminated
    re-opening:        terminated -> run_in_review   (signed review, stopping rule no longer met)

Randomization opens only after a signed safety review with no stopping rule met (the phase gate of
docs/architecture.md); a trial is terminated only for a reason on record: a met stopping rule or a
signed review (e.g. a DSMB decision). A trial terminated by a stopping rule whose count later falls
below its threshold (an attribution downgrade) is never re-opened by the monitor: only a signed
safety review moves it back to ``run_in_review`` (a held state: no enrolment, no randomization), from
which a further signed review is needed to open anything. The functions are pure; the service
layer evaluates the stopping rules (:mod:`trialdesk.domain.safety.stopping_rules`) and records the signature.
"""

from __future__ import annotations

from enum import StrEnum

from trialdesk.domain.errors import RuleViolation
from trialdesk.domain.protocol.model import Phase, Protocol, SizeRange


class PhaseState(StrEnum):
    """Where a trial is in its sequence of phases."""

    enrolment_open = "enrolment_open"
    enrolment_closed = "enrolment_closed"
    run_in_open = "run_in_open"
    run_in_review = "run_in_review"
    randomized_open = "randomized_open"
    terminated = "terminated"


ALLOWED_PHASE_TRANSITIONS: dict[PhaseState, tuple[PhaseState, ...]] = {
    PhaseState.enrolment_open: (PhaseState.enrolment_closed, PhaseState.terminated),
    PhaseState.enrolment_closed: (),
    PhaseState.run_in_open: (PhaseState.run_in_review, PhaseState.terminated),
    PhaseState.run_in_review: (PhaseState.randomized_open, PhaseState.terminated, PhaseState.run_in_open),
    PhaseState.randomized_open: (PhaseState.terminated,),
    PhaseState.terminated: (PhaseState.run_in_review,),
}
"""Each phase state -> the states it may move to (conditions in :func:`check_phase_transition`)."""

_STATE_PHASE_KIND: dict[PhaseState, str] = {
    PhaseState.enrolment_open: "single_arm",
    PhaseState.enrolment_closed: "single_arm",
    PhaseState.run_in_open: "run_in",
    PhaseState.run_in_review: "run_in",
    PhaseState.randomized_open: "randomized",
}


class PhaseTransitionRefused(RuleViolation):
    """A phase-state change that the gate rules refuse; ``reason`` says why (also the message).
    Its rule is ``phase_gate``."""

    def __init__(self, current: PhaseState, target: PhaseState, reason: str) -> None:
        super().__init__(reason, rule="phase_gate")
        self.current = current
        self.target = target
        self.reason = reason


def _first_phase(protocol: Protocol, kind: str) -> Phase | None:
    return next((phase for phase in protocol.design.phases if phase.kind == kind), None)


def initial_state(protocol: Protocol) -> PhaseState:
    """The state a trial opens in: ``run_in_open`` if the design has a run-in phase, ``randomized_open``
    for a purely randomized design, ``enrolment_open`` for a single-arm design."""
    if _first_phase(protocol, "run_in") is not None:
        return PhaseState.run_in_open
    if _first_phase(protocol, "randomized") is not None:
        return PhaseState.randomized_open
    return PhaseState.enrolment_open


def current_phase(protocol: Protocol, state: PhaseState | str) -> Phase | None:
    """The protocol phase that ``state`` belongs to (``None`` when terminated or not in the design)."""
    kind = _STATE_PHASE_KIND.get(PhaseState(state))
    return None if kind is None else _first_phase(protocol, kind)


def current_phase_id(protocol: Protocol, state: PhaseState | str) -> str | None:
    """Id of the phase new subjects join in ``state`` (the run-in phase during its review as well);
    ``None`` when terminated."""
    phase = current_phase(protocol, state)
    return None if phase is None else phase.id


def enrolment_target(protocol: Protocol, state: PhaseState | str) -> SizeRange | None:
    """Planned number of subjects of the current phase: the run-in size in ``run_in_open`` (and
    ``run_in_review``), the randomized or single-arm phase size otherwise; ``None`` when terminated."""
    phase = current_phase(protocol, state)
    return None if phase is None else phase.target_size


def enrolment_allowed(state: PhaseState | str) -> bool:
    """Whether new subjects may be enrolled in ``state`` (not while the run-in is under review)."""
    return PhaseState(state) in (
        PhaseState.enrolment_open,
        PhaseState.run_in_open,
        PhaseState.randomized_open,
    )


def randomization_allowed(state: PhaseState | str) -> bool:
    """Whether randomization is open in ``state`` (only ``randomized_open``)."""
    return PhaseState(state) == PhaseState.randomized_open


def check_phase_transition(
    current: PhaseState | str, target: PhaseState | str, *, stopping_rule_met: bool, signed_review: bool
) -> None:
    """Raise :class:`PhaseTransitionRefused` unless the trial may move from ``current`` to ``target``.

    Parameters
    ----------
    stopping_rule_met:
        Whether any stopping rule guarding the gate is met now (evaluated by the caller).
    signed_review:
        Whether a safety reviewer has signed a decision for this move.

    Rules: the move must be in :data:`ALLOWED_PHASE_TRANSITIONS`; ``randomized_open`` needs the signed
    review and no stopping rule met; reopening the run-in needs the signed review and no stopping rule
    met; ``terminated`` needs a met stopping rule or a signed review; re-opening a terminated trial
    (``terminated -> run_in_review``) needs the signed review and no stopping rule met.
    """
    source, destination = PhaseState(current), PhaseState(target)
    allowed = ALLOWED_PHASE_TRANSITIONS[source]
    if destination not in allowed:
        options = ", ".join(allowed) if allowed else "nothing (final state)"
        raise PhaseTransitionRefused(
            source,
            destination,
            f"a trial in '{source}' cannot move to '{destination}'; it can move to: {options}",
        )
    reopening = source == PhaseState.terminated
    if reopening or destination in (PhaseState.randomized_open, PhaseState.run_in_open):
        what = {
            PhaseState.randomized_open: "randomization",
            PhaseState.run_in_open: "the run-in again",
        }.get(destination, "the terminated trial for review")
        if stopping_rule_met:
            raise PhaseTransitionRefused(
                source, destination, f"cannot open {what}: a stopping rule of the safety gate is met"
            )
        if not signed_review:
            raise PhaseTransitionRefused(
                source, destination, f"cannot open {what} without a signed safety review of the run-in"
            )
    if destination == PhaseState.terminated and not (stopping_rule_met or signed_review):
        raise PhaseTransitionRefused(
            source,
            destination,
            "termination needs a reason on record: a met stopping rule or a signed review",
        )
