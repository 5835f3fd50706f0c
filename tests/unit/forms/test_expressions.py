"""The form expression language: what it computes, its three-valued logic, and what it refuses.

References: Kleene's strong three-valued logic as SQL implements it for NULL (ISO/IEC 9075, the truth
tables of AND, OR and NOT with UNKNOWN: FALSE AND UNKNOWN = FALSE, TRUE OR UNKNOWN = TRUE, NOT UNKNOWN
= UNKNOWN); the Python language reference for the syntax it borrows (``ast`` in eval mode).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from trialdesk.domain.forms.expressions import (
    ExpressionError,
    ValueType,
    compile_condition,
    compile_expression,
)

TYPES: dict[str, ValueType] = {
    "weight": "number",
    "height": "number",
    "ecog": "number",
    "smoking": "text",
    "start": "date",
    "stop": "date",
    "ongoing": "boolean",
}
VALUES = {
    "weight": 70.0,
    "height": 175.0,
    "ecog": 1,
    "smoking": "former",
    "start": dt.date(2026, 1, 1),
    "stop": dt.date(2026, 3, 2),
    "ongoing": False,
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("weight / (height / 100) ** 2", 70 / 1.75**2),  # BMI, kg/m2
        ("ecog <= 1 and smoking in ('former', 'current')", True),
        ("not ongoing", True),
        ("days_between(start, stop)", 60),  # 2026-01-01 -> 2026-03-02: 31 + 28 + 1 days
        ("stop > date('2026-03-01')", True),
        ("0 <= ecog < 2", True),
        ("abs(-weight) == max(weight, 10, 20)", True),
        ("round(weight / 3, 2)", 23.33),
        ("smoking is missing", False),
        ("smoking is not missing", True),
        ("smoking != 'never'", True),
    ],
)
def test_expressions_compute(source: str, expected: object) -> None:
    assert compile_expression(source, TYPES).evaluate(VALUES) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # SQL/Kleene truth tables with UNKNOWN (ecog missing): FALSE AND UNKNOWN = FALSE, ...
        ("ongoing and ecog > 1", False),
        ("not ongoing and ecog > 1", None),
        ("not ongoing or ecog > 1", True),
        ("ongoing or ecog > 1", None),
        ("not (ecog > 1)", None),
        ("ecog + 1", None),
        ("ecog is missing", True),
        ("ecog in (0, 1)", None),
        ("weight / (ecog - ecog) > 1", None),
    ],
)
def test_missing_values_are_unknown(source: str, expected: object) -> None:
    values = {**VALUES, "ecog": None}
    assert compile_expression(source, TYPES).evaluate(values) is expected


def test_division_by_zero_is_unknown() -> None:
    assert compile_expression("weight / 0", TYPES).evaluate(VALUES) is None


ATTACKS = [
    ("__import__('os')", "only these functions"),
    ("__import__('os').system('rm -rf /')", "only these functions"),
    ("weight.real", "attribute access"),
    ("weight.__class__", "attribute access"),
    ("().__class__.__bases__[0].__subclasses__()", "only these functions"),
    ("().__class__", "attribute access"),
    ("lambda: 1", "lambda"),
    ("[x for x in (1, 2)]", "comprehension"),
    ("{x for x in (1, 2)}", "comprehension"),
    ("(x for x in (1, 2))", "comprehension"),
    ("9**9**9", "constant exponent"),
    ("weight ** 99", "constant exponent"),
    ("2 ** weight", "constant exponent"),
    ("eval('1')", "only these functions"),
    ("open('/etc/passwd')", "only these functions"),
    ("globals()", "only these functions"),
    ("os", "unknown field 'os'"),
    ("(y := 1)", "assignment"),
    ("f'{weight}'", "f-string"),
    ("VALUES['weight']", "subscript"),
    ("weight if ongoing else 0", "conditional"),
    ("max(weight, *[1, 2])", "star"),
    ("abs(x=1)", "keyword"),
    ("1" + "0" * 400, "too large"),
    ("weight; import os", "not a valid expression"),
    ("import os", "not a valid expression"),
    ("(" * 300 + "1" + ")" * 300, "at most 500"),
    ("not weight", "needs a boolean"),
    ("weight > 'a'", "cannot compare a number with a text"),
    ("smoking < 'z'", "compare numbers or dates"),
    ("start > 3", "cannot compare a date with a number"),
    ("weight is 3", "FIELD is missing"),
    ("missing", "FIELD is missing"),
    ("ecog in (weight, 1)", "list of constants"),
    ("smoking in (1, 2)", "holding a number"),
    ("date('yesterday')", "ISO date"),
    ("date(smoking)", "constant text"),
    ("round(weight, 99)", "n from 0 to 10"),
    ("min(weight)", "two or more"),
    ("b'x' == b'x'", "not allowed"),
    ("None", "not allowed"),
    ("weight % 2", "not allowed"),
    ("", "empty"),
]


@pytest.mark.parametrize(("source", "words"), ATTACKS)
def test_attacks_and_mistakes_are_refused_at_compile_time(source: str, words: str) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, TYPES)
    assert words in str(info.value), str(info.value)
    assert time.monotonic() - started < 1.0  # refused, not computed


def test_a_condition_must_be_true_or_false() -> None:
    assert compile_condition("ecog > 1", TYPES).type == "boolean"
    with pytest.raises(ExpressionError, match="true or false, not a number"):
        compile_condition("ecog + 1", TYPES)


def test_names_are_the_fields_read() -> None:
    expression = compile_expression("days_between(start, stop) > 3 and weight is not missing", TYPES)
    assert expression.names == {"start", "stop", "weight"}


def test_overflow_is_unknown_not_a_crash() -> None:
    expression = compile_expression("weight ** 4", {"weight": "number"})
    assert expression.evaluate({"weight": 1e300}) is None
