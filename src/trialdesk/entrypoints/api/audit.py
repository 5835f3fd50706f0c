"""``GET /api/audit``: the audit trail, paginated and filterable (monitor and admin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.models import AuditRecord
from trialdesk.domain.roles import Capability
from trialdesk.entrypoints.api.deps import CurrentActor, run

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("")
def read_audit(
    request: Request,
    actor: CurrentActor,
    subject_id: int | None = None,
    username: str | None = None,
    since: dt.datetime | None = Query(default=None, description="UTC, inclusive"),
    until: dt.datetime | None = Query(default=None, description="UTC, exclusive"),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Audit rows, oldest first; reading the trail is itself audited (an export of trial data)."""
    actor.require(Capability.READ_AUDIT)

    def work(session: Session) -> dict[str, Any]:
        query = select(AuditRecord)
        if subject_id is not None:
            query = query.where(AuditRecord.subject_id == subject_id)
        if username is not None:
            query = query.where(AuditRecord.username == username)
        if since is not None:
            query = query.where(AuditRecord.at >= since)
        if until is not None:
            query = query.where(AuditRecord.at < until)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(AuditRecord.seq).offset((page - 1) * page_size).limit(page_size)
        )
        items = [
            {
                "seq": r.seq,
                "at": r.at.isoformat(),
                "user": r.username,
                "action": r.action,
                "table": r.table_name,
                "record_id": r.record_id,
                "field": r.field,
                "old_value": r.old_value,
                "new_value": r.new_value,
                "reason": r.reason,
                "subject_id": r.subject_id,
                "hash": r.hash,
            }
            for r in rows
        ]
        filters = {
            "subject_id": subject_id,
            "username": username,
            "since": since,
            "until": until,
            "page": page,
        }
        log_event(
            session, "export", "audit_log", "query", new_value=str({k: v for k, v in filters.items() if v})
        )
        return {"total": int(total), "page": page, "page_size": page_size, "items": items}

    return run(request, actor.username, work)
