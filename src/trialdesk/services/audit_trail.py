"""The audit-trail query (monitor and admin): rows of the audit chain, filtered and paginated.

Reading the trail is itself an audited export (:func:`trialdesk.services.exports.audited_export`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import AuditRecord
from trialdesk.domain.roles import Capability
from trialdesk.services.actors import Actor
from trialdesk.services.exports import audited_export


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit-trail read: subject, user, a UTC time range ``[since, until)``, a page."""

    subject_id: int | None = None
    username: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    page: int = 1
    page_size: int = 100


def audit_row(record: AuditRecord) -> dict[str, Any]:
    """One audit row as the trail shows it."""
    return {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "user": record.username,
        "action": record.action,
        "table": record.table_name,
        "record_id": record.record_id,
        "field": record.field,
        "old_value": record.old_value,
        "new_value": record.new_value,
        "reason": record.reason,
        "subject_id": record.subject_id,
        "hash": record.hash,
    }


def read_audit(session: Session, actor: Actor, query: AuditQuery) -> dict[str, Any]:
    """Audit rows matching ``query``, oldest first, with the total count; the read is audited."""
    actor.require(Capability.READ_AUDIT)
    rows = select(AuditRecord)
    if query.subject_id is not None:
        rows = rows.where(AuditRecord.subject_id == query.subject_id)
    if query.username is not None:
        rows = rows.where(AuditRecord.username == query.username)
    if query.since is not None:
        rows = rows.where(AuditRecord.at >= query.since)
    if query.until is not None:
        rows = rows.where(AuditRecord.at < query.until)
    total = session.scalar(select(func.count()).select_from(rows.subquery())) or 0
    page = session.scalars(
        rows.order_by(AuditRecord.seq).offset((query.page - 1) * query.page_size).limit(query.page_size)
    )
    items = [audit_row(r) for r in page]
    filters = {
        "subject_id": query.subject_id,
        "username": query.username,
        "since": query.since,
        "until": query.until,
        "page": query.page,
    }
    audited_export(session, "audit_log", "query", detail=str({k: v for k, v in filters.items() if v}))
    return {"total": int(total), "page": query.page, "page_size": query.page_size, "items": items}
