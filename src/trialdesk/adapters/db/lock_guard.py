"""The central guard of freezes and locks: a ``before_flush`` listener that refuses, before anything
is written, any insert, update or delete of a row covered by an active freeze or lock (issue 14).

Every write path of every interface goes through a session flush, so no service can forget the
check. The rules of what a lock covers are pure (:mod:`trialdesk.domain.data_locks`); this module
only gathers each changed row's facts (protocol, subject, form record, clinical date) and the active
locks, in one query each, and only when a flush changes audited rows while some lock is active.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from trialdesk.adapters.db.models import Audited, DataLock, DataQuery, FormRecord, Subject
from trialdesk.domain.data_locks import EXEMPT_TABLES, LockScope, RowFacts, refuse_if_covered

DATE_ATTRIBUTES = (
    "date",
    "onset_date",
    "collected_date",
    "consent_date",
    "dispensed_date",
    "received_date",
    "screening_date",
)
"""A row's own clinical date, first found wins; else the day it was entered (``created_at``)."""

TRACKER_DATES = frozenset({"status_date"})
"""Dates that follow the latest change (the subject's status date): only their new value counts."""


def active_locks(session: Session) -> list[LockScope]:
    """Every freeze or lock not released, oldest first."""
    rows = session.connection().execute(
        select(
            DataLock.id,
            DataLock.protocol_id,
            DataLock.scope,
            DataLock.kind,
            DataLock.subject_id,
            DataLock.form_record_id,
            DataLock.cutoff_date,
        )
        .where(DataLock.released_at.is_(None))
        .order_by(DataLock.id)
    )
    return [LockScope(*row) for row in rows]


def _changed(session: Session) -> Iterator[Any]:
    dirty = (obj for obj in session.dirty if session.is_modified(obj, include_collections=False))
    for obj in chain(session.new, dirty, session.deleted):
        if isinstance(obj, Audited) and getattr(obj, "__tablename__", "") not in EXEMPT_TABLES:
            yield obj


def _subject_of(session: Session, obj: Any) -> int | None:
    table = obj.__tablename__
    if table == "subjects":
        return int(obj.id) if obj.id is not None else None
    if table == "query_messages":
        query = session.get(DataQuery, obj.query_id)
        return query.subject_id if query is not None else None
    value = getattr(obj, "subject_id", None)
    return int(value) if value is not None else None


def _form_record_of(obj: Any) -> int | None:
    table = obj.__tablename__
    if table == "form_records":
        return int(obj.id) if obj.id is not None else None
    if table == "form_values":
        return int(obj.record_id)
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _changed_dates(obj: Any) -> list[date]:
    """The old and new values of the dates an update changes (empty for an insert, a delete, or an
    update of no date): a death recorded after a cut-off changes no data dated before it."""
    state = inspect(obj)
    if not state.persistent:
        return []
    found: list[date] = []
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        values = [*history.added] if attr.key in TRACKER_DATES else [*history.deleted, *history.added]
        found += [v for v in values if isinstance(v, date) and not isinstance(v, datetime)]
    return found


def _row_date(session: Session, obj: Any) -> date | None:
    """The date a cut-off lock compares: the dates an update changes, else the row's own clinical
    date, else the day it was entered."""
    changed = _changed_dates(obj) if obj in session.dirty else []
    if changed:
        return min(changed)
    for name in DATE_ATTRIBUTES:
        found = _as_date(getattr(obj, name, None))
        if found is not None:
            return found
    if obj.__tablename__ == "form_values":
        record = session.get(FormRecord, obj.record_id)
        return _as_date(record.created_at) if record is not None else None
    return _as_date(getattr(obj, "created_at", None))


def _protocols(session: Session, subject_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(subject_ids))
    if not wanted:
        return {}
    rows = session.connection().execute(select(Subject.id, Subject.protocol_id).where(Subject.id.in_(wanted)))
    return {int(subject_id): str(protocol_id) for subject_id, protocol_id in rows}


def row_facts(session: Session, objects: list[Any]) -> list[RowFacts]:
    """The guard's facts of each changed row."""
    subjects = [_subject_of(session, obj) for obj in objects]
    protocols = _protocols(session, (s for s in subjects if s is not None))
    facts = []
    for obj, subject_id in zip(objects, subjects, strict=True):
        protocol_id = getattr(obj, "protocol_id", None) or (
            protocols.get(subject_id) if subject_id is not None else None
        )
        facts.append(
            RowFacts(
                obj.__tablename__, protocol_id, subject_id, _form_record_of(obj), _row_date(session, obj)
            )
        )
    return facts


@event.listens_for(Session, "before_flush")
def _refuse_locked_changes(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    objects = list(_changed(session))
    if not objects:
        return
    locks = active_locks(session)
    if not locks:
        return
    for facts in row_facts(session, objects):
        refuse_if_covered(locks, facts)
