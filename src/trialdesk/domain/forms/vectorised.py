"""Set-wise evaluation of a compiled form expression over columns of many records at once.

The language and its semantics are those of :mod:`trialdesk.domain.forms.expressions` (this module
adds no construct and changes no rule): the tree accepted and typed by
:func:`~trialdesk.domain.forms.expressions.compile_expression` is walked once, each node becoming
numpy operations over whole columns instead of one Python call per record. Every column is a pair
``(data, known)``: ``known`` false marks a missing / unknown value (SQL ``NULL``), whatever ``data``
holds there. Three-valued (Kleene) logic is the same: ``False and unknown`` is false, ``True or
unknown`` is true, a comparison or arithmetic with an unknown operand is unknown, division by zero and
a non-finite result are unknown. ``tests/unit/test_vectorised_expressions.py`` checks with hypothesis
that both evaluators agree on random records.

Representation: numbers as float64 (values stored by the forms are JSON numbers, well inside float64's
exact range for the plausible ranges of a form), dates as int64 days since 1970-01-01 (so ``<`` and
``days_between`` are integer operations), text and codes as object arrays of ``str``, booleans as bool.
``round`` is applied element by element with Python's own ``round`` (half to even, correctly rounded
decimals), so it cannot differ from the scalar evaluator.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trialdesk.domain.forms.expressions import MISSING, Expression, Value, ValueType

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Column:
    """Values of one field (or one sub-expression) over ``n`` records; ``known`` false: missing."""

    data: npt.NDArray[Any]
    known: npt.NDArray[np.bool_]


def date_to_days(value: dt.date) -> int:
    """Days since 1970-01-01 (the representation of a date in a column)."""
    return (value - EPOCH).days


def column_from_values(value_type: ValueType, values: Sequence[Value | None]) -> Column:
    """A column from Python values (``None``: missing); dates as :class:`datetime.date`."""
    known = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    if value_type == "number":
        data: npt.NDArray[Any] = np.array([0.0 if v is None else float(v) for v in values], dtype=float)  # type: ignore[arg-type]
    elif value_type == "date":
        data = np.array([0 if v is None else date_to_days(v) for v in values], dtype=np.int64)  # type: ignore[arg-type]
    elif value_type == "boolean":
        data = np.array([bool(v) for v in values], dtype=bool)
    else:
        data = np.empty(len(values), dtype=object)
        data[:] = ["" if v is None else v for v in values]
    return Column(data, known)


Columns = Mapping[str, Column]


def _constant(value: object, size: int) -> Column:
    if isinstance(value, bool):
        data: npt.NDArray[Any] = np.full(size, value, dtype=bool)
    elif isinstance(value, int | float):
        data = np.full(size, float(value), dtype=float)
    elif isinstance(value, dt.date):
        data = np.full(size, date_to_days(value), dtype=np.int64)
    else:
        data = np.empty(size, dtype=object)
        data[:] = [value] * size
    return Column(data, np.ones(size, dtype=bool))


def _kleene_and(columns: Sequence[Column]) -> Column:
    size = len(columns[0].known)
    false = np.zeros(size, dtype=bool)
    unknown = np.zeros(size, dtype=bool)
    for column in columns:
        false |= column.known & ~column.data.astype(bool)
        unknown |= ~column.known
    return Column(~false, false | ~unknown)


def _kleene_or(columns: Sequence[Column]) -> Column:
    size = len(columns[0].known)
    true = np.zeros(size, dtype=bool)
    unknown = np.zeros(size, dtype=bool)
    for column in columns:
        true |= column.known & column.data.astype(bool)
        unknown |= ~column.known
    return Column(true, true | ~unknown)


def _finite(data: npt.NDArray[Any], known: npt.NDArray[np.bool_]) -> Column:
    finite = np.isfinite(data)
    return Column(np.where(finite, data, 0.0), known & finite)


_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}


def _binop(node: ast.BinOp, columns: Columns, size: int) -> Column:
    left, right = _eval(node.left, columns, size), _eval(node.right, columns, size)
    known = left.known & right.known
    with np.errstate(all="ignore"):
        data = _ARITHMETIC[type(node.op)](left.data.astype(float), right.data.astype(float))
    if isinstance(node.op, ast.Div):
        known = known & (right.data != 0)
    return _finite(np.asarray(data, dtype=float), known)


def _unary(node: ast.UnaryOp, columns: Columns, size: int) -> Column:
    operand = _eval(node.operand, columns, size)
    if isinstance(node.op, ast.Not):
        return Column(~operand.data.astype(bool), operand.known)
    if isinstance(node.op, ast.USub):
        return Column(-operand.data, operand.known)
    return operand


_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}


def _membership(op: ast.cmpop, left: Column, right_node: ast.expr) -> Column:
    members = [e.value for e in right_node.elts]  # type: ignore[attr-defined]
    inside = np.zeros(len(left.known), dtype=bool)
    for member in members:
        inside |= np.asarray(left.data == member, dtype=bool)
    return Column(inside if isinstance(op, ast.In) else ~inside, left.known.copy())


def _compare(node: ast.Compare, columns: Columns, size: int) -> Column:
    if len(node.ops) == 1 and isinstance(node.ops[0], ast.Is | ast.IsNot):
        present = _eval(node.left, columns, size).known
        data = ~present if isinstance(node.ops[0], ast.Is) else present
        return Column(data.copy(), np.ones(size, dtype=bool))
    left = _eval(node.left, columns, size)
    results: list[Column] = []
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, ast.In | ast.NotIn):
            results.append(_membership(op, left, right_node))
            continue  # the scalar evaluator's left operand becomes unknown after 'in': mirror it
        right = _eval(right_node, columns, size)
        data = np.asarray(_COMPARISONS[type(op)](left.data, right.data), dtype=bool)
        results.append(Column(data, left.known & right.known))
        left = right
    if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops[:-1]):
        results = _after_membership(node, results, size)
    return _kleene_and(results)


def _after_membership(node: ast.Compare, results: list[Column], size: int) -> list[Column]:
    """In a chain, the operand after an ``in`` is unknown to the scalar evaluator, so the pair right after
    an ``in`` pair is unknown too (a chain such as ``a in (1, 2) < b`` is legal, if odd)."""
    adjusted: list[Column] = []
    previous_in = False
    for op, result in zip(node.ops, results, strict=True):
        adjusted.append(Column(result.data, np.zeros(size, dtype=bool)) if previous_in else result)
        previous_in = isinstance(op, ast.In | ast.NotIn)
    return adjusted


def _round(args: list[Column], digits: int | None) -> Column:
    value = args[0]
    out = np.zeros(len(value.known), dtype=float)
    for index in np.flatnonzero(value.known):
        x = float(value.data[index])
        out[index] = round(x) if digits is None else round(x, digits)
    return Column(out, value.known.copy())


def _call(node: ast.Call, columns: Columns, size: int) -> Column:
    name = node.func.id  # type: ignore[attr-defined]
    if name == "date":
        return _constant(dt.date.fromisoformat(node.args[0].value), size)  # type: ignore[attr-defined]
    if name == "round":
        digits = node.args[1].value if len(node.args) == 2 else None  # type: ignore[attr-defined]
        return _round([_eval(node.args[0], columns, size)], digits)
    args = [_eval(arg, columns, size) for arg in node.args]
    known = np.logical_and.reduce([a.known for a in args])
    if name == "abs":
        return Column(np.abs(args[0].data), known)
    if name == "min":
        return Column(np.minimum.reduce([a.data.astype(float) for a in args]), known)
    if name == "max":
        return Column(np.maximum.reduce([a.data.astype(float) for a in args]), known)
    # days_between(d1, d2) = d2 - d1 in days
    return Column((args[1].data - args[0].data).astype(float), known)


def _name(node: ast.Name, columns: Columns, size: int) -> Column:
    column = columns.get(node.id)
    if column is None:  # a field no record of this form holds: missing everywhere
        return Column(np.zeros(size, dtype=float), np.zeros(size, dtype=bool))
    return column


def _eval(node: ast.expr, columns: Columns, size: int) -> Column:
    if isinstance(node, ast.Constant):
        return _constant(node.value, size)
    if isinstance(node, ast.Name):
        return _name(node, columns, size)
    if isinstance(node, ast.BoolOp):
        operands = [_eval(v, columns, size) for v in node.values]
        return _kleene_and(operands) if isinstance(node.op, ast.And) else _kleene_or(operands)
    if isinstance(node, ast.BinOp):
        return _binop(node, columns, size)
    if isinstance(node, ast.UnaryOp):
        return _unary(node, columns, size)
    if isinstance(node, ast.Compare):
        return _compare(node, columns, size)
    if isinstance(node, ast.Call):
        return _call(node, columns, size)
    raise ValueError(f"'{type(node).__name__}' is not part of a compiled expression")  # unreachable


def evaluate_columns(expression: Expression, columns: Columns, size: int) -> Column:
    """The value of ``expression`` for each of ``size`` records whose fields are ``columns`` (a field
    absent from ``columns`` is missing in every record). A boolean expression gives a bool column."""
    if MISSING in columns:
        raise ValueError("'missing' is not a field")
    return _eval(expression.tree, columns, size)


def true_mask(expression: Expression, columns: Columns, size: int) -> npt.NDArray[np.bool_]:
    """The records for which a condition is *true* (unknown counts as not true, as for ``show_if``)."""
    result = evaluate_columns(expression, columns, size)
    return np.asarray(result.known & result.data.astype(bool), dtype=bool)
