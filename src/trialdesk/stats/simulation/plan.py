"""Compile a protocol and a scenario into a :class:`SimulationPlan`: plain numbers the engine runs.

The plan reads the design from the protocol object (so a new protocol file needs no code):

* the run-in phase (``kind: run_in``, optional): its size (``target_size.max`` unless the scenario's
  ``sample_sizes`` says otherwise) and the threshold of the first ``terminate`` stopping rule that
  counts subjects of that phase (SCR-ESCC-01: 2 treatment-related grade-5 events);
* the analysed phase (``kind: randomized`` with two arms, or ``kind: single_arm``): its arms, the
  allocation ratio and smallest permuted-block size, and its size;
* the imaging interval (``tumour_assessment.imaging_interval_weeks``), the one-sided alpha
  (``sample_size.alpha / sided``), the historical median of a single-arm design
  (``sample_size.median0_months``, ``shape``) and the default cut-off
  (``sample_size.followup_months`` after the last patient).

The plan is a frozen dataclass of numbers and tuples, cheap to send to worker processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from trialdesk.stats.simulation.scenario import (
    DAYS_PER_MONTH,
    ArmSpec,
    Exponential,
    PiecewiseExponential,
    ProportionalHazards,
    Scenario,
    ScenarioError,
    Weibull,
)
from trialdesk.stats.survival_data import FloatArray

if TYPE_CHECKING:
    from trialdesk.domain.protocol.model import Phase, Protocol

LN2 = math.log(2.0)


@dataclass(frozen=True)
class EventTimeModel:
    """Event-time distribution as a base cumulative hazard times a hazard ``multiplier``.

    ``Lambda(t) = multiplier * Lambda_base(t)`` with ``Lambda_base`` one of

    * ``exponential``: ``t``;
    * ``weibull``: ``t^shape`` (a Weibull with median m has multiplier ``ln 2 / m^shape``);
    * ``piecewise``: piecewise-linear with slopes ``hazards`` from ``starts`` (months).

    Two models with the same base have proportional hazards, with hazard ratio the ratio of their
    multipliers. Times are drawn by inversion, ``T = Lambda_base^-1(X / multiplier)`` with
    ``X ~ Exp(1)``.
    """

    kind: Literal["exponential", "weibull", "piecewise"]
    multiplier: float
    shape: float = 1.0
    starts: tuple[float, ...] = ()
    hazards: tuple[float, ...] = ()

    @property
    def base(self) -> tuple[object, ...]:
        """Identifies the base cumulative hazard (equal bases: proportional hazards)."""
        return (self.kind, self.shape, self.starts, self.hazards)

    def inverse_base(self, x: FloatArray) -> FloatArray:
        """``Lambda_base^-1(x)`` for ``x >= 0`` (months)."""
        if self.kind == "exponential":
            return x
        if self.kind == "weibull":
            out: FloatArray = x ** (1.0 / self.shape)
            return out
        starts = np.asarray(self.starts)
        hazards = np.asarray(self.hazards)
        knots = np.concatenate([[0.0], np.cumsum(np.diff(starts) * hazards[:-1])])
        piece = np.searchsorted(knots, x, side="right") - 1
        # a zero-hazard piece is never selected by side="right" unless it is last (excluded by validation)
        out = starts[piece] + (x - knots[piece]) / hazards[piece]
        return out

    def sample(self, x: FloatArray) -> FloatArray:
        """Event times (months) from standard exponential variates ``x``."""
        return self.inverse_base(x / self.multiplier)

    def median(self) -> float:
        """True median event time in months."""
        return float(self.inverse_base(np.array([LN2 / self.multiplier]))[0])


@dataclass(frozen=True)
class SimulationPlan:
    """Everything one simulated trial needs, as numbers (durations in months, rates per month)."""

    protocol_id: str
    design: Literal["two_arm", "single_arm"]
    phase_id: str
    arm_ids: tuple[str, ...]
    arm_models: tuple[EventTimeModel, ...]
    allocation_pattern: tuple[int, ...]
    main_size: int
    alpha: float
    accrual_rate: float | None
    accrual_duration: float | None
    dropout_hazard: float
    interval_months: float | None
    death_share: float
    cutoff_events: int | None
    cutoff_months_after_last_patient: float | None
    run_in_phase_id: str | None = None
    run_in_size: int = 0
    run_in_threshold: int | None = None
    run_in_rate: float = 0.0
    run_in_observation: float = 0.0
    experimental_index: int = 0
    historical_median: float | None = None
    historical_shape: float = 1.0

    @property
    def true_hazard_ratio(self) -> float | None:
        """Experimental / control hazard ratio when the two arms have proportional hazards."""
        if self.design != "two_arm":
            return None
        exp_model = self.arm_models[self.experimental_index]
        ctl_model = self.arm_models[1 - self.experimental_index]
        if exp_model.base != ctl_model.base:
            return None
        return exp_model.multiplier / ctl_model.multiplier

    @property
    def true_medians(self) -> tuple[float, ...]:
        """True median PFS of each arm (months), in ``arm_ids`` order."""
        return tuple(m.median() for m in self.arm_models)


def _base_model(spec: Exponential | Weibull | PiecewiseExponential) -> EventTimeModel:
    if isinstance(spec, Exponential):
        return EventTimeModel("exponential", spec.hazard)
    if isinstance(spec, Weibull):
        return EventTimeModel("weibull", LN2 / spec.median_months**spec.shape, shape=spec.shape)
    return EventTimeModel(
        "piecewise", 1.0, starts=tuple(spec.starts_months), hazards=tuple(spec.hazards_per_month)
    )


def _arm_model(arms: dict[str, ArmSpec], arm_id: str) -> EventTimeModel:
    spec = arms[arm_id]
    if isinstance(spec, ProportionalHazards):
        ref = arms[spec.relative_to]
        assert not isinstance(ref, ProportionalHazards)  # the scenario validator forbids chains
        base = _base_model(ref)
        return EventTimeModel(
            base.kind, base.multiplier * spec.hazard_ratio, base.shape, base.starts, base.hazards
        )
    return _base_model(spec)


def _phases(protocol: Protocol) -> tuple[Phase | None, Phase]:
    run_ins = [p for p in protocol.design.phases if p.kind == "run_in"]
    mains = [p for p in protocol.design.phases if p.kind in ("randomized", "single_arm")]
    if len(run_ins) > 1 or len(mains) != 1:
        raise ScenarioError(
            "protocol",
            f"'{protocol.id}' must have at most one run-in phase and exactly one randomized or single-arm "
            "phase to be simulated",
        )
    run_in, main = (run_ins[0] if run_ins else None), mains[0]
    if run_in is not None and protocol.design.phases.index(run_in) > protocol.design.phases.index(main):
        raise ScenarioError("protocol", f"'{protocol.id}': the run-in phase must come before '{main.id}'")
    return run_in, main


def _phase_size(scenario: Scenario, phase: Phase) -> int:
    return scenario.sample_sizes.get(phase.id, phase.target_size.max)


def _sample_size_parameter(protocol: Protocol, name: str) -> float | None:
    if protocol.sample_size is None or name not in protocol.sample_size.parameters:
        return None
    return float(protocol.sample_size.parameters[name].value)


def _alpha(protocol: Protocol, scenario: Scenario) -> float:
    if scenario.analysis.alpha is not None:
        return scenario.analysis.alpha
    alpha = _sample_size_parameter(protocol, "alpha")
    if alpha is None:
        raise ScenarioError(
            "analysis.alpha", f"required: protocol '{protocol.id}' gives no sample_size.alpha"
        )
    assert protocol.sample_size is not None
    single_arm = protocol.sample_size.method in ("exponential_single_arm", "wu2015")
    sided = 1.0 if single_arm else (_sample_size_parameter(protocol, "sided") or 2.0)
    return alpha / sided


def _cutoff(
    protocol: Protocol, scenario: Scenario, main_size: int, phase_id: str
) -> tuple[int | None, float | None]:
    cutoff = scenario.analysis.cutoff
    if cutoff is None:
        followup = _sample_size_parameter(protocol, "followup_months")
        if followup is None:
            raise ScenarioError(
                "analysis.cutoff", f"required: protocol '{protocol.id}' gives no sample_size.followup_months"
            )
        return None, followup
    if cutoff.events is not None and cutoff.events > main_size:
        raise ScenarioError(
            "analysis.cutoff.events",
            f"{cutoff.events} events cannot be reached with the {main_size} patients of phase '{phase_id}'",
        )
    return cutoff.events, cutoff.months_after_last_patient


def _check_arms(scenario: Scenario, main: Phase) -> None:
    missing = [a for a in main.arms if a not in scenario.arms]
    if missing:
        raise ScenarioError(
            "arms",
            f"no event-time distribution for arm(s) {', '.join(missing)} of phase '{main.id}' "
            f"(arms: {', '.join(main.arms)})",
        )
    extra = [a for a in scenario.arms if a not in main.arms]
    if extra:
        raise ScenarioError(
            f"arms.{extra[0]}", f"is not an arm of phase '{main.id}' (arms: {', '.join(main.arms)})"
        )


def _allocation(main: Phase) -> tuple[int, ...]:
    if main.allocation is None:
        return (0,)
    unit = [code for code, arm in enumerate(main.arms) for _ in range(main.allocation.ratio[arm])]
    block = min(main.allocation.block_sizes)
    return tuple(unit * (block // len(unit)))


def _run_in_fields(protocol: Protocol, scenario: Scenario, run_in: Phase | None) -> dict[str, object]:
    if run_in is None:
        if scenario.run_in is not None:
            raise ScenarioError("run_in", f"protocol '{protocol.id}' has no run-in phase")
        return {}
    if scenario.run_in is None:
        raise ScenarioError(
            "run_in", f"required: protocol '{protocol.id}' has run-in phase '{run_in.id}' (give grade5_rate)"
        )
    rules = [
        r
        for r in protocol.stopping_rules
        if r.counts.population_phase == run_in.id and r.action == "terminate"
    ]
    return {
        "run_in_phase_id": run_in.id,
        "run_in_size": _phase_size(scenario, run_in),
        "run_in_threshold": rules[0].threshold if rules else None,
        "run_in_rate": scenario.run_in.grade5_rate,
        "run_in_observation": scenario.run_in.observation_months,
    }


def build_plan(protocol: Protocol, scenario: Scenario) -> SimulationPlan:
    """Check a scenario against a protocol and compile both into a :class:`SimulationPlan`.

    Raises :class:`ScenarioError` naming the scenario field (or ``protocol``) that does not fit.
    """
    if scenario.protocol is not None and scenario.protocol != protocol.id:
        raise ScenarioError("protocol", f"the scenario is for '{scenario.protocol}', not '{protocol.id}'")
    unknown = [p for p in scenario.sample_sizes if p not in {ph.id for ph in protocol.design.phases}]
    if unknown:
        raise ScenarioError(f"sample_sizes.{unknown[0]}", f"is not a phase of protocol '{protocol.id}'")
    run_in, main = _phases(protocol)
    _check_arms(scenario, main)
    two_arm = main.kind == "randomized"
    if two_arm and len(main.arms) != 2:
        raise ScenarioError(
            "protocol", f"phase '{main.id}' has {len(main.arms)} arms; the simulator compares two"
        )
    roles = [protocol.arm(a).role for a in main.arms]
    if two_arm and sorted(roles) != ["control", "experimental"]:
        raise ScenarioError("protocol", f"phase '{main.id}' needs one experimental and one control arm")
    main_size = _phase_size(scenario, main)
    cutoff_events, cutoff_months = _cutoff(protocol, scenario, main_size, main.id)
    weeks = scenario.assessment.interval_weeks or protocol.tumour_assessment.imaging_interval_weeks.value
    historical_median = scenario.analysis.historical_median_months or _sample_size_parameter(
        protocol, "median0_months"
    )
    if not two_arm and historical_median is None:
        raise ScenarioError(
            "analysis.historical_median_months",
            f"required: protocol '{protocol.id}' gives no sample_size.median0_months",
        )
    accrual = scenario.accrual
    return SimulationPlan(
        protocol_id=protocol.id,
        design="two_arm" if two_arm else "single_arm",
        phase_id=main.id,
        arm_ids=tuple(main.arms),
        arm_models=tuple(_arm_model(scenario.arms, a) for a in main.arms),
        allocation_pattern=_allocation(main),
        main_size=main_size,
        alpha=_alpha(protocol, scenario),
        accrual_rate=None if accrual.sites is None else accrual.sites * (accrual.rate_per_site or 0.0),
        accrual_duration=accrual.duration_months,
        dropout_hazard=0.0 if scenario.dropout is None else scenario.dropout.hazard,
        interval_months=weeks * 7.0 / DAYS_PER_MONTH if scenario.assessment.interval_censoring else None,
        death_share=scenario.assessment.death_share,
        cutoff_events=cutoff_events,
        cutoff_months_after_last_patient=cutoff_months,
        experimental_index=roles.index("experimental") if two_arm else 0,
        historical_median=historical_median,
        historical_shape=scenario.analysis.historical_shape
        or _sample_size_parameter(protocol, "shape")
        or 1.0,
        **_run_in_fields(protocol, scenario, run_in),  # type: ignore[arg-type]
    )
