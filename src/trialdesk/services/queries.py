"""Data queries (issue 14): questions on a value of a subject's data, their threads, aging and counts.

A monitor or data manager opens a query on a target: a row of one of the audited clinical tables of
:data:`TARGET_TABLES` (``target_id``), and a field of it (a column, or for ``form_values`` and
``form_records`` the form's field id; a query on a form record's field that has a saved value is a
query on that value, a ``form_values`` row). The server checks that the row exists and belongs to a subject
of the trial, and fills the subject, form and visit from it. Site staff of the subject's site answer
(text; if they say they changed the data, the server checks the audit trail for a change of the
target since the query was opened); the monitor or data manager closes, re-opens or cancels. Every
move adds a :class:`~trialdesk.adapters.db.models.QueryMessage` and changes the status, both audited
(the move's text is the audit reason). Site staff see only their sites' queries (others are 404).

The edit checks (:mod:`trialdesk.services.checks`) raise and close their own queries with
:func:`open_system_query` and :func:`close_system_query`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import as_utc, audit_reason
from trialdesk.adapters.db.models import (
    AdverseEvent,
    AuditRecord,
    DataQuery,
    DrugAdministration,
    FormRecord,
    FormValue,
    LabResultRow,
    QueryMessage,
    RtFraction,
    Site,
    Subject,
    TumourAssessment,
    TumourBaseline,
    VisitRecord,
)
from trialdesk.domain.common import control_character
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.queries import (
    MOVE_CAPABILITY,
    UNRESOLVED,
    QueryMove,
    QueryOrigin,
    QueryStatus,
    days_open,
    median_days,
    next_status,
)
from trialdesk.domain.roles import Capability, can, is_site_limited
from trialdesk.services import clock
from trialdesk.services.actors import SYSTEM_ACTOR, Actor
from trialdesk.services.errors import InvalidInput, NotFound

MAX_TEXT = 2000
"""Longest text of a question, answer or note (characters)."""

TARGET_TABLES: dict[str, type[Any]] = {
    "form_values": FormValue,
    "form_records": FormRecord,
    "adverse_events": AdverseEvent,
    "lab_results": LabResultRow,
    "tumour_assessments": TumourAssessment,
    "tumour_baselines": TumourBaseline,
    "drug_administrations": DrugAdministration,
    "rt_fractions": RtFraction,
    "visit_records": VisitRecord,
    "subjects": Subject,
}
"""The audited clinical tables a query may target (table name -> model)."""

_MAX_ID = 2**31 - 1
"""Largest row id (an INTEGER key): a larger number names no row."""

_NOT_FIELDS = frozenset({"id", "subject_id", "record_id", "entered_by", "created_at", "updated_at"})
"""Bookkeeping columns, not values anyone could question."""


@dataclass(frozen=True)
class QueryTarget:
    """What a query is about: the row, the field, and the subject, form and visit the server derived."""

    table: str
    target_id: str
    field: str | None
    subject: Subject
    form_id: str | None = None
    visit_id: str | None = None


@dataclass(frozen=True)
class QueryView:
    """A query with its subject's screening number, site code and age in days."""

    query: DataQuery
    screening_number: str
    site_code: str
    days_open: int


@dataclass(frozen=True)
class QueryThread:
    """A query and its messages in order."""

    view: QueryView
    messages: list[QueryMessage]


@dataclass(frozen=True)
class QueryFilter:
    """Listing filters (None: any)."""

    status: str | None = None
    site_code: str | None = None
    form_id: str | None = None
    subject_id: int | None = None
    origin: str | None = None


@dataclass
class QueryCounts:
    """Counts by status and the aging of the unresolved queries of one site or form."""

    key: str
    counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in QueryStatus})
    ages: list[int] = field(default_factory=list)

    @property
    def median_days_open(self) -> float | None:
        """Median age of the unresolved (open or answered) queries."""
        return median_days(self.ages)

    @property
    def max_days_open(self) -> int | None:
        """Age of the oldest unresolved query."""
        return max(self.ages) if self.ages else None


@dataclass(frozen=True)
class QuerySummary:
    """Counts per site and per form (a non-form target counts under its table name)."""

    by_site: list[QueryCounts]
    by_form: list[QueryCounts]
    total: QueryCounts


# --- the target --------------------------------------------------------------------------------------


