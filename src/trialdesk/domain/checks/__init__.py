"""Edit checks: versioned rules in protocol data (form expressions and named cross-record checks)."""

from trialdesk.domain.checks.model import CheckRule, builtin_params, check_rules, form_condition

__all__ = ["CheckRule", "builtin_params", "check_rules", "form_condition"]
