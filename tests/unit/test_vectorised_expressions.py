"""The set-wise evaluator (domain/forms/vectorised.py) agrees with the scalar one (expressions.py) on
random records and random expressions: ONE definition of the language's semantics, two evaluators.

The reference for three-valued logic is Kleene's strong logic of indeterminacy as SQL uses it for NULL
(ISO/IEC 9075-2, 'truth table for AND/OR'; Kleene, Introduction to Metamathematics, 1952, s. 64): the
truth tables are checked literally in ``test_kleene_truth_tables``."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.domain.forms.expressions import Expression, ValueType, compile_condition, compile_expression
from trialdesk.domain.forms.vectorised import column_from_values, evaluate_columns, true_mask

TYPES: dict[str, ValueType] = {
    "a": "number",
    "b": "number",
    "c": "number",
    "d1": "date",
    "d2": "date",
    "t": "text",
    "p": "boolean",
    "q": "boolean",
}

FIXED = [
    "a > b",
    "a >= b and p",
    "a < b < c",
    "a == b or q",
    "not p",
    "not (p and q)",
    "p or q",
    "a / b > 1",
    "(a - b) ** 2 > c",
    "abs(a - b) <= 3",
    "min(a, b, c) < 0",
    "max(a, b) == b",
    "round(a / 3, 2) > 1",
    "round(a) == 2",
    "days_between(d1, d2) > 10",
    "d1 < d2",
    "d1 >= date('2026-01-01')",
    "t in ('x', 'y')",
    "t not in ('x',)",
    "t == 'x' and a > 0",
    "a is missing",
    "d2 is not missing or t is missing",
    "a in (1, 2, 3)",
    "a in (1, 2) < b",
    "p == q",
    "p != True",
    "-a < +b",
    "a * b / c > 0.5",
    "a ** 0.5 > 1",
    "(a > 1) == (b > 1)",
]

numbers = st.one_of(
    st.none(), st.integers(-20, 20), st.floats(-50, 50, allow_nan=False).map(lambda x: round(x, 3))
)
dates = st.one_of(st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))
texts = st.one_of(st.none(), st.sampled_from(["x", "y", "z", ""]))
booleans = st.one_of(st.none(), st.booleans())
records = st.fixed_dictionaries(
    {
        "a": numbers,
        "b": numbers,
        "c": numbers,
        "d1": dates,
        "d2": dates,
        "t": texts,
        "p": booleans,
        "q": booleans,
    }
)

# random expressions: numbers and booleans built recursively from the fields and small constants
number_leaves = st.sampled_from(["a", "b", "c", "0", "1", "2.5", "-3"])
number_exprs = st.recursive(
    number_leaves,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(inner, st.sampled_from(["0", "1", "2"])).map(lambda t: f"({t[0]}) ** {t[1]}"),
        inner.map(lambda x: f"abs({x})"),
        st.tuples(inner, inner).map(lambda t: f"min({t[0]}, {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
        inner.map(lambda x: f"-({x})"),
    ),
    max_leaves=6,
)
bool_leaves = st.one_of(
    st.sampled_from(["p", "q", "True", "False", "a is missing", "t == 'x'", "d1 < d2"]),
    st.tuples(number_exprs, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), number_exprs).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    ),
)
bool_exprs = st.recursive(
    bool_leaves,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"not ({x})"),
    ),
    max_leaves=5,
)


def _agree(expression: Expression, rows: list[dict[str, Any]]) -> None:
    columns = {name: column_from_values(kind, [r[name] for r in rows]) for name, kind in TYPES.items()}
    result = evaluate_columns(expression, columns, len(rows))
    for index, row in enumerate(rows):
        scalar = expression.evaluate(row)
        where = (expression.source, row)
        if scalar is None:
            assert not result.known[index], where
            continue
        assert result.known[index], where
        value = result.data[index]
        if isinstance(scalar, bool):
            assert bool(value) is scalar, where
        else:
            assert math.isclose(float(value), float(scalar), rel_tol=1e-12, abs_tol=1e-12), where  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(records, min_size=1, max_size=25))
def test_fixed_expressions_agree_on_random_records(rows: list[dict[str, Any]]) -> None:
    for source in FIXED:
        _agree(compile_expression(source, TYPES), rows)


@settings(max_examples=200, deadline=None)
@given(bool_exprs, st.lists(records, min_size=1, max_size=10))
def test_random_conditions_agree_on_random_records(source: str, rows: list[dict[str, Any]]) -> None:
    _agree(compile_condition(source, TYPES), rows)


@settings(max_examples=200, deadline=None)
@given(number_exprs, st.lists(records, min_size=1, max_size=10))
def test_random_arithmetic_agrees_on_random_records(source: str, rows: list[dict[str, Any]]) -> None:
    _agree(compile_expression(source, TYPES), rows)


def test_kleene_truth_tables() -> None:
    """SQL/Kleene: F and U = F, T and U = U, T or U = T, F or U = U, not U = U."""
    values: list[bool | None] = [True, False, None]
    rows = [{"p": p, "q": q} for p in values for q in values]
    columns = {n: column_from_values("boolean", [r[n] for r in rows]) for n in ("p", "q")}
    types: dict[str, ValueType] = {"p": "boolean", "q": "boolean"}
    expected_and = [True, False, None, False, False, False, None, False, None]
    expected_or = [True, True, True, True, False, None, True, None, None]
    for source, expected in (("p and q", expected_and), ("p or q", expected_or)):
        result = evaluate_columns(compile_condition(source, types), columns, len(rows))
        got = [bool(d) if k else None for d, k in zip(result.data, result.known, strict=True)]
        assert got == expected, source
    negated = evaluate_columns(compile_condition("not p", types), columns, len(rows))
    assert [bool(d) if k else None for d, k in zip(negated.data, negated.known, strict=True)] == [
        False,
        False,
        False,
        True,
        True,
        True,
        None,
        None,
        None,
    ]


def test_true_mask_treats_unknown_as_not_true() -> None:
    expression = compile_condition("a > 1", {"a": "number"})
    column = column_from_values("number", [2, None, 0])
    assert true_mask(expression, {"a": column}, 3).tolist() == [True, False, False]
    assert true_mask(expression, {}, 2).tolist() == [False, False]  # a field no record has: missing


def test_a_negative_number_to_a_fractional_power_is_unknown_in_both() -> None:
    expression = compile_expression("a ** 0.5", {"a": "number"})
    assert expression.evaluate({"a": -4}) is None and expression.evaluate({"a": 4}) == 2.0
    result = evaluate_columns(expression, {"a": column_from_values("number", [-4, 4])}, 2)
    assert result.known.tolist() == [False, True] and result.data[1] == 2.0