def _text(value: str, name: str = "text") -> str:
    """A question, answer or note: not blank, at most :data:`MAX_TEXT` characters, and no control
    character but tab and line breaks (XML 1.0, hence the ODM copy, cannot carry the others)."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(f"{name} is required", field=name)
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(f"{name} is longer than {MAX_TEXT} characters", field=name)
    control = control_character(cleaned)
    if control is not None:
        raise InvalidInput(f"{name} holds a control character (U+{ord(control):04X})", field=name)
    return cleaned


def _row_of(session: Session, table: str, target_id: str) -> Any:
    model = TARGET_TABLES.get(table)
    if model is None:
        raise InvalidInput(
            f"queries may target only: {', '.join(sorted(TARGET_TABLES))} (not '{table}')",
            field="target_table",
        )
    try:
        key = int(target_id)
    except ValueError:
        raise InvalidInput(
            f"target_id must be a row id (a whole number), not '{target_id}'", field="target_id"
        ) from None
    row = session.get(model, key) if 0 < key <= _MAX_ID else None
    if row is None:
        raise NotFound(f"no {table} row {target_id}", field="target_id")
    return row


def _columns(model: type[Any]) -> list[str]:
    return [c.key for c in model.__mapper__.column_attrs if c.key not in _NOT_FIELDS]


def _form_field(protocol: Protocol, form_id: str, field_id: str | None, table: str) -> str | None:
    """Check a form field id against the protocol's form (a form value's field is its own)."""
    if field_id is None:
        return None
    try:
        form = protocol.form(form_id)
    except KeyError:
        return field_id
    known = [f.id for f in form.fields]
    if field_id not in known:
        raise InvalidInput(f"form '{form_id}' has no field '{field_id}' ({table})", field="field")
    return field_id


def _saved_value(session: Session, record: FormRecord, field_id: str | None) -> FormValue | None:
    if field_id is None:
        return None
    return session.scalars(
        select(FormValue).where(FormValue.record_id == record.id, FormValue.field_id == field_id)
    ).one_or_none()


def resolve_target(
    session: Session, protocol: Protocol, table: str, target_id: str, field_name: str | None
) -> QueryTarget:
    """Find the target row, check the field and the trial, and derive subject, form and visit."""
    row = _row_of(session, table, target_id)
    subject = row if isinstance(row, Subject) else session.get(Subject, row.subject_id)
    if subject is None or subject.protocol_id != protocol.id:
        raise NotFound(f"no {table} row {target_id} in trial {protocol.id}", field="target_id")
    if isinstance(row, FormValue):
        if field_name not in (None, row.field_id):
            raise InvalidInput(
                f"{table} row {target_id} is the value of field '{row.field_id}', not '{field_name}'",
                field="field",
            )
        record = session.get(FormRecord, row.record_id)
        assert record is not None
        return QueryTarget(table, target_id, row.field_id, subject, record.form_id, record.visit_id)
    if isinstance(row, FormRecord):
        checked = _form_field(protocol, row.form_id, field_name, table)
        value = _saved_value(session, row, checked)
        if value is not None:  # a saved value: the query is on that value (its changes are audited there)
            return QueryTarget("form_values", str(value.id), checked, subject, row.form_id, row.visit_id)
        return QueryTarget(table, target_id, checked, subject, row.form_id, row.visit_id)
    columns = _columns(type(row))
    if field_name is not None and field_name not in columns:
        raise InvalidInput(
            f"{table} has no field '{field_name}' (fields: {', '.join(columns)})", field="field"
        )
    visit = row.visit_id if isinstance(row, VisitRecord) else None
    return QueryTarget(table, target_id, field_name, subject, None, visit)


# --- opening and moving ------------------------------------------------------------------------------


def _message(session: Session, query: DataQuery, kind: str, text: str, author: str) -> QueryMessage:
    message = QueryMessage(query_id=query.id, kind=kind, text=text, author=author, at=clock.now())
    session.add(message)
    return message


def _new_query(
    target: QueryTarget, text: str, author: str, origin: QueryOrigin, **system: str | None
) -> DataQuery:
    now = clock.now()
    return DataQuery(
        protocol_id=target.subject.protocol_id,
        subject_id=target.subject.id,
        target_table=target.table,
        target_id=target.target_id,
        field=target.field,
        form_id=target.form_id,
        visit_id=target.visit_id,
        origin=origin.value,
        check_id=system.get("check_id"),
        check_version=system.get("check_version"),
        system_key=system.get("system_key"),
        status=QueryStatus.OPEN.value,
        text=text,
        opened_by=author,
        opened_at=now,
        updated_at=now,
    )


def open_query(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    *,
    target_table: str,
    target_id: str,
    field_name: str | None,
    text: str,
) -> QueryView:
    """A monitor or data manager opens a query on a value (the opening question is its first message)."""
    actor.require(Capability.RAISE_QUERY)
    question = _text(text)
    target = resolve_target(session, protocol, target_table, target_id, field_name)
    query = _new_query(target, question, actor.username, QueryOrigin.MANUAL)
    session.add(query)
    session.flush()
    _message(session, query, "question", question, actor.username)
    session.flush()
    return _view(session, query)


def _apply(
    session: Session,
    query: DataQuery,
    move: QueryMove,
    kind: str,
    text: str,
    author: str,
    *,
    by_system: bool = False,
) -> None:
    """Move the query (status, closer) and add the move's message; the text is the audit reason
    (``by_system``: an edit check moving its own query)."""
    target = next_status(query.status, move, by_system=by_system)
    now = clock.now()
    with audit_reason(session, f"query {move.value}: {text}"):
        query.status = target.value
        query.updated_at = now
        if target in (QueryStatus.CLOSED, QueryStatus.CANCELLED):
            query.closed_by, query.closed_at = author, now
        elif target is QueryStatus.OPEN:
            query.closed_by, query.closed_at = None, None
        _message(session, query, kind, text, author)
        session.flush()


def _changes_of_target(query: DataQuery, record_value_id: int | None) -> ColumnElement[bool]:
    """Audit rows that change the questioned value: an update of its column (any column of a form
    value) or the row's deletion; for a query on a form record's field, the entry of that field's value."""
    changed = AuditRecord.action == "delete"
    if query.field is None or query.target_table == "form_values":
        changed = or_(changed, AuditRecord.action == "update")
    elif query.target_table != "form_records":  # a form record's field: only its value's entry counts
        changed = or_(changed, and_(AuditRecord.action == "update", AuditRecord.field == query.field))
    on_target = and_(
        AuditRecord.table_name == query.target_table, AuditRecord.record_id == query.target_id, changed
    )
    if record_value_id is None:
        return on_target
    entered = and_(AuditRecord.table_name == "form_values", AuditRecord.record_id == str(record_value_id))
    return or_(on_target, entered)


