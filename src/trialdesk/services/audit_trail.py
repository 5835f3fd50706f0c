"""The audit-trail query (monitor and admin): rows of the audit chain, filtered and paginated. An
admin reads only the administration rows (accounts, sign-ins, sites).

Reading the trail is itself an audited export (:func:`trialdesk.services.exports.audited_export`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import AuditRecord
from trialdesk.domain.roles import Capability, Role
from trialdesk.services.actors import Actor
from trialdesk.services.exports import audited_export


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit-trail read: subject, user, a UTC time range ``[since, until)``, a page,
    and the table the row is about (``subjects``, ``adverse_events``, ``users``...)."""

    subject_id: int | None = None
    username: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    page: int = 1
    page_size: int = 100
    table: str | None = None

    def filters(self) -> dict[str, Any]:
        """The filters given (for the export's audit row)."""
        values = {
            "subject_id": self.subject_id,
            "username": self.username,
            "table": self.table,
            "since": self.since,
            "until": self.until,
        }
        return {k: v for k, v in values.items() if v}


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


ADMINISTRATION_TABLES = frozenset({"users", "sites", "user_sites", "audit_log"})
"""What an admin may read of the trail: accounts, sign-ins, sites and reads of the trail itself,
never clinical rows (21 CFR Part 11: the system administrator manages access, not trial data)."""


def _matching(actor: Actor, query: AuditQuery) -> Select[tuple[AuditRecord]]:
    """The audit rows the query's filters select for this reader (unordered, unpaginated)."""
    rows = select(AuditRecord)
    if actor.role == Role.ADMIN:
        rows = rows.where(AuditRecord.table_name.in_(sorted(ADMINISTRATION_TABLES)))
    if query.subject_id is not None:
        rows = rows.where(AuditRecord.subject_id == query.subject_id)
    if query.username is not None:
        rows = rows.where(AuditRecord.username == query.username)
    if query.table is not None:
        rows = rows.where(AuditRecord.table_name == query.table)
    if query.since is not None:
        rows = rows.where(AuditRecord.at >= query.since)
    if query.until is not None:
        rows = rows.where(AuditRecord.at < query.until)
    return rows


def read_audit(session: Session, actor: Actor, query: AuditQuery) -> dict[str, Any]:
    """Audit rows matching ``query``, oldest first, with the total count; the read is audited."""
    actor.require(Capability.READ_AUDIT)
    rows = _matching(actor, query)
    total = session.scalar(select(func.count()).select_from(rows.subquery())) or 0
    page = session.scalars(
        rows.order_by(AuditRecord.seq).offset((query.page - 1) * query.page_size).limit(query.page_size)
    )
    items = [audit_row(r) for r in page]
    filters = {**query.filters(), "page": query.page}
    audited_export(session, "audit_log", "query", detail=str(filters))
    return {"total": int(total), "page": query.page, "page_size": query.page_size, "items": items}


EXPORT_LIMIT = 100_000
"""The most rows one audit-trail export holds (narrow the filters for more)."""


def export_audit(session: Session, actor: Actor, query: AuditQuery) -> list[dict[str, Any]]:
    """Every audit row matching ``query``'s filters (not its page), oldest first, at most
    :data:`EXPORT_LIMIT`; audited as an export of the audit log."""
    actor.require(Capability.READ_AUDIT)
    rows = session.scalars(_matching(actor, query).order_by(AuditRecord.seq).limit(EXPORT_LIMIT))
    items = [audit_row(r) for r in rows]
    audited_export(session, "audit_log", "export", detail=str(query.filters()))
    return items


def audit_tables(session: Session, actor: Actor) -> list[str]:
    """The table names that occur in the audit trail (the choices of the table filter)."""
    actor.require(Capability.READ_AUDIT)
    tables = sorted(session.scalars(select(AuditRecord.table_name).distinct()))
    return [t for t in tables if actor.role != Role.ADMIN or t in ADMINISTRATION_TABLES]
