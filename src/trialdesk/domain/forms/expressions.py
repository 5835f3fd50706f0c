"""A small, safe expression language over the values of one case report form.

Used by a field's ``show_if`` (conditional display) and, later, by edit checks. An expression is
Python expression *syntax* parsed by the standard library's :mod:`ast` in ``eval`` mode, then checked
against a whitelist of node types and statically typed before anything is evaluated; it is never
handed to :func:`eval`. No library was taken: ``simpleeval`` (the best-known one) is not among this
project's dependencies and allows attribute access and any callable it is given, and ``asteval`` runs
near-Python (loops, function definitions); a whitelist of some twenty node kinds is shorter than the
configuration either would need to be made as strict.

The language:

* names are the form's field ids (nothing else: no builtins, no modules); ``missing`` only in
  ``FIELD is missing`` / ``FIELD is not missing``;
* constants: numbers (finite, below 1e15 in magnitude), text in quotes, ``True`` / ``False``;
* arithmetic ``+ - * /`` and ``**`` with a constant exponent 0-4 (so ``9**9**9`` is refused before it
  can run), unary ``-`` / ``+``;
* comparisons ``== != < <= > >=`` (chains allowed), ``in`` / ``not in`` a list of constants;
* ``and``, ``or``, ``not``;
* calls of the whitelisted functions only: ``abs(x)``, ``min(a, b, ...)``, ``max(a, b, ...)``,
  ``round(x)`` / ``round(x, n)``, ``days_between(d1, d2)`` (``d2 - d1`` in days) and
  ``date('YYYY-MM-DD')``.

Types (number, text, date, boolean) are checked when the expression is compiled: comparing a date
with a number, or ``and`` over a number, is refused then, never at entry time.

Missing values follow three-valued (Kleene, SQL ``NULL``) logic: arithmetic or a comparison with a
missing operand is *unknown* (``None``); ``False and unknown`` is ``False``, ``True or unknown`` is
``True``, ``not unknown`` is unknown. A ``show_if`` that is unknown hides its field. Division by zero,
numeric overflow and a negative number to a fractional power are unknown too.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, cast

ValueType = Literal["number", "text", "date", "boolean"]
Value = int | float | str | dt.date | bool
"""A field value as the evaluator sees it (dates as :class:`datetime.date`)."""

MISSING = "missing"
MAX_SOURCE_LENGTH = 500
MAX_NODES = 200
MAX_POWER = 4
MAX_CONSTANT = 1e15
MAX_ROUND_DIGITS = 10


class ExpressionError(ValueError):
    """An expression is malformed, uses something outside the language, or is badly typed."""


_REFUSED_NAMES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.NamedExpr: "an assignment",
    ast.JoinedStr: "an f-string",
    ast.IfExp: "a conditional expression",
    ast.Starred: "a star argument",
    ast.Dict: "a dictionary",
}


def _refuse(node: ast.AST) -> ExpressionError:
    what = _REFUSED_NAMES.get(type(node), f"'{type(node).__name__}'")
    return ExpressionError(f"{what} is not allowed in a form expression")


# ---------------------------------------------------------------- static typing


Types = Mapping[str, ValueType]


def _const_type(node: ast.Constant) -> ValueType:
    value = node.value
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        if not abs(value) < MAX_CONSTANT:  # also false for nan; never converts a huge int to float
            raise ExpressionError(f"the number {value!r} is too large for a form expression")
        return "number"
    if isinstance(value, str):
        return "text"
    raise ExpressionError(f"the constant {value!r} is not allowed (numbers, text, True, False)")


def _name_type(node: ast.Name, types: Types) -> ValueType:
    if node.id == MISSING:
        raise ExpressionError("'missing' is only allowed as 'FIELD is missing' or 'FIELD is not missing'")
    if node.id not in types:
        known = ", ".join(sorted(types)) or "none"
        raise ExpressionError(f"unknown field '{node.id}' (fields of this form: {known})")
    return types[node.id]


def _expect(node: ast.expr, types: Types, wanted: ValueType, what: str) -> None:
    found = _type_of(node, types)
    if found != wanted:
        raise ExpressionError(f"{what} needs a {wanted}, got a {found}")


def _binop_type(node: ast.BinOp, types: Types) -> ValueType:
    if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
        raise ExpressionError(f"the operator '{type(node.op).__name__}' is not allowed (+ - * / **)")
    _expect(node.left, types, "number", "arithmetic")
    if isinstance(node.op, ast.Pow):
        exponent = node.right
        if not (
            isinstance(exponent, ast.Constant)
            and isinstance(exponent.value, int | float)
            and not isinstance(exponent.value, bool)
            and 0 <= exponent.value <= MAX_POWER
        ):
            raise ExpressionError(f"'**' needs a constant exponent from 0 to {MAX_POWER}")
    _expect(node.right, types, "number", "arithmetic")
    return "number"


def _unary_type(node: ast.UnaryOp, types: Types) -> ValueType:
    if isinstance(node.op, ast.Not):
        _expect(node.operand, types, "boolean", "'not'")
        return "boolean"
    if isinstance(node.op, ast.USub | ast.UAdd):
        _expect(node.operand, types, "number", "a sign")
        return "number"
    raise ExpressionError(f"the operator '{type(node.op).__name__}' is not allowed")


def _boolop_type(node: ast.BoolOp, types: Types) -> ValueType:
    for value in node.values:
        _expect(value, types, "boolean", "'and' / 'or'")
    return "boolean"


def _is_missing_test(node: ast.Compare) -> bool:
    return len(node.ops) == 1 and isinstance(node.ops[0], ast.Is | ast.IsNot)


def _missing_test_type(node: ast.Compare, types: Types) -> ValueType:
    right = node.comparators[0]
    if not (isinstance(right, ast.Name) and right.id == MISSING) or not isinstance(node.left, ast.Name):
        raise ExpressionError("'is' is only allowed as 'FIELD is missing' or 'FIELD is not missing'")
    _name_type(node.left, types)
    return "boolean"


def _membership_type(left: ValueType, right: ast.expr, types: Types) -> None:
    if not isinstance(right, ast.Tuple | ast.List | ast.Set) or not right.elts:
        raise ExpressionError("'in' needs a list of constants, e.g. x in ('a', 'b')")
    for element in right.elts:
        if not isinstance(element, ast.Constant):
            raise ExpressionError("'in' needs a list of constants, e.g. x in ('a', 'b')")
        if _const_type(element) != left:
            raise ExpressionError(f"'in' compares a {left} with a list holding a {_const_type(element)}")


def _compare_type(node: ast.Compare, types: Types) -> ValueType:
    if _is_missing_test(node):
        return _missing_test_type(node, types)
    left = _type_of(node.left, types)
    for op, right in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, ast.In | ast.NotIn):
            _membership_type(left, right, types)
            continue
        if isinstance(op, ast.Is | ast.IsNot):
            raise ExpressionError("'is' is only allowed as 'FIELD is missing' or 'FIELD is not missing'")
        right_type = _type_of(right, types)
        if right_type != left:
            raise ExpressionError(f"cannot compare a {left} with a {right_type}")
        if not isinstance(op, ast.Eq | ast.NotEq) and left not in ("number", "date"):
            raise ExpressionError(f"'<', '>' and the like compare numbers or dates, not a {left}")
        left = right_type
    return "boolean"


@dataclass(frozen=True)
class _Function:
    """A whitelisted function: argument types (``variadic``: two or more of the first) and result."""

    arguments: tuple[ValueType, ...]
    result: ValueType
    run: Callable[..., Value]
    variadic: bool = False


def _date_constant(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExpressionError(f"date('{text}') needs an ISO date, e.g. date('2026-03-09')") from None


def _days_between(first: dt.date, second: dt.date) -> int:
    return (second - first).days


FUNCTIONS: dict[str, _Function] = {
    "abs": _Function(("number",), "number", abs),
    "min": _Function(("number",), "number", min, variadic=True),
    "max": _Function(("number",), "number", max, variadic=True),
    "round": _Function(("number",), "number", round),
    "days_between": _Function(("date", "date"), "number", _days_between),
    "date": _Function(("text",), "date", _date_constant),
}
"""The only functions an expression may call."""


def _call_type(node: ast.Call, types: Types) -> ValueType:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        allowed = ", ".join(FUNCTIONS)
        raise ExpressionError(f"only these functions may be called: {allowed}")
    if node.keywords:
        raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
    name, function = node.func.id, FUNCTIONS[node.func.id]
    args = node.args
    if name == "round" and len(args) == 2:
        digits = args[1]
        if not (isinstance(digits, ast.Constant) and type(digits.value) is int):
            raise ExpressionError("round(x, n) needs a constant whole number n")
        if not 0 <= digits.value <= MAX_ROUND_DIGITS:
            raise ExpressionError(f"round(x, n) needs n from 0 to {MAX_ROUND_DIGITS}")
        args = args[:1]
    if function.variadic:
        if len(args) < 2:
            raise ExpressionError(f"{name}() needs two or more arguments")
        wanted = function.arguments * len(args)
    else:
        wanted = function.arguments
        if len(args) != len(wanted):
            raise ExpressionError(f"{name}() takes {len(wanted)} argument(s), got {len(args)}")
    for arg, arg_type in zip(args, wanted, strict=True):
        _expect(arg, types, arg_type, f"{name}()")
    if name == "date":
        if not (isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)):
            raise ExpressionError("date() takes a constant text, e.g. date('2026-03-09')")
        _date_constant(args[0].value)
    return function.result


def _type_of(node: ast.expr, types: Types) -> ValueType:
    """The type of ``node``; :class:`ExpressionError` for anything outside the language."""
    if isinstance(node, ast.Constant):
        return _const_type(node)
    if isinstance(node, ast.Name):
        return _name_type(node, types)
    if isinstance(node, ast.BinOp):
        return _binop_type(node, types)
    if isinstance(node, ast.UnaryOp):
        return _unary_type(node, types)
    if isinstance(node, ast.BoolOp):
        return _boolop_type(node, types)
    if isinstance(node, ast.Compare):
        return _compare_type(node, types)
    if isinstance(node, ast.Call):
        return _call_type(node, types)
    raise _refuse(node)


# ---------------------------------------------------------------- evaluation

Maybe = Value | None
Values = Mapping[str, Value | None]


def _kleene_and(results: Iterable[Maybe]) -> bool | None:
    """Kleene AND over lazily evaluated operands (a generator stops at the first false one)."""
    unknown = False
    for value in results:
        if value is False:
            return False
        unknown = unknown or value is None
    return None if unknown else True


def _kleene_or(results: Iterable[Maybe]) -> bool | None:
    """Kleene OR over lazily evaluated operands (a generator stops at the first true one)."""
    unknown = False
    for value in results:
        if value is True:
            return True
        unknown = unknown or value is None
    return None if unknown else False


_ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}

_COMPARISONS: dict[type[ast.cmpop], Callable[[Value, Value], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,  # type: ignore[operator]
    ast.LtE: lambda a, b: a <= b,  # type: ignore[operator]
    ast.Gt: lambda a, b: a > b,  # type: ignore[operator]
    ast.GtE: lambda a, b: a >= b,  # type: ignore[operator]
}


def _eval_binop(node: ast.BinOp, values: Values) -> Maybe:
    left, right = _eval(node.left, values), _eval(node.right, values)
    if left is None or right is None:
        return None
    try:
        result = _ARITHMETIC[type(node.op)](left, right)  # type: ignore[arg-type]
    except (ZeroDivisionError, OverflowError):
        return None
    if isinstance(result, complex):  # a negative number to a fractional power: not a real number
        return None
    return result if not isinstance(result, float) or math.isfinite(result) else None


def _eval_unary(node: ast.UnaryOp, values: Values) -> Maybe:
    operand = _eval(node.operand, values)
    if operand is None:
        return None
    if isinstance(node.op, ast.Not):
        return not operand
    return -operand if isinstance(node.op, ast.USub) else operand  # type: ignore[operator]


def _eval_pair(op: ast.cmpop, left: Maybe, right_node: ast.expr, values: Values) -> tuple[bool | None, Maybe]:
    if isinstance(op, ast.In | ast.NotIn):
        members = [e.value for e in right_node.elts]  # type: ignore[attr-defined]
        if left is None:
            return None, None
        return (left in members) == isinstance(op, ast.In), None
    right = _eval(right_node, values)
    if left is None or right is None:
        return None, right
    return _COMPARISONS[type(op)](left, right), right


def _eval_compare(node: ast.Compare, values: Values) -> Maybe:
    if _is_missing_test(node):
        absent = values.get(node.left.id) is None  # type: ignore[attr-defined]
        return absent if isinstance(node.ops[0], ast.Is) else not absent
    left = _eval(node.left, values)
    results: list[bool | None] = []
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        result, left = _eval_pair(op, left, right_node, values)
        results.append(result)
    return _kleene_and(results)


def _eval_call(node: ast.Call, values: Values) -> Maybe:
    function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
    args = [_eval(arg, values) for arg in node.args]
    if any(arg is None for arg in args):
        return None
    try:
        return function.run(*args)
    except OverflowError:
        return None


def _eval(node: ast.expr, values: Values) -> Maybe:
    """Evaluate a node already accepted by :func:`_type_of`."""
    if isinstance(node, ast.Constant):
        return cast(Value, node.value)  # a number, text or boolean: checked by _const_type
    if isinstance(node, ast.Name):
        return values.get(node.id)
    if isinstance(node, ast.BoolOp):
        operands = (_eval(v, values) for v in node.values)
        return _kleene_and(operands) if isinstance(node.op, ast.And) else _kleene_or(operands)
    if isinstance(node, ast.BinOp):
        return _eval_binop(node, values)
    if isinstance(node, ast.UnaryOp):
        return _eval_unary(node, values)
    if isinstance(node, ast.Compare):
        return _eval_compare(node, values)
    if isinstance(node, ast.Call):
        return _eval_call(node, values)
    raise _refuse(node)  # unreachable after type checking


# ---------------------------------------------------------------- public interface


@dataclass(frozen=True)
class Expression:
    """A compiled expression: its source, the field ids it reads and its result type."""

    source: str
    tree: ast.expr
    names: frozenset[str]
    type: ValueType

    def evaluate(self, values: Values) -> Maybe:
        """The value of the expression for these field values (``None``: unknown, see the module)."""
        return _eval(self.tree, values)


def _parse(source: str) -> ast.expr:
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"an expression is at most {MAX_SOURCE_LENGTH} characters long")
    if not source.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {exc.msg} (column {exc.offset})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("not a valid expression (too deeply nested or malformed)") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"the expression is too complex (more than {MAX_NODES} parts)")
    return tree.body


def compile_expression(source: str, types: Types) -> Expression:
    """Parse, whitelist-check and type ``source`` over fields of the given types.

    :class:`ExpressionError` names the problem: a syntax error, a construct outside the language
    (attribute access, lambda, comprehension, a call of anything but the whitelisted functions), a
    name that is not a field, a type mismatch, an exponent that is not a small constant."""
    tree = _parse(source)
    try:
        result = _type_of(tree, types)
    except RecursionError:
        raise ExpressionError("the expression is too deeply nested") from None
    names = frozenset(
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id != MISSING and n.id not in FUNCTIONS
    )
    return Expression(source.strip(), tree, names, result)


def compile_condition(source: str, types: Types) -> Expression:
    """A compiled expression that must be true or false (a ``show_if`` or an edit check)."""
    expression = compile_expression(source, types)
    if expression.type != "boolean":
        raise ExpressionError(f"the condition must be true or false, not a {expression.type}")
    return expression
