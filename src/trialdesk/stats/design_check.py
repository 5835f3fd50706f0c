"""``design check``: recompute a protocol's sample size from its stated assumptions
(:func:`computed_size`), and place it in the protocol: the phase it sizes, the run-in, the total
(:func:`compare_with_phases`).

A sample-size calculation sizes one phase: a two-arm method (Schoenfeld, Freedman) the randomized
phase, a single-arm method (exponential, Wu 2015) the single-arm phase. A safety run-in is outside
the calculation, so ``design check`` compares the computed size with the *sized phase's* target
range and shows the run-in and the programme total separately (SCR-ESCC-01, seed 002: phase IIb
target 135-140, run-in IIa 20-25, registry total 160).

Pure: takes the validated :class:`~trialdesk.domain.protocol.model.Protocol` and numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.single_arm_survival import SingleArmMethod, single_arm_survival_design
from trialdesk.stats.survival_design import EventsMethod, two_arm_survival_design

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


T = TypeVar("T")

_SINGLE_ARM_NAMES = {
    "median0": "median0_months",
    "median1": "median1_months",
    "accrual": "accrual_months",
    "followup": "followup_months",
    "alpha": "alpha",
    "power": "power",
    "shape": "shape",
}
_TWO_ARM_NAMES = {
    "hazard_ratio": "hazard_ratio",
    "median_control": "median_control_months",
    "accrual": "accrual_months",
    "followup": "followup_months",
    "allocation_ratio": "allocation_ratio",
    "alpha": "alpha",
    "power": "power",
}


@dataclass(frozen=True)
class ComputedSize:
    """A protocol's sample size recomputed from its assumptions: events and patients (exact and
    rounded up) and how dropout was applied."""

    events: float
    events_ceiling: int
    n: float
    n_ceiling: int
    dropout_model: str


def _in_protocol_terms(call: Callable[[], T], names: Mapping[str, str]) -> T:
    """Run a calculator; its :class:`DesignInputError` names the protocol field
    (``sample_size.parameters.<key>``, ``sample_size.dropout``) instead of the calculator argument."""
    try:
        return call()
    except DesignInputError as exc:
        if exc.parameter == "dropout":
            raise DesignInputError("sample_size.dropout", exc.reason) from None
        key = names.get(exc.parameter, exc.parameter)
        raise DesignInputError(f"sample_size.parameters.{key}", exc.reason) from None


def computed_size(protocol: Protocol) -> ComputedSize:
    """Recompute the protocol's sample size from its stated assumptions (``sample_size``).

    Single-arm methods (``exponential_single_arm``, ``wu2015``) apply dropout as n / (1 - dropout);
    two-arm methods (``schoenfeld``, ``freedman``) as an exponential dropout hazard (the proportion
    dropped out by 12 months, as rpact). Raises :class:`DesignInputError` naming the protocol field
    (``sample_size.parameters.<key>``); for a missing or malformed parameter the ``parameter`` is the
    protocol (``protocol '<id>'``) and the reason names the field.
    """
    size = protocol.sample_size
    if size is None:
        raise DesignInputError(f"protocol '{protocol.id}'", "has no sample_size section to check")
    dropout = float(size.dropout.value)

    def get(key: str, default: float | None = None) -> float:
        parameter = size.parameters.get(key)
        if parameter is None:
            if default is not None:
                return default
            raise DesignInputError(
                f"protocol '{protocol.id}'", f"sample_size.parameters has no '{key}' ({size.method})"
            )
        return float(parameter.value)

    if size.method in SINGLE_ARM_METHODS:
        method: SingleArmMethod = "wu2015" if size.method == "wu2015" else "exponential"
        shape = get("shape", 1.0) if method == "wu2015" else 1.0
        single = _in_protocol_terms(
            lambda: single_arm_survival_design(
                method,
                get("median0_months"),
                get("accrual_months"),
                get("followup_months"),
                get("alpha"),
                get("power"),
                median1=get("median1_months"),
                shape=shape,
                dropout=dropout,
            ),
            _SINGLE_ARM_NAMES,
        )
        return ComputedSize(
            events=single.events,
            events_ceiling=math.ceil(single.events),
            n=single.n,
            n_ceiling=single.n_ceiling,
            dropout_model="inflation: n / (1 - dropout)",
        )
    events_method: EventsMethod = "freedman" if size.method == "freedman" else "schoenfeld"
    sided = get("sided", 2.0)
    if sided not in (1.0, 2.0):
        raise DesignInputError(
            f"protocol '{protocol.id}'", f"sample_size.parameters.sided must be 1 or 2, got {sided:g}"
        )
    two = _in_protocol_terms(
        lambda: two_arm_survival_design(
            get("hazard_ratio"),
            get("alpha"),
            get("power"),
            int(sided),
            events_method,
            get("allocation_ratio", 1.0),
            get("median_control_months"),
            get("accrual_months"),
            get("followup_months"),
            dropout=dropout,
        ),
        _TWO_ARM_NAMES,
    )
    assert two.patients is not None and two.patients_ceiling is not None
    return ComputedSize(
        events=two.events,
        events_ceiling=two.events_ceiling,
        n=two.patients,
        n_ceiling=two.patients_ceiling,
        dropout_model=f"exponential: {dropout:g} dropped out by {two.dropout_time:g} months (rpact)",
    )


def check_report(protocol: Protocol) -> dict[str, Any]:
    """What ``trialdesk design check`` and the design page show: the protocol's assumptions with their
    provenance, the size recomputed from them (:func:`computed_size`) beside the target of the phase it
    sizes, the run-in and the total (:func:`compare_with_phases`), as plain JSON-ready values.

    Raises :class:`DesignInputError` when the protocol has no ``sample_size`` section or a value cannot
    be computed (the parameter names the protocol field).
    """
    size = protocol.sample_size
    if size is None:
        raise DesignInputError(f"protocol '{protocol.id}'", "has no sample_size section to check")
    computed = asdict(computed_size(protocol))
    comparison = compare_with_phases(protocol, size.method, computed["n_ceiling"])
    sized_kind = "randomized" if size.method in TWO_ARM_METHODS else "single_arm"
    run_in = comparison.run_in
    return {
        "protocol_id": protocol.id,
        "method": size.method,
        "endpoint": size.endpoint,
        "parameters": {
            key: {"value": p.value, "unit": p.unit, "provenance": p.provenance, "rationale": p.rationale}
            for key, p in size.parameters.items()
        },
        "dropout": {"value": size.dropout.value, "provenance": size.dropout.provenance},
        **computed,
        "target_enrolment": comparison.target_enrolment,
        "difference": comparison.difference,
        "matches_target": comparison.matches,
        "phase_targets": [
            {"phase": p.id, "min": p.target_size.min, "max": p.target_size.max}
            for p in protocol.design.phases
            if p.kind == sized_kind
        ],
        "sized_phase": asdict(comparison.sized_phase),
        "run_in": None if run_in is None else asdict(run_in),
        "total": {
            "computed_min": comparison.total_min,
            "computed_max": comparison.total_max,
            "target_enrolment": comparison.target_enrolment,
        },
    }
