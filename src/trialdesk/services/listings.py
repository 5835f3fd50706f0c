"""Exports for the data team (issue 14): clean-data listings per case report form, the query listing
and the SDV listing, as CSV; each export is audited as a read.

A form listing has one row per subject/visit/repeat (columns: subject, site, visit, repeat, record id,
status, then the form's fields in protocol order, values in the field's unit), plus ``sdv_status``
(verified, changed, partial, unverified, or not_planned for a record outside the SDV plan) and
``open_queries`` (queries open or answered on the record). Parquet is not offered: pyarrow is not a
dependency of trialdesk (about 40 MB of wheels for one format a CSV reader already covers).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import DataQuery, FormRecord, FormValue, Site, Subject
from trialdesk.domain.forms.model import FormDefinition
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services.actors import Actor
from trialdesk.services.errors import InvalidInput
from trialdesk.services.exports import audited_export
from trialdesk.services.sdv import SdvItem, planned_items

OPEN_STATES = ("open", "answered")
"""Query states that count as open in a listing (not yet closed or cancelled)."""

QUERY_COLUMNS = (
    "id",
    "subject",
    "site",
    "target_table",
    "target_id",
    "form_id",
    "visit_id",
    "field",
    "origin",
    "check_id",
    "status",
    "text",
    "opened_by",
    "opened_at",
    "closed_by",
    "closed_at",
)
SDV_COLUMNS = (
    "subject",
    "site",
    "table",
    "record_id",
    "label",
    "field",
    "state",
    "verified_by",
    "verified_at",
)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV bytes (None as empty), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8")


TYPED_FIELD_TYPES = frozenset({"integer", "decimal", "boolean", "date"})
"""Form field types whose Parquet column keeps its type (numbers, true/false, dates); the rest is text."""
COUNT_COLUMNS = frozenset({"repeat", "record_id", "open_queries", "id"})


def to_parquet(csv_bytes: bytes, typed_columns: frozenset[str]) -> bytes:
    """The same listing as Apache Parquet (pyarrow): ``typed_columns`` and the counts keep the type
    pyarrow reads from the values (int64, double, bool, date32); every other column is text, so codes
    such as "01" or "T1" are never turned into numbers; empty cells are nulls."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    header = next(csv.reader(io.StringIO(csv_bytes.decode("utf-8").split("\n", 1)[0])))
    text = {name: pa.string() for name in header if name not in typed_columns | COUNT_COLUMNS}
    options = pa_csv.ConvertOptions(column_types=text, strings_can_be_null=True)
    table = pa_csv.read_csv(io.BytesIO(csv_bytes), convert_options=options)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _typed_fields(form: FormDefinition) -> frozenset[str]:
    return frozenset(field.id for field in form.fields if field.type in TYPED_FIELD_TYPES)


def _subjects(session: Session, protocol_id: str) -> dict[int, tuple[str, str]]:
    rows = session.execute(
        select(Subject.id, Subject.screening_number, Site.code)
        .join(Site, Site.id == Subject.site_id)
        .where(Subject.protocol_id == protocol_id)
    )
    return {int(sid): (str(number), str(code)) for sid, number, code in rows}


def record_sdv_status(items: list[SdvItem]) -> str:
    """A record's SDV status from its planned items."""
    states = {item.state for item in items}
    if not states:
        return "not_planned"
    if "changed" in states:
        return "changed"
    if states == {"verified"}:
        return "verified"
    return "partial" if "verified" in states else "unverified"


def _open_queries(session: Session, protocol_id: str) -> Counter[str]:
    targets = session.execute(
        select(DataQuery.target_id).where(
            DataQuery.protocol_id == protocol_id,
            DataQuery.target_table == "form_records",
            DataQuery.status.in_(OPEN_STATES),
        )
    )
    return Counter(str(target) for (target,) in targets)


def _cell(value_json: str) -> Any:
    value = json.loads(value_json)
    return ("true" if value else "false") if isinstance(value, bool) else value