def _data_changed_since_opened(session: Session, query: DataQuery) -> bool:
    """Whether the audit trail records a change of the questioned value after the query was opened."""
    opened = session.scalar(
        select(AuditRecord.seq).where(
            AuditRecord.table_name == "data_queries",
            AuditRecord.record_id == str(query.id),
            AuditRecord.action == "insert",
        )
    )
    if opened is None:
        return False
    value_id = None
    if query.target_table == "form_records" and query.field is not None:
        value_id = session.scalar(
            select(FormValue.id).where(
                FormValue.record_id == int(query.target_id), FormValue.field_id == query.field
            )
        )
    statement = select(AuditRecord.seq).where(AuditRecord.seq > opened, _changes_of_target(query, value_id))
    return session.scalar(statement.limit(1)) is not None


def answer_query(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    query_id: int,
    text: str,
    *,
    data_changed: bool = False,
) -> QueryView:
    """Site staff answer an open query of their site; ``data_changed``: they say they corrected the value
    (through its form, with a reason) - the server checks the audit trail for that change."""
    actor.require(MOVE_CAPABILITY[QueryMove.ANSWER])
    answer = _text(text)
    query = _visible_query(session, actor, protocol, query_id, for_update=True)
    next_status(query.status, QueryMove.ANSWER)
    if data_changed and not _data_changed_since_opened(session, query):
        raise InvalidInput(
            f"no change of {query.target_table} {query.target_id} is recorded since the query was opened: "
            "correct the value through its form (with a reason) before answering that you did",
            field="data_changed",
        )
    _apply(
        session,
        query,
        QueryMove.ANSWER,
        "answer_changed" if data_changed else "answer",
        answer,
        actor.username,
    )
    return _view(session, query)


def move_query(
    session: Session, actor: Actor, protocol: Protocol, query_id: int, move: QueryMove, text: str
) -> QueryView:
    """The monitor or data manager closes, re-opens or cancels a query (text: the note or reason)."""
    if move is QueryMove.ANSWER:
        raise InvalidInput("answer with answer_query", field="move")
    actor.require(MOVE_CAPABILITY[move])
    note = _text(text, "reason" if move is QueryMove.CANCEL else "text")
    query = _visible_query(session, actor, protocol, query_id, for_update=True)
    _apply(session, query, move, move.value, note, actor.username)
    return _view(session, query)


