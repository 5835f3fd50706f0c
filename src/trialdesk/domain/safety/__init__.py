"""Safety: adverse-event facts, treatment attribution and protocol stopping rules."""

from trialdesk.domain.safety.stopping_rules import (
    ATTRIBUTION_LEVELS,
    AdverseEventFact,
    AttributionLevel,
    StoppingRuleStatus,
    evaluate_all,
    evaluate_stopping_rule,
    gate_rule_met,
    is_treatment_related,
)

__all__ = [
    "ATTRIBUTION_LEVELS",
    "AdverseEventFact",
    "AttributionLevel",
    "StoppingRuleStatus",
    "evaluate_all",
    "evaluate_stopping_rule",
    "gate_rule_met",
    "is_treatment_related",
]
