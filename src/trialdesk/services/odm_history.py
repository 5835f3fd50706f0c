"""Each exported value's history from the audit trail, and its value as it stood at a moment.

The audit trail (:mod:`trialdesk.adapters.db.audit`) holds one ``insert`` row per new record (the whole
row as JSON of canonical texts) and one ``update`` row per changed field (old and new canonical text).
Here they become, for each (table, record id, column), the list of :class:`Change` in chain order:
the value the insert set, then each update's new value. The ODM export writes one ``ItemData`` with
its ``AuditRecord`` per change (``--with-audit``) and reconstructs values at a cut-off from them.

Values are put in ODM form by :func:`odm_text`, the same function for the current value read from the
database and for the texts of the audit trail, so a history always ends on the current value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trialdesk.adapters.db.audit import as_utc, canonical
from trialdesk.adapters.db.models import AuditRecord
from trialdesk.adapters.odm.model import OdmDataType

FORM_VALUE_TABLE = "form_values"
FORM_VALUE_COLUMN = "value_json"
"""A case report form value is stored as JSON text in ``form_values.value_json``."""

ItemKey = tuple[str, str, str]
"""(table, record id, column) of one exported value."""


@dataclass(frozen=True)
class Change:
    """One audited change of a value: the audit row's sequence number, time, user, reason, and the
    value after it as canonical text (None: emptied)."""

    seq: int
    at: dt.datetime
    username: str
    reason: str | None
    value: str | None
    inserted: bool


def odm_text(value: Any, data_type: OdmDataType) -> str | None:
    """``value`` (a Python value, or the canonical text of the audit trail) as ODM text of
    ``data_type``: floats as plain decimals without exponent (ODM ``float`` is ``xs:decimal``),
    integers without a decimal point, booleans ``true``/``false``, date-times in UTC."""
    if value is None:
        return None
    text = canonical(value)
    assert text is not None
    if data_type == "float":
        return format(Decimal(repr(float(text))), "f")
    if data_type == "integer":
        return str(int(Decimal(text)))
    if data_type == "boolean":
        return "true" if text.lower() in ("true", "1") else "false"
    if data_type == "datetime":
        return as_utc(dt.datetime.fromisoformat(text)).isoformat()
    return text


def form_value_text(value_json: str | None, data_type: OdmDataType) -> str | None:
    """A form value's stored JSON text as ODM text (JSON null: None)."""
    if value_json is None:
        return None
    return odm_text(json.loads(value_json), data_type)


def _insert_values(row: AuditRecord, columns: frozenset[str]) -> dict[str, str | None]:
    snapshot = json.loads(row.new_value or "{}")
    return {column: snapshot.get(column) for column in columns if column in snapshot}


def item_changes(
    rows: Iterable[AuditRecord], columns: Mapping[str, frozenset[str]]
) -> dict[ItemKey, list[Change]]:
    """Every audited change of the ``columns`` (table -> exported columns) in ``rows`` (chain order),
    by (table, record id, column). Deletions are not changes of an exported value (a deleted record is
    not exported) and are left out."""
    out: dict[ItemKey, list[Change]] = defaultdict(list)
    for row in rows:
        wanted = columns.get(row.table_name)
        if not wanted:
            continue
        at = as_utc(row.at)
        if row.action == "insert":
            for column, value in _insert_values(row, wanted).items():
                out[(row.table_name, row.record_id, column)].append(
                    Change(row.seq, at, row.username, row.reason, value, True)
                )
        elif row.action == "update" and row.field in wanted:
            out[(row.table_name, row.record_id, row.field)].append(
                Change(row.seq, at, row.username, row.reason, row.new_value, False)
            )
    return dict(out)


def inserted_at(changes: Mapping[ItemKey, list[Change]]) -> dict[tuple[str, str], dt.datetime]:
    """(table, record id) -> when the record was inserted (records with an audited insert)."""
    out: dict[tuple[str, str], dt.datetime] = {}
    for (table, record_id, _), history in changes.items():
        for change in history:
            if change.inserted:
                key = (table, record_id)
                out[key] = min(out.get(key, change.at), change.at)
    return out


def until(history: list[Change], as_of: dt.datetime | None) -> list[Change]:
    """The changes made at or before ``as_of`` (all of them when None)."""
    return history if as_of is None else [c for c in history if c.at <= as_of]
