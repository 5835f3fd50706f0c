"""Data queries API (issue 14): open a query on a value, read its thread, answer, close, re-open or
cancel it, list the trial's queries with their aging, and count them per site and per form
(:mod:`trialdesk.services.queries`). Refusals name the field (422) or the rule (409)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import QueryMessage
from trialdesk.domain.queries import QueryMove
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import queries
from trialdesk.services.queries import QueryCounts, QueryFilter, QueryView

router = APIRouter(prefix="/api/trials/{protocol_id}/queries", tags=["data queries"])

StatusName = Literal["open", "answered", "closed", "cancelled"]
MAX_ID = 2**31 - 1
QueryId = Annotated[int, Path(ge=1, le=MAX_ID, description="The query's id")]
"""A query id in the path (an INTEGER key: a larger number is refused, never sent to the database)."""


class QueryIn(BaseModel):
    target_table: str = Field(
        max_length=64, description=f"One of: {', '.join(sorted(queries.TARGET_TABLES))}"
    )
    target_id: str = Field(max_length=64, description="The id of the row questioned")
    field: str | None = Field(
        default=None,
        max_length=64,
        description="A column of the table, or the form's field id; none: the row",
    )
    text: str = Field(max_length=queries.MAX_TEXT, description="The question")


class AnswerIn(BaseModel):
    text: str = Field(max_length=queries.MAX_TEXT, description="The answer")
    data_changed: bool = Field(
        default=False,
        description="The value was corrected (through its form, with a reason) since the query was opened",
    )


class NoteIn(BaseModel):
    text: str = Field(
        max_length=queries.MAX_TEXT, description="The closing note, re-opening question or reason"
    )


class QueryOut(BaseModel):
    id: int
    subject_id: int
    screening_number: str
    site_code: str
    target_table: str
    target_id: str
    field: str | None
    form_id: str | None
    visit_id: str | None
    origin: str
    check_id: str | None
    check_version: str | None
    status: str
    text: str
    opened_by: str
    opened_at: dt.datetime
    closed_by: str | None
    closed_at: dt.datetime | None
    days_open: int


class MessageOut(BaseModel):
    kind: str
    text: str
    author: str
    at: dt.datetime


class ThreadOut(QueryOut):
    messages: list[MessageOut]


class CountsOut(BaseModel):
    key: str
    counts: dict[str, int]
    median_days_open: float | None
    max_days_open: int | None


class SummaryOut(BaseModel):
    by_site: list[CountsOut]
    by_form: list[CountsOut]
    total: CountsOut


def query_out(view: QueryView) -> QueryOut:
    q = view.query
    return QueryOut(
        id=q.id,
        subject_id=q.subject_id,
        screening_number=view.screening_number,
        site_code=view.site_code,
        target_table=q.target_table,
        target_id=q.target_id,
        field=q.field,
        form_id=q.form_id,
        visit_id=q.visit_id,
        origin=q.origin,
        check_id=q.check_id,
        check_version=q.check_version,
        status=q.status,
        text=q.text,
        opened_by=q.opened_by,
        opened_at=q.opened_at,
        closed_by=q.closed_by,
        closed_at=q.closed_at,
        days_open=view.days_open,
    )


def _message_out(message: QueryMessage) -> MessageOut:
    return MessageOut(kind=message.kind, text=message.text, author=message.author, at=message.at)


def _counts_out(counts: QueryCounts) -> CountsOut:
    return CountsOut(
        key=counts.key,
        counts=counts.counts,
        median_days_open=counts.median_days_open,
        max_days_open=counts.max_days_open,
    )


@router.post("", response_model=QueryOut, status_code=201)
def open_query(body: QueryIn, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> QueryOut:
    """Open a query on a value (monitor, data manager); the server derives subject, form and visit."""

    def work(session: Session) -> QueryOut:
        view = queries.open_query(
            session,
            actor,
            protocol,
            target_table=body.target_table,
            target_id=body.target_id,
            field_name=body.field,
            text=body.text,
        )
        return query_out(view)

    return run(request, actor.username, work, reason="query opened")


@router.get("", response_model=list[QueryOut], responses=PAGINATED)
def list_queries(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    page: PageDep,
    status: StatusName | None = Query(None),
    site: str | None = Query(None, max_length=32, description="Site code"),
    form: str | None = Query(None, max_length=64, description="Form id"),
    subject: int | None = Query(None, ge=1, le=MAX_ID, description="Subject id"),
    origin: Literal["manual", "system"] | None = Query(None),
) -> list[QueryOut]:
    """The trial's queries you may see (site staff: their sites'), oldest first, with days open."""
    filters = QueryFilter(status=status, site_code=site, form_id=form, subject_id=subject, origin=origin)

    def work(session: Session) -> list[QueryOut]:
        found = queries.list_queries(session, actor, protocol, filters, limit=page.limit, offset=page.offset)
        page.set_total(queries.count_queries(session, actor, protocol, filters))
        return [query_out(v) for v in found]

    return run(request, actor.username, work, write=False)


@router.get("/summary", response_model=SummaryOut)
def summary(actor: CurrentActor, protocol: ProtocolDep, request: Request) -> SummaryOut:
    """Counts by status per site and per form, with the median and oldest age of unresolved queries."""

    def work(session: Session) -> SummaryOut:
        result = queries.summarize(session, actor, protocol)
        return SummaryOut(
            by_site=[_counts_out(c) for c in result.by_site],
            by_form=[_counts_out(c) for c in result.by_form],
            total=_counts_out(result.total),
        )

    return run(request, actor.username, work, write=False)


@router.get("/{query_id}", response_model=ThreadOut)
def get_query(query_id: QueryId, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> ThreadOut:
    """One query and its thread (404 for another site's)."""

    def work(session: Session) -> ThreadOut:
        thread = queries.get_thread(session, actor, protocol, query_id)
        messages = [_message_out(m) for m in thread.messages]
        return ThreadOut(**query_out(thread.view).model_dump(), messages=messages)

    return run(request, actor.username, work, write=False)


@router.post("/{query_id}/answer", response_model=QueryOut)
def answer(
    query_id: QueryId, body: AnswerIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> QueryOut:
    """Answer an open query of your site (site staff); ``data_changed`` is checked against the audit trail."""

    def work(session: Session) -> QueryOut:
        view = queries.answer_query(
            session, actor, protocol, query_id, body.text, data_changed=body.data_changed
        )
        return query_out(view)

    return run(request, actor.username, work, reason="query answered")


def _move(
    move: QueryMove,
    query_id: QueryId,
    body: NoteIn,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
) -> QueryOut:
    return run(
        request,
        actor.username,
        lambda s: query_out(queries.move_query(s, actor, protocol, query_id, move, body.text)),
        reason=f"query {move.value}",
    )


@router.post("/{query_id}/close", response_model=QueryOut)
def close(
    query_id: QueryId, body: NoteIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> QueryOut:
    """Close an answered query (monitor, data manager)."""
    return _move(QueryMove.CLOSE, query_id, body, actor, protocol, request)


@router.post("/{query_id}/reopen", response_model=QueryOut)
def reopen(
    query_id: QueryId, body: NoteIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> QueryOut:
    """Re-open an answered or closed query with a new question (monitor, data manager)."""
    return _move(QueryMove.REOPEN, query_id, body, actor, protocol, request)


@router.post("/{query_id}/cancel", response_model=QueryOut)
def cancel(
    query_id: QueryId, body: NoteIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> QueryOut:
    """Cancel an open or answered query raised in error, with the reason (monitor, data manager)."""
    return _move(QueryMove.CANCEL, query_id, body, actor, protocol, request)
