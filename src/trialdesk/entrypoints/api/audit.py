"""``GET /api/audit``: the audit trail, paginated and filterable (monitor and admin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from trialdesk.entrypoints.api.deps import CurrentActor, run
from trialdesk.services import audit_trail
from trialdesk.services.audit_trail import AuditQuery

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditRowOut(BaseModel):
    seq: int
    at: str
    user: str
    action: str
    table: str
    record_id: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    subject_id: int | None
    hash: str


class AuditPageOut(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[AuditRowOut]


@router.get("", response_model=AuditPageOut)
def read_audit(
    request: Request,
    actor: CurrentActor,
    subject_id: int | None = None,
    username: str | None = None,
    table: str | None = Query(default=None, description="The table a row is about, e.g. subjects"),
    since: dt.datetime | None = Query(default=None, description="UTC, inclusive"),
    until: dt.datetime | None = Query(default=None, description="UTC, exclusive"),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000),
) -> Any:
    """Audit rows, oldest first; reading the trail is itself audited (an export of trial data)."""
    query = AuditQuery(subject_id, username, since, until, page, page_size, table)
    return run(request, actor.username, lambda session: audit_trail.read_audit(session, actor, query))