def form_listing(
    session: Session, protocol: Protocol, form: FormDefinition, context: dict[str, Any]
) -> bytes:
    """One form's listing as CSV (``context``: subjects, SDV items by record and open query counts)."""
    subjects: dict[int, tuple[str, str]] = context["subjects"]
    records = session.scalars(
        select(FormRecord)
        .where(FormRecord.form_id == form.id, FormRecord.subject_id.in_(list(subjects)))
        .order_by(FormRecord.subject_id, FormRecord.visit_id, FormRecord.repeat_index, FormRecord.id)
    ).all()
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    if records:
        for value in session.scalars(
            select(FormValue).where(FormValue.record_id.in_([r.id for r in records]))
        ):
            values[value.record_id][value.field_id] = _cell(value.value_json)
    field_ids = [field.id for field in form.fields]
    header = [
        "subject",
        "site",
        "visit",
        "repeat",
        "record_id",
        "status",
        *field_ids,
        "sdv_status",
        "open_queries",
    ]
    rows = []
    for record in records:
        number, site = subjects[record.subject_id]
        cells = [values[record.id].get(field_id) for field_id in field_ids]
        sdv_status = record_sdv_status(context["sdv"].get(str(record.id), []))
        opened = context["queries"].get(str(record.id), 0)
        rows.append(
            [
                number,
                site,
                record.visit_id,
                record.repeat_index,
                record.id,
                record.status,
                *cells,
                sdv_status,
                opened,
            ]
        )
    return to_csv(header, rows)


def query_listing(session: Session, protocol: Protocol, subjects: dict[int, tuple[str, str]]) -> bytes:
    """Every query of the protocol as CSV, oldest first."""
    queries = session.scalars(
        select(DataQuery).where(DataQuery.protocol_id == protocol.id).order_by(DataQuery.id)
    )
    rows = []
    for query in queries:
        number, site = subjects.get(query.subject_id, ("", ""))
        facts = {name: getattr(query, name, None) for name in QUERY_COLUMNS}
        facts.update(subject=number, site=site)
        rows.append([facts[name] for name in QUERY_COLUMNS])
    return to_csv(QUERY_COLUMNS, rows)


def sdv_listing(items: list[SdvItem], subjects: dict[int, tuple[str, str]]) -> bytes:
    """Every planned SDV item with its state as CSV."""
    rows = [
        [
            *subjects[i.subject_id],
            i.table,
            i.record_id,
            i.label,
            i.field,
            i.state,
            i.verified_by,
            i.verified_at,
        ]
        for i in items
    ]
    return to_csv(SDV_COLUMNS, rows)


def listings(session: Session, actor: Actor | None, protocol: Protocol, fmt: str = "csv") -> dict[str, bytes]:
    """File name -> bytes: one listing per form, ``queries`` and ``sdv``, as CSV or Apache Parquet
    (``fmt``); audited as an export read (``actor`` None: the command line). Monitors and data managers
    (RAISE_QUERY)."""
    if actor is not None:
        actor.require(Capability.RAISE_QUERY)
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(f"unknown format '{fmt}': csv or parquet", field="format")
    subjects = _subjects(session, protocol.id)
    items = planned_items(session, protocol, sorted(subjects))
    by_record: dict[str, list[SdvItem]] = defaultdict(list)
    for item in items:
        if item.table == "form_records":
            by_record[item.record_id].append(item)
    context = {"subjects": subjects, "sdv": by_record, "queries": _open_queries(session, protocol.id)}
    tables = {
        f"form_{f.id}": (form_listing(session, protocol, f, context), _typed_fields(f))
        for f in protocol.forms
    }
    tables["queries"] = (query_listing(session, protocol, subjects), frozenset())
    tables["sdv"] = (sdv_listing(items, subjects), frozenset())
    if fmt == "parquet":
        files = {f"{name}.parquet": to_parquet(content, typed) for name, (content, typed) in tables.items()}
    else:
        files = {f"{name}.csv": content for name, (content, _) in tables.items()}
    audited_export(
        session, "listings", protocol.id, reason=f"data listings ({fmt})", detail=",".join(sorted(files))
    )
    return files
