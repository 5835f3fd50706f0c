"""Edit checks as versioned rules in protocol data (issue 14).

A protocol names a checks file (``checks_file: checks/<id>.checks.yaml``, read by the protocol loader
like ``forms_file``) holding ``rules:``. Each rule has an id, a version (a new version is a new rule for
the query reconciliation: its queries get new keys), a description that becomes the query text (with
``{placeholders}`` for values), a severity, its provenance and a kind:

* ``form``: ``when`` is a condition in the form expression language
  (:mod:`trialdesk.domain.forms.expressions`) over the fields of ``form``; a record for which it is
  *true* is a finding, raised on ``field``. Unknown (a missing operand) is no finding: a required-value
  check says so with ``FIELD is missing``. The placeholders are the form's field ids and ``visit``.
* ``builtin``: a named cross-record check implemented in code
  (:mod:`trialdesk.domain.checks.builtins`) with validated ``params``; it names its own target.

Everything is checked when the protocol loads (:func:`check_rules`): ids unique, an unknown form,
field, builtin or parameter, an expression that does not compile against the form's fields, a
placeholder the rule cannot fill -> an error naming the rule.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Any, Literal

from pydantic import Field

from trialdesk.domain.checks.builtins import (
    PLACEHOLDERS,
    BuiltinParams,
    ConmedAfterAeDrugGiven,
    EcogWorseningWithoutAe,
    EnrolledButIneligible,
    WeightChangeWithoutDoseRecalculation,
    parse_params,
)
from trialdesk.domain.common import FrozenModel
from trialdesk.domain.forms.expressions import Expression, ExpressionError, compile_condition
from trialdesk.domain.forms.model import FormDefinition, Provenance

RULE_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,47}$"
VERSION_PATTERN = r"^[0-9A-Za-z.\-]{1,16}$"
Severity = Literal["error", "warning"]


class CheckRule(FrozenModel):
    """One edit check: what it looks at, when it fires, and the query text it raises."""

    id: str = Field(pattern=RULE_ID_PATTERN)
    version: str = Field(pattern=VERSION_PATTERN)
    description: str = Field(min_length=3, max_length=500, description="The query text, with {placeholders}")
    severity: Severity = "error"
    kind: Literal["form", "builtin"]
    form: str | None = Field(default=None, description="kind form: the form the expression reads")
    field: str | None = Field(default=None, description="kind form: the field the query is raised on")
    when: str | None = Field(default=None, max_length=500, description="kind form: true -> a finding")
    builtin: str | None = Field(default=None, description="kind builtin: the named check")
    params: dict[str, Any] = Field(default_factory=dict, description="kind builtin: its parameters")
    provenance: Provenance
    source: str = Field(min_length=3, description="Seed passage, guideline or reason for the rule")

    @property
    def key_prefix(self) -> str:
        """The rule part of a query's ``system_key``: ``id@version``."""
        return f"{self.id}@{self.version}"


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError as exc:
        raise ValueError(f"description is not a valid template: {exc}") from None


def _check_fields(form: FormDefinition, *names: str) -> None:
    known = {f.id for f in form.fields}
    for name in names:
        if name not in known:
            raise ValueError(f"form '{form.id}' has no field '{name}' (fields: {', '.join(sorted(known))})")


def _form(forms: dict[str, FormDefinition], form_id: str | None) -> FormDefinition:
    if form_id is None or form_id not in forms:
        raise ValueError(f"unknown form '{form_id}' (forms: {', '.join(sorted(forms)) or 'none'})")
    return forms[form_id]


def form_condition(rule: CheckRule, forms: dict[str, FormDefinition]) -> tuple[FormDefinition, Expression]:
    """The form and compiled ``when`` of a ``form`` rule (``ValueError`` naming what is wrong)."""
    form = _form(forms, rule.form)
    if rule.field is None or rule.when is None:
        raise ValueError("a 'form' rule needs 'field' and 'when'")
    _check_fields(form, rule.field)
    try:
        return form, compile_condition(rule.when, form.expression_types)
    except ExpressionError as exc:
        raise ValueError(f"when: {exc}") from None


def builtin_params(rule: CheckRule, forms: dict[str, FormDefinition]) -> BuiltinParams:
    """The validated parameters of a ``builtin`` rule, with the forms and fields they name checked."""
    if rule.builtin is None:
        raise ValueError("a 'builtin' rule needs 'builtin'")
    params = parse_params(rule.builtin, rule.params)
    if isinstance(params, EcogWorseningWithoutAe | WeightChangeWithoutDoseRecalculation):
        _check_fields(_form(forms, params.form), params.field, params.date_field)
    elif isinstance(params, ConmedAfterAeDrugGiven):
        _check_fields(_form(forms, params.form), params.start_field, params.indication_field)
    elif isinstance(params, EnrolledButIneligible):
        form = _form(forms, params.form)
        _check_fields(form, params.field)
        try:
            compile_condition(params.when, form.expression_types)
        except ExpressionError as exc:
            raise ValueError(f"params.when: {exc}") from None
    return params


def _check_rule(rule: CheckRule, forms: dict[str, FormDefinition]) -> None:
    if rule.kind == "form":
        if rule.builtin is not None or rule.params:
            raise ValueError("a 'form' rule takes no 'builtin' or 'params'")
        form, _ = form_condition(rule, forms)
        allowed = {f.id for f in form.fields} | {"visit"}
    else:
        if rule.form is not None or rule.when is not None or rule.field is not None:
            raise ValueError("a 'builtin' rule takes 'params', not 'form', 'field' or 'when'")
        params = builtin_params(rule, forms)
        allowed = set(PLACEHOLDERS[params.name])
    unknown = _placeholders(rule.description) - allowed
    if unknown:
        raise ValueError(
            f"description uses {', '.join(sorted(unknown))}, which this rule cannot fill "
            f"(it can: {', '.join(sorted(allowed))})"
        )


def check_rules(rules: list[CheckRule], forms: list[FormDefinition]) -> None:
    """Protocol-level validation of its checks (``ValueError`` naming the rule at fault)."""
    duplicates = sorted(i for i, n in Counter(r.id for r in rules).items() if n > 1)
    if duplicates:
        raise ValueError(f"checks: duplicate rule id(s): {', '.join(duplicates)}")
    by_id = {f.id: f for f in forms}
    for rule in rules:
        try:
            _check_rule(rule, by_id)
        except ValueError as exc:
            raise ValueError(f"checks: rule '{rule.id}': {exc}") from None
