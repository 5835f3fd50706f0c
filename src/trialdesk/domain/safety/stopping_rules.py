"""Safety stopping rules: which adverse events count, whether a rule is met, and the gate condition.

A :class:`~trialdesk.domain.protocol.model.StoppingRule` counts *subjects* (not events) with at least
one qualifying adverse event: CTCAE v5.0 grade >= ``counts.min_grade``, treatment-related if
``counts.treatment_related`` (any intervention component attributed at a level the protocol's
:class:`~trialdesk.domain.protocol.model.AttributionPolicy` lists as related), and enrolled in the
phase ``counts.population_phase``. The rule is met when that count reaches ``threshold``
(seed 002: >= 2 run-in subjects with a treatment-related grade-5 AE terminates the study).

Missing data is never treated as normal: a subject whose only otherwise-qualifying event has no
attribution recorded is reported in ``StoppingRuleStatus.unattributed_subjects`` so that a reviewer
sees that the rule could be met once attribution is entered.

The one home of "treatment-related" is :func:`is_treatment_related`; the probability that a rule is
met is design arithmetic and lives in :func:`trialdesk.stats.stopping_rule.probability_rule_met`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args
from typing import Protocol as TypingProtocol

from trialdesk.domain.protocol.model import AttributionPolicy, Protocol, StoppingRule

AttributionLevel = Literal["unrelated", "unlikely", "possible", "probable", "definite"]
ATTRIBUTION_LEVELS: tuple[str, ...] = get_args(AttributionLevel)
"""Investigator attribution scale (CTCAE / NCI AdEERS five-point scale), least to most related."""


class Attributed(TypingProtocol):
    """Anything carrying an investigator's attribution per treatment component (an
    :class:`AdverseEventFact`, a stored adverse event); ``None`` or empty means not yet assessed."""

    @property
    def attributions(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class AdverseEventFact:
    """What a stopping rule needs to know about one adverse event.

    Parameters
    ----------
    subject_id:
        The subject who had the event.
    subject_phase_id:
        The protocol phase the subject was enrolled in (e.g. ``"iia"`` for the SCR-ESCC-01 run-in).
    grade:
        CTCAE v5.0 grade, 1-5 (5 = death related to the AE).
    attributions:
        Intervention component id -> investigator attribution level (``unrelated``, ``unlikely``,
        ``possible``, ``probable``, ``definite``); empty when not yet assessed.
    onset_date:
        Date of onset.
    ae_id:
        Identifier of the adverse-event record.
    """

    subject_id: str
    subject_phase_id: str
    grade: int
    attributions: Mapping[str, AttributionLevel]
    onset_date: dt.date
    ae_id: str

    def __post_init__(self) -> None:
        if isinstance(self.grade, bool) or not isinstance(self.grade, int) or not 1 <= self.grade <= 5:
            raise ValueError(f"AE {self.ae_id}: CTCAE grade must be an integer 1-5, got {self.grade!r}")
        for component, level in self.attributions.items():
            if level not in ATTRIBUTION_LEVELS:
                raise ValueError(
                    f"AE {self.ae_id}: attribution of '{component}' is {level!r}, not one of "
                    f"{', '.join(ATTRIBUTION_LEVELS)}"
                )


@dataclass(frozen=True)
class StoppingRuleStatus:
    """The state of one stopping rule given the recorded adverse events.

    ``count`` is the number of distinct subjects with at least one qualifying event (listed, sorted, in
    ``subjects``); ``met`` is ``count >= threshold``. ``unattributed_subjects`` are further subjects
    whose events qualify on grade and phase but have no attribution recorded yet (only for rules that
    require treatment-relatedness).
    """

    rule_id: str
    count: int
    threshold: int
    met: bool
    subjects: tuple[str, ...]
    action: Literal["terminate", "pause", "warn"]
    unattributed_subjects: tuple[str, ...] = ()

    @property
    def could_be_met(self) -> bool:
        """Whether the rule would be met if every unattributed qualifying event proved related."""
        return self.count + len(self.unattributed_subjects) >= self.threshold


def is_treatment_related(event: Attributed, policy: AttributionPolicy) -> bool:
    """Whether any intervention component is attributed at a level ``policy`` counts as related
    (default policy: possible, probable, definite). An event with no attribution is not related.

    The only place the rule is decided: stopping rules, toxicity monitors, the per-term maximum grade
    and the safety report all call it."""
    related = set(policy.related_levels)
    return any(level in related for level in (event.attributions or {}).values())


def evaluate_stopping_rule(
    rule: StoppingRule, facts: Iterable[AdverseEventFact], policy: AttributionPolicy
) -> StoppingRuleStatus:
    """Count the distinct subjects with a qualifying event and compare with ``rule.threshold``.

    An event qualifies when ``grade >= rule.counts.min_grade``, the subject's phase is
    ``rule.counts.population_phase`` and, if ``rule.counts.treatment_related``, it is related under
    ``policy``. Several qualifying events of one subject count once.
    """
    condition = rule.counts
    counted: set[str] = set()
    unattributed: set[str] = set()
    for fact in facts:
        if fact.grade < condition.min_grade or fact.subject_phase_id != condition.population_phase:
            continue
        if not condition.treatment_related or is_treatment_related(fact, policy):
            counted.add(fact.subject_id)
        elif not fact.attributions:
            unattributed.add(fact.subject_id)
    return StoppingRuleStatus(
        rule_id=rule.id,
        count=len(counted),
        threshold=rule.threshold,
        met=len(counted) >= rule.threshold,
        subjects=tuple(sorted(counted)),
        action=rule.action,
        unattributed_subjects=tuple(sorted(unattributed - counted)),
    )


def evaluate_all(protocol: Protocol, facts: Iterable[AdverseEventFact]) -> list[StoppingRuleStatus]:
    """Evaluate every stopping rule of ``protocol`` (in protocol order) under its attribution policy."""
    materialized = list(facts)
    return [
        evaluate_stopping_rule(rule, materialized, protocol.attribution) for rule in protocol.stopping_rules
    ]


def gate_rule_met(
    protocol: Protocol, statuses: Iterable[StoppingRuleStatus], from_phase: str | None = None
) -> bool:
    """The gate condition: whether any stopping rule guarding the gate out of ``from_phase`` is met.

    With ``from_phase=None`` (the phase move of :func:`trialdesk.services.trials.move_phase`) the
    rules of every gate of the design count, and a design whose gates name no rule is guarded by all
    its rules. The answer is :func:`trialdesk.domain.trial_phase.check_phase_transition`'s
    ``stopping_rule_met``."""
    guarded = {
        rule_id
        for gate in protocol.design.gates
        if from_phase is None or gate.from_phase == from_phase
        for rule_id in gate.stopping_rules
    }
    if from_phase is None and not guarded:
        return any(status.met for status in statuses)
    return any(status.met for status in statuses if status.rule_id in guarded)
