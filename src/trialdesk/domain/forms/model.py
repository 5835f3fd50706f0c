"""Case report form definitions as protocol data (pydantic): forms, fields, units, code lists.

A protocol declares its forms (``forms:`` in the protocol file, or ``forms_file:`` naming a file
beside it). Each form names the visits of the schedule it is filled at, by visit kind (``screening``
and the kinds of :data:`trialdesk.domain.calendar.VisitKind`); a form with no visits is a log
(concomitant medications), filled once per subject or repeated, not tied to a visit. Each field has a
type, a UCUM unit for numbers (:mod:`trialdesk.domain.forms.units`), a plausible range, a code list for
coded fields, whether it is required, and a ``show_if`` condition in the expression language of
:mod:`trialdesk.domain.forms.expressions` over the fields of the same form.

Everything that can be checked without a record is checked when the protocol loads: ids unique,
units known, ranges ordered and only on numbers, code lists only on coded fields, every ``show_if``
parses, is true/false and names only fields of its form, and a field's text ``pattern`` compiles.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.forms.expressions import (
    FUNCTIONS,
    MISSING,
    Expression,
    ExpressionError,
    ValueType,
    compile_condition,
)
from trialdesk.domain.forms.units import UnitError, known_unit

Provenance = Literal["seed", "registry", "default"]
"""Where a form comes from, as for protocol parameters (the same literal as
:data:`trialdesk.domain.protocol.parameters.Provenance`, repeated to keep this package importable on
its own: the protocol model imports it)."""

FieldType = Literal["integer", "decimal", "text", "date", "code", "boolean"]

FormVisitKind = Literal[
    "screening",
    "cycle",
    "radiotherapy",
    "tumour_assessment",
    "end_of_treatment",
    "safety_follow_up",
    "survival",
]
"""Where a form is filled: ``screening`` (visit id ``SCR``) or a kind of the subject's calendar."""

SCREENING_VISIT_ID = "SCR"
"""The visit id of the screening visit (the calendar starts at treatment start, screening before it)."""

FIELD_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
FORM_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"

EXPRESSION_TYPES: dict[FieldType, ValueType] = {
    "integer": "number",
    "decimal": "number",
    "text": "text",
    "date": "date",
    "code": "text",
    "boolean": "boolean",
}
"""How a field of each type appears in an expression (a code is compared as its text)."""


class CodeItem(FrozenModel):
    """One entry of a code list: the stored code and its label."""

    code: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1)


class PlausibleRange(FrozenModel):
    """Inclusive plausible range of a number, in the field's unit."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PlausibleRange:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range min {self.min:g} is greater than max {self.max:g}")
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the range (inclusive)."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """The range as text, e.g. '30-250' or '>= 0'."""
        if self.min is not None and self.max is not None:
            return f"{self.min:g}-{self.max:g}"
        return f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"


class FormField(FrozenModel):
    """One item of a form: its id, label, type and the rules of entry."""

    id: str = Field(pattern=FIELD_ID_PATTERN)
    label: str = Field(min_length=1)
    type: FieldType
    unit: str | None = Field(default=None, description="UCUM code of a number's unit, e.g. kg, mm[Hg]")
    range: PlausibleRange | None = None
    codes: list[CodeItem] | None = None
    required: bool = False
    show_if: str | None = Field(default=None, max_length=500)
    max_length: int = Field(default=500, ge=1, le=4000, description="Longest text accepted")
    pattern: str | None = Field(default=None, description="Regular expression a text must match in full")
    pattern_hint: str | None = Field(default=None, description="What the pattern means, for the error")
    help: str | None = None
    source: str | None = Field(default=None, description="Seed passage or standard the field comes from")
    baseline_table: bool = Field(
        default=False,
        description="Shown in the trial report's baseline characteristics (value at screening)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if keyword.iskeyword(self.id) or self.id in FUNCTIONS or self.id in (MISSING, "True", "False"):
            raise ValueError(f"field id '{self.id}' is a reserved word of the expression language")
        numeric = self.type in ("integer", "decimal")
        if self.unit is not None:
            if not numeric:
                raise ValueError(f"field '{self.id}': only numbers have a unit")
            try:
                known_unit(self.unit)
            except UnitError as exc:
                raise ValueError(f"field '{self.id}': {exc}") from None
        if self.range is not None and not numeric:
            raise ValueError(f"field '{self.id}': only numbers have a range")
        if (self.type == "code") != (self.codes is not None):
            raise ValueError(f"field '{self.id}': a code list is needed by, and only by, a 'code' field")
        if self.codes is not None:
            _check_codes(self.id, self.codes)
        if self.pattern is not None:
            if self.type != "text":
                raise ValueError(f"field '{self.id}': only text fields have a pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"field '{self.id}': pattern does not compile: {exc}") from None
        return self

    def code_label(self, code: str) -> str | None:
        """The label of ``code`` in this field's code list (None if it is not in it)."""
        return next((c.label for c in self.codes or () if c.code == code), None)


