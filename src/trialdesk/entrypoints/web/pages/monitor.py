"""The audit trail page (monitor and admin): filters by user, subject, table and date range, pages of
rows, and the CSV export of the same filters. Every read is audited by
:mod:`trialdesk.services.audit_trail`, as ``GET /api/audit`` is."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from trialdesk.domain.roles import Capability
from trialdesk.entrypoints.api.deps import run
from trialdesk.entrypoints.web.render import FormErrors, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import audit_trail
from trialdesk.services.actors import Actor
from trialdesk.services.audit_trail import AuditQuery
from trialdesk.services.errors import InvalidInput

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PAGE_SIZE = 50
FILTERS = ("user", "subject_id", "table", "since", "until")
CSV_COLUMNS = (
    "seq",
    "at",
    "user",
    "action",
    "table",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "subject_id",
    "hash",
)


class AuditFilters(BaseModel):
    """The filters of the audit page's query string; ``since``/``until`` are dates, both included."""

    user: str | None = Field(default=None, max_length=64)
    subject_id: int | None = Field(default=None, ge=1)
    table: str | None = Field(default=None, max_length=64)
    since: dt.date | None = None
    until: dt.date | None = None
    page: int = Field(default=1, ge=1)

    def query(self, page_size: int = PAGE_SIZE) -> AuditQuery:
        """The service's query: dates become the UTC range ``[since 00:00, until + 1 day 00:00)``."""
        return AuditQuery(
            subject_id=self.subject_id,
            username=self.user,
            since=_midnight(self.since),
            until=_midnight(self.until + dt.timedelta(days=1) if self.until else None),
            page=self.page,
            page_size=page_size,
            table=self.table,
        )


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _filters(request: Request) -> tuple[AuditFilters, dict[str, str], FormErrors | None]:
    """The query string's filters, what was typed (to show again), and their errors."""
    values = {key: request.query_params.get(key, "") for key in (*FILTERS, "page")}
    try:
        given = {key: value.strip() for key, value in values.items() if value.strip()}
        return AuditFilters.model_validate(given), values, None
    except ValidationError as exc:
        return AuditFilters(), values, FormErrors.from_validation(exc)


def _page_links(filters: dict[str, str], page: int, pages: int) -> dict[str, str | None]:
    def link(number: int) -> str:
        return "/audit?" + urlencode(
            {**{k: v for k, v in filters.items() if v and k != "page"}, "page": number}
        )

    return {
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


def _read(request: Request, actor: Actor, query: AuditQuery) -> tuple[dict[str, Any], list[str]]:
    def work(session: Session) -> tuple[dict[str, Any], list[str]]:
        return audit_trail.read_audit(session, actor, query), audit_trail.audit_tables(session, actor)

    return run(request, actor.username, work)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, actor: PageActor) -> HTMLResponse:
    """The audit trail, oldest first, filtered and paginated; the read is audited."""
    actor.require(Capability.READ_AUDIT)
    filters, values, errors = _filters(request)
    result, tables = _read(
        request, actor, filters.query() if errors is None else AuditQuery(page_size=PAGE_SIZE)
    )
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    export = {k: v for k, v in values.items() if v and k != "page" and errors is None}
    context = {
        "result": result,
        "tables": tables,
        "values": values,
        "errors": errors.by_field if errors else {},
        "pages": pages,
        "links": _page_links(values, result["page"], pages),
        "csv_href": "/audit.csv" + ("?" + urlencode(export) if export else ""),
    }
    return render(request, "monitor/audit.html", context, status_code=errors.status_code if errors else 200)


@router.get("/audit.csv", response_model=None)
def audit_csv(request: Request, actor: PageActor) -> Response:
    """Every audit row of the filters as CSV (UTF-8 with a byte-order mark, for spreadsheet programs);
    audited as an export of the audit log."""
    actor.require(Capability.READ_AUDIT)
    filters, _, errors = _filters(request)
    if errors:
        name, message = next(iter(errors.by_field.items()))
        raise InvalidInput(f"{name}: {message}", field=name)
    query = filters.query()
    rows = run(request, actor.username, lambda s: audit_trail.export_audit(s, actor, query))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content="\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-trail-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