# --- the edit checks' own queries --------------------------------------------------------------------


def open_system_query(
    session: Session,
    protocol: Protocol,
    *,
    target_table: str,
    target_id: str,
    field_name: str | None,
    system_key: str,
    check_id: str,
    check_version: str,
    text: str,
) -> DataQuery:
    """Open an edit check's query, at most once per ``system_key`` (the check's idempotency key, e.g.
    ``"<check_id>:<target_table>:<target_id>"``); the session's actor is the one running the checks.

    Running the check again returns the existing query unchanged while it is open or answered, and
    re-opens it when the system had closed it (the condition holds again); a query a person closed or
    cancelled stays as they left it. Raises :class:`InvalidInput`/:class:`NotFound` for a bad target.
    """
    existing = session.scalars(select(DataQuery).where(DataQuery.system_key == system_key)).one_or_none()
    if existing is not None:
        if existing.status == QueryStatus.CLOSED and existing.closed_by == SYSTEM_ACTOR:
            _apply(session, existing, QueryMove.REOPEN, "reopen", _text(text), SYSTEM_ACTOR, by_system=True)
        return existing
    target = resolve_target(session, protocol, target_table, target_id, field_name)
    question = _text(text)
    query = _new_query(
        target,
        question,
        SYSTEM_ACTOR,
        QueryOrigin.SYSTEM,
        check_id=check_id,
        check_version=check_version,
        system_key=system_key,
    )
    session.add(query)
    session.flush()
    _message(session, query, "question", question, SYSTEM_ACTOR)
    session.flush()
    return query


def close_system_query(session: Session, query: DataQuery, reason: str) -> bool:
    """Close an edit check's open or answered query whose condition no longer holds (``reason`` says so);
    False (nothing done) if it is already closed or cancelled."""
    if QueryStatus(query.status) not in UNRESOLVED:
        return False
    _apply(session, query, QueryMove.CLOSE, "close", _text(reason, "reason"), SYSTEM_ACTOR, by_system=True)
    return True


# --- reading -----------------------------------------------------------------------------------------


def _age(query: DataQuery, today: dt.date) -> int:
    resolved = None
    if QueryStatus(query.status) not in UNRESOLVED and query.closed_at is not None:
        resolved = as_utc(query.closed_at).date()
    return days_open(as_utc(query.opened_at).date(), resolved, today)


def _base(actor: Actor, protocol_id: str) -> Select[tuple[DataQuery, str, str]]:
    statement = (
        select(DataQuery, Subject.screening_number, Site.code)
        .join(Subject, Subject.id == DataQuery.subject_id)
        .join(Site, Site.id == Subject.site_id)
        .where(DataQuery.protocol_id == protocol_id)
    )
    if is_site_limited(actor.role):
        statement = statement.where(Subject.site_id.in_(sorted(actor.site_ids)))
    return statement


def _view(session: Session, query: DataQuery) -> QueryView:
    subject = session.get(Subject, query.subject_id)
    assert subject is not None
    site = session.get(Site, subject.site_id)
    return QueryView(query, subject.screening_number, site.code if site else "", _age(query, clock.today()))


def _visible_query(
    session: Session, actor: Actor, protocol: Protocol, query_id: int, *, for_update: bool = False
) -> DataQuery:
    actor.require(Capability.READ_SUBJECTS)
    statement = _base(actor, protocol.id).where(DataQuery.id == query_id)
    if for_update:
        statement = statement.with_for_update(of=DataQuery)
    row = session.execute(statement).first()
    if row is None:
        raise NotFound(f"query {query_id} not found")
    query: DataQuery = row[0]
    return query


def _member(kind: type[QueryStatus] | type[QueryOrigin], value: str, name: str) -> str:
    try:
        return kind(value).value
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{name} must be one of: {known} (not '{value}')", field=name) from None


def _filtered(
    statement: Select[tuple[DataQuery, str, str]], filters: QueryFilter
) -> Select[tuple[DataQuery, str, str]]:
    if filters.status is not None:
        statement = statement.where(DataQuery.status == _member(QueryStatus, filters.status, "status"))
    if filters.origin is not None:
        statement = statement.where(DataQuery.origin == _member(QueryOrigin, filters.origin, "origin"))
    if filters.site_code is not None:
        statement = statement.where(Site.code == filters.site_code)
    if filters.form_id is not None:
        statement = statement.where(DataQuery.form_id == filters.form_id)
    if filters.subject_id is not None:
        statement = statement.where(DataQuery.subject_id == filters.subject_id)
    return statement


