"""Deep audit verification: rebuild every audited table from the audit trail and compare it with the rows.

The hash chain proves the audit rows were not changed; it says nothing about the data tables, which a
database superuser can edit directly (``UPDATE adverse_events SET grade = 1``) without writing an audit
row. :func:`deep_verify` replays the trail - each ``insert`` row carries the whole new row, each
``update`` row one field's new value, each ``delete`` row the old row, all as
:func:`~trialdesk.adapters.db.audit.canonical` text - into an expected image of every table whose model
inherits :class:`~trialdesk.adapters.db.models.Audited`, then reads the live rows, renders them the same
way and reports every difference by table, row (``record_id`` as the audit writes it) and field:

* ``changed``: a field whose live value is not the value the trail last recorded;
* ``not_in_audit``: a live row the trail never saw inserted (added directly);
* ``deleted``: a row the trail says exists but the table no longer holds (deleted directly);
* ``orphan_event``: an update or delete of a row the trail never saw inserted.

Columns excluded from the audit (``__audit_exclude__``, e.g. ``password_hash``) are excluded from the
comparison. A column added by a migration after a row was inserted is missing from that row's insert
image: it is expected to hold the column's server default (the migration's default) or NULL. A
migration that changes data must audit the change, or the replay reports it. Tables without an
audited model (tokens, sign-in failures, slot counters, the audit tables themselves) are listed as
skipped. Floats compare by value (``5`` and ``5.0`` agree).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Column, Connection, Float, Table, select
from sqlalchemy.sql.elements import False_, TextClause, True_

from trialdesk.adapters.db.audit import canonical
from trialdesk.adapters.db.models import Audited, AuditRecord, Base

DATA_ACTIONS = ("insert", "update", "delete")

Image = dict[str, dict[str, dict[str, str | None]]]
"""table name -> record id -> column -> canonical value (the expected state)."""


@dataclass(frozen=True)
class Difference:
    """One disagreement between the replayed trail and a live row."""

    table: str
    record_id: str
    field: str | None
    problem: str
    expected: str | None = None
    found: str | None = None


@dataclass
class DeepReport:
    """Result of :func:`deep_verify`."""

    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every audited table matches the replayed trail."""
        return not self.differences


def audited_tables() -> dict[str, tuple[Column[Any], ...]]:
    """Audited table name -> its compared columns (all but the model's ``__audit_exclude__``)."""
    tables: dict[str, tuple[Column[Any], ...]] = {}
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if issubclass(model, Audited):
            excluded = model.__audit_exclude__
            table = cast(Table, mapper.local_table)
            tables[str(table.name)] = tuple(c for c in table.columns if c.key not in excluded)
    return dict(sorted(tables.items()))


def deep_verify(connection: Connection) -> DeepReport:
    """Replay the audit trail of ``connection``'s database and compare it with every audited table."""
    report = DeepReport()
    tables = audited_tables()
    image: Image = {name: {} for name in tables}
    report.events = _replay(connection, image, report.differences)
    for name, columns in tables.items():
        report.rows[name] = _compare_table(connection, name, columns, image[name], report.differences)
    report.skipped = sorted(set(Base.metadata.tables) - set(tables))
    return report


def _replay(connection: Connection, image: Image, differences: list[Difference]) -> int:
    """Apply every data event of the trail, in chain order, to ``image``; return how many."""
    table = AuditRecord.__table__
    query = (
        select(table.c.seq, table.c.action, table.c.table_name, table.c.record_id, table.c.field)
        .add_columns(table.c.old_value, table.c.new_value)
        .where(table.c.action.in_(DATA_ACTIONS))
        .order_by(table.c.seq)
    )
    count = 0
    for row in connection.execution_options(yield_per=2000).execute(query):
        rows = image.get(row.table_name)
        if rows is None:
            continue  # a table no longer audited (or never): nothing to compare against
        count += 1
        _apply(rows, row, differences)
    return count


def _apply(rows: dict[str, dict[str, str | None]], event: Any, differences: list[Difference]) -> None:
    record_id = str(event.record_id)
    if event.action == "insert":
        rows[record_id] = json.loads(event.new_value or "{}")
        return
    current = rows.get(record_id)
    if current is None:
        differences.append(
            Difference(
                event.table_name, record_id, event.field, "orphan_event",
                found=f"audit seq {event.seq}: {event.action} of a row never inserted",
            )
        )  # fmt: skip
        return
    if event.action == "update":
        current[str(event.field)] = event.new_value
    else:
        del rows[record_id]


def _compare_table(
    connection: Connection,
    name: str,
    columns: tuple[Column[Any], ...],
    expected_rows: dict[str, dict[str, str | None]],
    differences: list[Difference],
) -> int:
    """Compare the live rows of table ``name`` with their replayed image; return the live row count."""
    table = Base.metadata.tables[name]
    keys = [c.key for c in table.primary_key.columns]
    seen = 0
    remaining = dict(expected_rows)
    for live in connection.execution_options(yield_per=2000).execute(select(table)).mappings():
        seen += 1
        record_id = "/".join(str(live[key]) for key in keys)
        expected = remaining.pop(record_id, None)
        if expected is None:
            differences.append(
                Difference(name, record_id, None, "not_in_audit", found="row not in the audit trail")
            )
            continue
        differences.extend(_row_differences(name, record_id, columns, expected, live))
    for record_id in remaining:
        differences.append(Difference(name, record_id, None, "deleted", expected="row per the audit trail"))
    return seen


def _row_differences(
    name: str, record_id: str, columns: tuple[Column[Any], ...], expected: dict[str, str | None], live: Any
) -> Iterator[Difference]:
    for column in columns:
        found = canonical(live[column.key])
        want = expected[column.key] if column.key in expected else _migration_default(column)
        if not _same(column, want, found):
            yield Difference(name, record_id, column.key, "changed", expected=want, found=found)


def _migration_default(column: Column[Any]) -> str | None:
    """What a column added after a row's insert holds for that row: its server default (``true()`` /
    ``false()``, a literal string, or a literal SQL text such as ``'0'``) or NULL."""
    argument = getattr(column.server_default, "arg", None)
    if isinstance(argument, True_ | False_):
        return canonical(isinstance(argument, True_))
    if isinstance(argument, str):
        return argument
    if isinstance(argument, TextClause):
        return argument.text.strip().strip("'")
    return None


def _same(column: Column[Any], expected: str | None, found: str | None) -> bool:
    if expected is None or found is None:
        return expected is found
    if isinstance(column.type, Float):
        try:
            return float(expected) == float(found)
        except ValueError:
            return False
    return expected == found
