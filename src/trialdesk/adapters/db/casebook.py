"""A canonical, hashable dump of trial data: a subject's casebook (for the investigator's sign-off)
or a protocol's data up to a cut-off (for a lock's ``content_sha256``), issue 14.

The dump is every clinical row (the subject row and every audited table with a ``subject_id``, minus
the data-management tables: queries, SDV marks, sign-offs, signatures, locks), each rendered with the
audit trail's :func:`~trialdesk.adapters.db.audit.canonical` text of its audited columns, ordered by
table then primary key; its SHA-256 changes when any value, row insertion or deletion does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import canonical
from trialdesk.adapters.db.lock_guard import _row_date
from trialdesk.adapters.db.models import Audited, Base, Subject
from trialdesk.domain.data_locks import DATA_MANAGEMENT_TABLES, EXEMPT_TABLES


def clinical_models() -> list[type[Any]]:
    """The mapped classes of clinical rows bound to a subject, by table name."""
    skipped = DATA_MANAGEMENT_TABLES | EXEMPT_TABLES
    found = [
        mapper.class_
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, Audited)
        and "subject_id" in mapper.columns
        and str(getattr(mapper.class_, "__tablename__", "")) not in skipped
    ]
    return sorted(found, key=lambda model: str(model.__tablename__))


def _row(obj: Any) -> dict[str, str | None]:
    excluded = type(obj).__audit_exclude__
    mapper = type(obj).__mapper__
    return {
        attr.key: canonical(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in excluded
    }


def _kept(session: Session, obj: Any, cutoff: date | None) -> bool:
    if cutoff is None:
        return True
    row_date = _row_date(session, obj)
    return row_date is None or row_date <= cutoff


def casebook_data(
    session: Session, subject_ids: list[int], *, cutoff: date | None = None
) -> dict[str, list[dict[str, str | None]]]:
    """Table -> the canonical rows of ``subject_ids`` (with ``cutoff``: rows dated on or before it)."""
    data: dict[str, list[dict[str, str | None]]] = {}
    subjects = session.scalars(select(Subject).where(Subject.id.in_(subject_ids)).order_by(Subject.id))
    data["subjects"] = [_row(s) for s in subjects if _kept(session, s, cutoff)]
    for model in clinical_models():
        key = model.__mapper__.primary_key[0]
        rows = session.scalars(select(model).where(model.subject_id.in_(subject_ids)).order_by(key))
        data[str(model.__tablename__)] = [_row(obj) for obj in rows if _kept(session, obj, cutoff)]
    return data


def data_sha256(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``data``."""
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def protocol_subject_ids(session: Session, protocol_id: str) -> list[int]:
    """Every subject id of the protocol, ascending."""
    return list(
        session.scalars(select(Subject.id).where(Subject.protocol_id == protocol_id).order_by(Subject.id))
    )
