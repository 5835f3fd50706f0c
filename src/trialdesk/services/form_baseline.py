"""Baseline characteristics from the screening case report forms, for the trial report.

The protocol marks the form fields the report's baseline table shows (``baseline_table: true``, on
non-repeating screening forms); their values at the screening visit (``SCR``) are read for every
subject in one query, named by the field's label (with its unit) and coded values by their label.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import FormRecord, FormValue
from trialdesk.domain.forms import SCREENING_VISIT_ID, FormField
from trialdesk.domain.protocol.model import Protocol

Characteristic = str | float | int | None


def characteristic_name(field: FormField) -> str:
    """The row name of a field in the baseline table, e.g. 'Weight (kg)'."""
    return f"{field.label} ({field.unit})" if field.unit and not field.unit.startswith("{") else field.label


def _shown(field: FormField, raw: object) -> Characteristic:
    if field.type == "code" and isinstance(raw, str):
        return field.code_label(raw) or raw
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return raw if isinstance(raw, str | int | float) else None


def baseline_from_forms(
    session: Session, protocol: Protocol, subject_ids: Sequence[int]
) -> dict[int, dict[str, Characteristic]]:
    """Subject id -> {characteristic: value} of the protocol's baseline-table form fields (every
    marked field is present, ``None`` when not entered, so the table counts it missing)."""
    fields = {(form.id, f.id): f for form in protocol.forms for f in form.fields if f.baseline_table}
    if not fields or not subject_ids:
        return {}
    empty: dict[str, Characteristic] = {characteristic_name(f): None for f in fields.values()}
    out: dict[int, dict[str, Characteristic]] = {sid: dict(empty) for sid in subject_ids}
    rows = session.execute(
        select(FormRecord.subject_id, FormRecord.form_id, FormValue.field_id, FormValue.value_json)
        .join(FormValue, FormValue.record_id == FormRecord.id)
        .where(
            FormRecord.subject_id.in_(subject_ids),
            FormRecord.form_id.in_({form_id for form_id, _ in fields}),
            FormRecord.visit_id == SCREENING_VISIT_ID,
            FormRecord.repeat_index == 1,
        )
    )
    for subject_id, form_id, field_id, value_json in rows:
        field = fields.get((form_id, field_id))
        if field is not None:
            out[subject_id][characteristic_name(field)] = _shown(field, json.loads(value_json))
    return out
