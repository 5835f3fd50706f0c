"""Validation of one entered form record against its definition (pure).

The checks, each reported with the field id and the reason:

* a field id the form does not have;
* a value of the wrong type (an integer field given 1.5 or "12", a date not in ISO form, a date in
  the future or before 1900, a boolean given "yes");
* a unit: a number is in the field's unit when none is given; another unit of the same dimension is
  converted by its UCUM factor (:func:`trialdesk.domain.forms.units.convert`: 150 [lb_av] into kg)
  and stored in the field's unit; a unit of another dimension, an unknown unit, or a unit on a field
  without one is refused naming the unit;
* a number outside the field's plausible range (after conversion);
* a code not in the field's code list; a text longer than allowed or not matching its pattern;
* a value given for a field its ``show_if`` hides;
* a required field that is shown but missing (only when the record is ``complete``: a record saved
  ``incomplete`` may lack required values).

Visibility is decided on the values after conversion, with the three-valued logic of
:mod:`trialdesk.domain.forms.expressions`: a condition that cannot be decided (it reads a missing
value) hides the field.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trialdesk.domain.common import control_character
from trialdesk.domain.errors import InvalidValue
from trialdesk.domain.forms.expressions import Value
from trialdesk.domain.forms.model import FormDefinition, FormField
from trialdesk.domain.forms.units import UnitError, convert, display_unit

EARLIEST_DATE = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Entry:
    """One value as entered: the raw (JSON) value and the unit it was given in (None: the field's)."""

    value: object
    unit: str | None = None


@dataclass(frozen=True)
class CleanValue:
    """A validated value in the field's own unit."""

    value: Value
    unit: str | None


@dataclass(frozen=True)
class FieldIssue:
    """What is wrong with one field."""

    field: str
    message: str


class FormRecordInvalid(InvalidValue):
    """An entered record breaks its form's rules; ``issues`` lists every problem, ``field`` the first."""

    def __init__(self, form_id: str, issues: list[FieldIssue]) -> None:
        self.form_id = form_id
        self.issues = issues
        first = issues[0]
        more = (
            f" (and {len(issues) - 1} more: {', '.join(i.field for i in issues[1:])})" if issues[1:] else ""
        )
        super().__init__(f"{first.field}: {first.message}{more}", field=first.field)


class _Refused(ValueError):
    """One field's value is refused (internal; becomes a :class:`FieldIssue`)."""


def _integer(value: object, _field: FormField, _today: dt.date) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused(f"must be a whole number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise _Refused(f"must be a whole number, got {value!r}")
    return int(value)


def _decimal(value: object, _field: FormField, _today: dt.date) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Refused(f"must be a number, got {value!r}")
    return float(value)


def _text(value: object, field: FormField, _today: dt.date) -> Value:
    if not isinstance(value, str):
        raise _Refused(f"must be text, got {value!r}")
    text = value.strip()
    if len(text) > field.max_length:
        raise _Refused(f"is longer than {field.max_length} characters")
    if control_character(text, allowed="\t\n") is not None:
        raise _Refused("holds control characters")
    if field.pattern is not None and not re.fullmatch(field.pattern, text):
        hint = f" ({field.pattern_hint})" if field.pattern_hint else ""
        raise _Refused(f"'{text}' does not have the expected format{hint}")
    return text


def _date(value: object, _field: FormField, today: dt.date) -> Value:
    if not isinstance(value, str):
        raise _Refused(f"must be a date as YYYY-MM-DD, got {value!r}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _Refused(f"must be a date as YYYY-MM-DD, got {value!r}") from None
    if len(value) != 10:
        raise _Refused(f"must be a date as YYYY-MM-DD, got {value!r}")
    if day > today:
        raise _Refused(f"{day} is in the future (today is {today})")
    if day < EARLIEST_DATE:
        raise _Refused(f"{day} is before {EARLIEST_DATE}")
    return day


def _code(value: object, field: FormField, _today: dt.date) -> Value:
    if not isinstance(value, str) or field.code_label(value) is None:
        allowed = ", ".join(c.code for c in field.codes or ())
        raise _Refused(f"{value!r} is not in the code list ({allowed})")
    return value


def _boolean(value: object, _field: FormField, _today: dt.date) -> Value:
    if not isinstance(value, bool):
        raise _Refused(f"must be true or false, got {value!r}")
    return value


_PARSERS: dict[str, Callable[[object, FormField, dt.date], Value]] = {
    "integer": _integer,
    "decimal": _decimal,
    "text": _text,
    "date": _date,
    "code": _code,
    "boolean": _boolean,
}


def _in_field_unit(number: Value, unit: str | None, field: FormField) -> Value:
    if unit is None or unit == field.unit:
        return number
    if field.unit is None:
        raise _Refused(f"has no unit, got '{unit}'")
    try:
        converted = float(f"{convert(float(number), unit, field.unit):.12g}")  # type: ignore[arg-type]
    except UnitError as exc:
        raise _Refused(f"must be in {field.unit}: {exc}") from None
    if field.type == "integer":
        if not float(converted).is_integer():
            raise _Refused(f"{number} {unit} is {converted:g} {field.unit}, not a whole number")
        return int(converted)
    return converted


def clean_value(field: FormField, entry: Entry, today: dt.date) -> CleanValue:
    """The value of ``entry`` for ``field``, typed and in the field's unit; :class:`ValueError` with
    the reason otherwise (the range is checked here too)."""
    if entry.unit is not None and field.unit is None:
        raise _Refused(f"has no unit, got '{entry.unit}'")
    value = _PARSERS[field.type](entry.value, field, today)
    if field.type in ("integer", "decimal"):
        value = _in_field_unit(value, entry.unit, field)
        if field.range is not None and not field.range.contains(float(value)):  # type: ignore[arg-type]
            unit = f" {display_unit(field.unit)}" if field.unit else ""
            raise _Refused(f"{value:g}{unit} is outside the plausible range {field.range.describe()}{unit}")
    return CleanValue(value, field.unit)


def _typed_values(
    form: FormDefinition, entries: Mapping[str, Entry], today: dt.date, issues: list[FieldIssue]
) -> dict[str, CleanValue]:
    values: dict[str, CleanValue] = {}
    known = {f.id for f in form.fields}
    for field_id, entry in entries.items():
        if field_id not in known:
            issues.append(FieldIssue(field_id, f"is not a field of form '{form.id}'"))
            continue
        if entry.value is None or (isinstance(entry.value, str) and not entry.value.strip()):
            continue
        try:
            values[field_id] = clean_value(form.field(field_id), entry, today)
        except _Refused as exc:
            issues.append(FieldIssue(field_id, str(exc)))
    return values


def shown_fields(form: FormDefinition, values: Mapping[str, Value | None]) -> set[str]:
    """The ids of the fields shown for these values (a ``show_if`` true; unknown hides)."""
    conditions = form.conditions
    return {f.id for f in form.fields if f.id not in conditions or conditions[f.id].evaluate(values) is True}


def validate_record(
    form: FormDefinition, entries: Mapping[str, Entry], today: dt.date, *, complete: bool = True
) -> dict[str, CleanValue]:
    """The validated values of an entered record (only fields with a value), or
    :class:`FormRecordInvalid` listing every field at fault, in the form's field order."""
    issues: list[FieldIssue] = []
    values = _typed_values(form, entries, today, issues)
    refused = {issue.field for issue in issues}
    shown = shown_fields(form, {k: v.value for k, v in values.items()})
    for form_field in form.fields:
        if form_field.id in refused:
            continue
        if form_field.id in values and form_field.id not in shown:
            issues.append(FieldIssue(form_field.id, f"is hidden (shown only if {form_field.show_if})"))
        elif complete and form_field.required and form_field.id in shown and form_field.id not in values:
            issues.append(FieldIssue(form_field.id, "is required"))
    if issues:
        order = {f.id: n for n, f in enumerate(form.fields)}
        issues.sort(key=lambda i: order.get(i.field, -1))
        raise FormRecordInvalid(form.id, issues)
    return values
