"""Where a recomputed sample size belongs in a protocol: the phase it sizes, the run-in, the total.

A sample-size calculation sizes one phase: a two-arm method (Schoenfeld, Freedman) the randomized
phase, a single-arm method (exponential, Wu 2015) the single-arm phase. A safety run-in is outside
the calculation, so ``design check`` compares the computed size with the *sized phase's* target
range and shows the run-in and the programme total separately (SCR-ESCC-01, seed 002: phase IIb
target 135-140, run-in IIa 20-25, registry total 160).

Pure: takes the validated :class:`~trialdesk.domain.protocol.model.Protocol` and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trialdesk.stats.errors import DesignInputError

if TYPE_CHECKING:
    from trialdesk.domain.protocol.model import Protocol

TWO_ARM_METHODS = ("schoenfeld", "freedman")
SINGLE_ARM_METHODS = ("exponential_single_arm", "wu2015")


@dataclass(frozen=True)
class PhaseTarget:
    """A phase's planned size range (patients, inclusive)."""

    phase: str
    min: int
    max: int


@dataclass(frozen=True)
class SizeComparison:
    """The computed size beside the sized phase's target, with the run-in and the total.

    ``difference`` is 0 when ``min <= n_ceiling <= max`` of the sized phase, otherwise the signed
    distance to the nearest end of the range (patients). ``total_min``/``total_max`` add the run-in
    range (if any) to the computed size, beside the protocol's ``target_enrolment``.
    """

    sized_phase: PhaseTarget
    n_ceiling: int
    difference: int
    matches: bool
    run_in: PhaseTarget | None
    total_min: int
    total_max: int
    target_enrolment: int


def compare_with_phases(protocol: Protocol, method: str, n_ceiling: int) -> SizeComparison:
    """Compare ``n_ceiling`` (patients, >= 1) with the target of the phase that ``method`` sizes.

    Raises :class:`DesignInputError` (``design.phases``) when the protocol has not exactly one phase of
    the sized kind (``randomized`` for two-arm methods, ``single_arm`` otherwise) or more than one
    run-in phase.
    """
    kind = "randomized" if method in TWO_ARM_METHODS else "single_arm"
    sized = [p for p in protocol.design.phases if p.kind == kind]
    if len(sized) != 1:
        raise DesignInputError(
            "design.phases",
            f"protocol '{protocol.id}' needs exactly one {kind} phase for a {method} sample size, "
            f"found {len(sized)}",
        )
    run_ins = [p for p in protocol.design.phases if p.kind == "run_in"]
    if len(run_ins) > 1:
        raise DesignInputError(
            "design.phases", f"protocol '{protocol.id}' has {len(run_ins)} run-in phases, expected at most 1"
        )
    phase = sized[0]
    target = PhaseTarget(phase.id, phase.target_size.min, phase.target_size.max)
    if n_ceiling < target.min:
        difference = n_ceiling - target.min
    elif n_ceiling > target.max:
        difference = n_ceiling - target.max
    else:
        difference = 0
    run_in = (
        PhaseTarget(run_ins[0].id, run_ins[0].target_size.min, run_ins[0].target_size.max)
        if run_ins
        else None
    )
    return SizeComparison(
        sized_phase=target,
        n_ceiling=n_ceiling,
        difference=difference,
        matches=difference == 0,
        run_in=run_in,
        total_min=n_ceiling + (run_in.min if run_in else 0),
        total_max=n_ceiling + (run_in.max if run_in else 0),
        target_enrolment=protocol.design.target_enrolment.value,
    )