def list_queries(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    filters: QueryFilter | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[QueryView]:
    """The trial's queries the actor may see, filtered, oldest first (by id), each with its age in
    days; with ``limit``, only that many from ``offset`` (LIMIT/OFFSET in the database)."""
    actor.require(Capability.READ_SUBJECTS)
    statement = _filtered(_base(actor, protocol.id), filters or QueryFilter()).order_by(DataQuery.id)
    if limit is not None:
        statement = statement.limit(limit).offset(offset)
    today = clock.today()
    return [
        QueryView(q, number, code, _age(q, today)) for q, number, code in session.execute(statement).all()
    ]


def count_queries(
    session: Session, actor: Actor, protocol: Protocol, filters: QueryFilter | None = None
) -> int:
    """How many queries :func:`list_queries` lists with these filters, over all pages."""
    actor.require(Capability.READ_SUBJECTS)
    statement = _filtered(_base(actor, protocol.id), filters or QueryFilter())
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def get_thread(session: Session, actor: Actor, protocol: Protocol, query_id: int) -> QueryThread:
    """One query the actor may see and its messages (404 for another site's)."""
    query = _visible_query(session, actor, protocol, query_id)
    messages = session.scalars(
        select(QueryMessage).where(QueryMessage.query_id == query.id).order_by(QueryMessage.id)
    ).all()
    return QueryThread(_view(session, query), list(messages))


def _tally(views: Iterable[QueryView], key_of: Any) -> list[QueryCounts]:
    groups: dict[str, QueryCounts] = {}
    for view in views:
        key = str(key_of(view))
        counts = groups.setdefault(key, QueryCounts(key))
        counts.counts[view.query.status] += 1
        if QueryStatus(view.query.status) in UNRESOLVED:
            counts.ages.append(view.days_open)
    return [groups[key] for key in sorted(groups)]


def summarize(session: Session, actor: Actor, protocol: Protocol) -> QuerySummary:
    """Counts by status per site and per form (or target table), with the median and oldest age of the
    unresolved queries, over the queries the actor may see."""
    views = list_queries(session, actor, protocol)
    total = _tally(views, lambda _view: "all")
    return QuerySummary(
        by_site=_tally(views, lambda view: view.site_code),
        by_form=_tally(views, lambda view: view.query.form_id or view.query.target_table),
        total=total[0] if total else QueryCounts("all"),
    )


def open_queries_of_subject(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> list[QueryView]:
    """The subject's unresolved queries (open or answered), for the subject page and the entry form."""
    views = list_queries(session, actor, protocol, QueryFilter(subject_id=subject_id))
    return [view for view in views if QueryStatus(view.query.status) in UNRESOLVED]


def open_queries_on_record(
    session: Session, actor: Actor, protocol: Protocol, record: FormRecord
) -> dict[str, list[QueryView]]:
    """A form record's unresolved queries by field id (``""``: on the whole record), for the entry page."""
    value_ids = {
        str(value_id): field_id
        for value_id, field_id in session.execute(
            select(FormValue.id, FormValue.field_id).where(FormValue.record_id == record.id)
        ).all()
    }
    found: dict[str, list[QueryView]] = {}
    for view in open_queries_of_subject(session, actor, protocol, record.subject_id):
        query = view.query
        on_record = query.target_table == "form_records" and query.target_id == str(record.id)
        on_value = query.target_table == "form_values" and query.target_id in value_ids
        if on_record or on_value:
            found.setdefault(query.field or "", []).append(view)
    return found


def waiting_for(session: Session, actor: Actor, protocol: Protocol) -> tuple[str, int] | None:
    """What waits for the actor on the home page: site staff, the open queries of their sites; the
    monitor and data manager, the answered queries to review; None for the other roles."""
    if can(actor.role, Capability.ANSWER_QUERY):
        status = QueryStatus.OPEN
    elif can(actor.role, Capability.CLOSE_QUERY):
        status = QueryStatus.ANSWERED
    else:
        return None
    statement = _base(actor, protocol.id).where(DataQuery.status == status.value)
    count = session.scalar(select(func.count()).select_from(statement.subquery()))
    return status.value, int(count or 0)