def _check_codes(field_id: str, codes: list[CodeItem]) -> None:
    if not codes:
        raise ValueError(f"field '{field_id}': the code list is empty")
    duplicates = sorted(c for c, n in Counter(item.code for item in codes).items() if n > 1)
    if duplicates:
        raise ValueError(f"field '{field_id}': duplicate code(s) {', '.join(duplicates)}")


class FormDefinition(FrozenModel):
    """A case report form: id, title, where it is filled, whether it repeats, and its fields."""

    id: str = Field(pattern=FORM_ID_PATTERN)
    title: str = Field(min_length=1)
    repeating: bool = Field(
        default=False, description="Several records per visit (or per subject for a log form)"
    )
    visits: list[FormVisitKind] = Field(
        default_factory=list, description="Visit kinds it is filled at; empty: a log not tied to a visit"
    )
    fields: list[FormField] = Field(min_length=1)
    provenance: Provenance
    rationale: str = Field(min_length=3, description="Seed passage, or why the form is built so")

    @model_validator(mode="after")
    def _fields_consistent(self) -> FormDefinition:
        duplicates = sorted(i for i, n in Counter(f.id for f in self.fields).items() if n > 1)
        if duplicates:
            raise ValueError(f"form '{self.id}': duplicate field id(s) {', '.join(duplicates)}")
        visit_duplicates = sorted(v for v, n in Counter(self.visits).items() if n > 1)
        if visit_duplicates:
            raise ValueError(f"form '{self.id}': visit kind(s) listed twice: {', '.join(visit_duplicates)}")
        if any(f.baseline_table for f in self.fields) and (self.repeating or "screening" not in self.visits):
            raise ValueError(f"form '{self.id}': baseline_table fields need a non-repeating screening form")
        for form_field in self.fields:
            if form_field.show_if is None:
                continue
            try:
                expression = compile_condition(form_field.show_if, self.expression_types)
            except ExpressionError as exc:
                raise ValueError(f"form '{self.id}' field '{form_field.id}' show_if: {exc}") from None
            if form_field.id in expression.names:
                raise ValueError(f"form '{self.id}' field '{form_field.id}' show_if refers to itself")
        return self

    @property
    def is_log(self) -> bool:
        """A form not tied to a visit (e.g. concomitant medications)."""
        return not self.visits

    @cached_property
    def expression_types(self) -> dict[str, ValueType]:
        """Field id -> the type the field has in an expression."""
        return {f.id: EXPRESSION_TYPES[f.type] for f in self.fields}

    @cached_property
    def conditions(self) -> dict[str, Expression]:
        """Field id -> its compiled ``show_if`` (fields always shown are absent)."""
        return {f.id: compile_condition(f.show_if, self.expression_types) for f in self.fields if f.show_if}

    def field(self, field_id: str) -> FormField:
        """The field with this id (``KeyError`` if there is none)."""
        for form_field in self.fields:
            if form_field.id == field_id:
                return form_field
        raise KeyError(field_id)


def check_forms(forms: list[FormDefinition], available_visits: set[str]) -> None:
    """Protocol-level checks of its forms: form ids unique, every visit kind in the schedule."""
    duplicates = sorted(i for i, n in Counter(f.id for f in forms).items() if n > 1)
    if duplicates:
        raise ValueError(f"forms: duplicate form id(s): {', '.join(duplicates)}")
    for form in forms:
        for visit in form.visits:
            if visit not in available_visits:
                raise ValueError(
                    f"forms: form '{form.id}' is filled at '{visit}' visits, which this protocol's "
                    f"schedule does not have (it has: {', '.join(sorted(available_visits))})"
                )
