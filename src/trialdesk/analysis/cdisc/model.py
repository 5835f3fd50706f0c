"""Datasets, variables and the limits every exported dataset is checked against before it is written.

Limits (SAS XPORT version 5, FDA Study Data Technical Conformance Guide s3.3): dataset and variable
names at most 8 characters (letters, digits, underscore; not starting with a digit), dataset and
variable labels at most 40 characters, character values at most 200 bytes. A variable's ``length`` is
the longest value it holds (at least 1), as Define-XML 2.1 expects for text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_NAME = 8
MAX_LABEL = 40
MAX_TEXT = 200
NAME_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")

VarType = Literal["text", "integer", "float", "date"]
"""``date``: an ADaM numeric date (SAS date, days since 1960-01-01); SDTM --DTC values are ISO 8601 text."""
Origin = Literal["Collected", "Derived", "Assigned", "Protocol", "Predecessor"]
"""Define-XML 2.1 origin types (``Protocol`` for values taken from the protocol file)."""
Row = dict[str, Any]


class DatasetSpecError(ValueError):
    """A dataset breaks a naming, label or length limit, or holds a value its variable cannot hold;
    the message names the dataset and the variable."""

    def __init__(self, dataset: str, variable: str | None, reason: str) -> None:
        self.dataset = dataset
        self.variable = variable
        where = dataset if variable is None else f"{dataset}.{variable}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Variable:
    """One variable: name, label, type, origin (with the derivation ``method`` text when derived, or
    the ``source`` it is collected from), the ``codelist`` id of its controlled terminology, and whether
    the standard requires it to be present and non-null (``required``)."""

    name: str
    label: str
    type: VarType = "text"
    origin: Origin = "Collected"
    source: str | None = None
    method: str | None = None
    codelist: str | None = None
    required: bool = False


@dataclass
class Dataset:
    """One SDTM domain or ADaM dataset: metadata for Define-XML and the rows (variable name -> value;
    ``None`` is missing). ``comment`` says where the data come from or why a dataset is empty."""

    name: str
    label: str
    kind: Literal["SDTM", "ADaM"]
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    rows: list[Row] = field(default_factory=list)
    comment: str | None = None

    def variable(self, name: str) -> Variable:
        """The variable called ``name`` (``KeyError`` if the dataset has none)."""
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(f"{self.name} has no variable {name}")

    def column(self, name: str) -> list[Any]:
        """The values of one variable, row by row."""
        return [row.get(name) for row in self.rows]

    def length(self, var: Variable) -> int:
        """Define-XML length: the longest text value (at least 1) or 8 for numbers."""
        if var.type != "text":
            return 8
        return max([1, *(len(str(v).encode("utf-8")) for v in self.column(var.name) if v is not None)])


def _check_name(dataset: str, variable: str | None, name: str) -> None:
    if len(name) > MAX_NAME or not NAME_PATTERN.match(name):
        raise DatasetSpecError(
            dataset,
            variable,
            f"name '{name}' must be 1-{MAX_NAME} letters, digits or _ starting with a letter",
        )


def _check_label(dataset: str, variable: str | None, label: str) -> None:
    if not label or len(label) > MAX_LABEL:
        raise DatasetSpecError(dataset, variable, f"label '{label}' must be 1-{MAX_LABEL} characters")


def _check_value(dataset: Dataset, var: Variable, value: Any, index: int) -> None:
    if value is None:
        return
    where = f"row {index + 1}"
    if var.type == "text":
        if not isinstance(value, str):
            raise DatasetSpecError(
                dataset.name, var.name, f"{where}: text expected, got {type(value).__name__}"
            )
        if len(value.encode("utf-8")) > MAX_TEXT:
            raise DatasetSpecError(dataset.name, var.name, f"{where}: value longer than {MAX_TEXT} bytes")
    elif var.type == "date":
        if not isinstance(value, dt.date):
            raise DatasetSpecError(dataset.name, var.name, f"{where}: date expected, got {value!r}")
    elif var.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise DatasetSpecError(dataset.name, var.name, f"{where}: integer expected, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise DatasetSpecError(dataset.name, var.name, f"{where}: number expected, got {value!r}")


def check_dataset(dataset: Dataset) -> None:
    """Raise :class:`DatasetSpecError` (naming dataset and variable) when a name, label or value breaks
    the XPORT v5 limits, a row has a variable the dataset does not declare, or a variable is declared
    twice."""
    _check_name(dataset.name, None, dataset.name)
    _check_label(dataset.name, None, dataset.label)
    seen: set[str] = set()
    for var in dataset.variables:
        _check_name(dataset.name, var.name, var.name)
        _check_label(dataset.name, var.name, var.label)
        if var.name in seen:
            raise DatasetSpecError(dataset.name, var.name, "declared twice")
        seen.add(var.name)
    by_name = {v.name: v for v in dataset.variables}
    for index, row in enumerate(dataset.rows):
        unknown = sorted(set(row) - seen)
        if unknown:
            raise DatasetSpecError(dataset.name, unknown[0], f"row {index + 1}: variable not declared")
        for name, value in row.items():
            _check_value(dataset, by_name[name], value, index)


def number_sequence(dataset: Dataset, seq_name: str, order: Sequence[str] = ()) -> None:
    """Sort rows by USUBJID then ``order`` and number ``seq_name`` 1, 2, ... within each subject."""
    dataset.rows.sort(key=lambda r: (str(r.get("USUBJID")), *(_sortable(r.get(k)) for k in order)))
    counters: dict[str, int] = {}
    for row in dataset.rows:
        subject = str(row.get("USUBJID"))
        counters[subject] = counters.get(subject, 0) + 1
        row[seq_name] = counters[subject]


def _sortable(value: Any) -> tuple[int, str]:
    return (1, "") if value is None else (0, str(value))


def iso(value: dt.date | dt.datetime | None) -> str | None:
    """ISO 8601 text of a date (``YYYY-MM-DD``) or a date-time (to the second), ``None`` when missing."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")
    return value.isoformat()


def study_day(day: dt.date | None, reference: dt.date | None) -> int | None:
    """SDTM study day (--DY): day 1 is the reference start date, the day before it is -1 (no day 0)."""
    if day is None or reference is None:
        return None
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def split_text(text: str, size: int = 200) -> list[str]:
    """A text in pieces of at most ``size`` characters, cut before a space where one is near, so the
    next piece starts with it (SAS pads text with trailing blanks, so a piece must not end in one); the
    pieces joined with nothing between them give the text. Used where SDTMIG v3.4 continues a value
    over 200 characters in further variables or qualifiers (TSVAL1.., s4.5.3.2 SUPP-- AETERM1..)."""
    pieces = []
    while len(text) > size:
        cut = text.rfind(" ", size // 2, size + 1)
        cut = size if cut <= 0 else cut
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def pick(row: Mapping[str, Any], *names: str) -> Row:
    """The entries of ``row`` named in ``names`` (in that order)."""
    return {name: row[name] for name in names if name in row}
