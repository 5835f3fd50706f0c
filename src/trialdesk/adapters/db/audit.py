"""The append-only, hash-chained audit trail.

Every flush of a session that changes an :class:`~trialdesk.adapters.db.models.Audited` row writes
audit rows in the same transaction: one row per insert (the whole new row as JSON), one row per
changed field of an update (old and new value), one row per delete (the whole old row). Each row's
``hash`` is SHA-256 over the previous row's hash and this row's canonical content, so any later
edit, insertion or deletion breaks the chain at that row; :func:`verify_chain` finds the first
broken link. The database itself refuses UPDATE and DELETE on ``audit_log`` (triggers created by
the migration, on SQLite and PostgreSQL).

Who and why come from ``session.info``: ``actor`` (username, required) and ``reason`` (required to
change or delete a value already entered, 21 CFR Part 11 style; the first entry of an empty field
needs none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from trialdesk.adapters.db.models import Audited, AuditHead, AuditRecord

GENESIS_HASH = "0" * 64
FIELDS = (
    "seq",
    "at",
    "username",
    "action",
    "table_name",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "reason",
)


class AuditContextMissing(RuntimeError):
    """A change to trial data was attempted without a known user (every change needs one)."""


class ReasonRequired(ValueError):
    """A change to existing trial data was attempted without a reason."""


def canonical(value: Any) -> str | None:
    """Render a stored value as stable text for the audit trail (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive values from SQLite are UTC by construction)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 (hex) of the previous hash and the row's canonical fields, in :data:`FIELDS` order."""
    payload = json.dumps([prev_hash, *[canonical(row[name]) for name in FIELDS]], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One audit row before it is chained."""

    action: str
    table_name: str
    record_id: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None
    subject_id: int | None = None


def append(connection: Connection, username: str, entries: Sequence[AuditEntry]) -> tuple[int, str] | None:
    """Chain and insert ``entries`` after the current head (locks the head row until commit); return the
    new head ``(seq, hash)`` (None when there was nothing to append)."""
    if not entries:
        return None
    head_query = select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
    if connection.dialect.name == "postgresql":
        head_query = head_query.with_for_update()
    last_seq, last_hash = connection.execute(head_query).one()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    prev = last_hash
    for entry in entries:
        last_seq += 1
        row: dict[str, Any] = {
            "seq": last_seq,
            "at": now,
            "username": username,
            "action": entry.action,
            "table_name": entry.table_name,
            "record_id": entry.record_id,
            "field": entry.field,
            "old_value": entry.old_value,
            "new_value": entry.new_value,
            "reason": entry.reason,
        }
        digest = row_hash(prev, row)
        rows.append({**row, "prev_hash": prev, "hash": digest, "subject_id": entry.subject_id})
        prev = digest
    connection.execute(insert(AuditRecord), rows)
    connection.execute(update(AuditHead).where(AuditHead.id == 1).values(last_seq=last_seq, last_hash=prev))
    return last_seq, prev


HEAD_KEY = "audit_head"
"""``session.info`` key of the chain head this session's transaction wrote (for the checkpoint)."""


@contextmanager
def audit_reason(session: Session, reason: str, *, keep_given: bool = False) -> Iterator[None]:
    """Record changes made inside the block with ``reason`` (system-driven changes such as a phase
    transition or a recomputation). With ``keep_given``, a reason the user already gave wins."""
    previous = session.info.get("reason")
    session.info["reason"] = (previous or reason) if keep_given else reason
    try:
        yield
    finally:
        session.info["reason"] = previous


def log_event(session: Session, action: str, table_name: str, record_id: str, **details: Any) -> None:
    """Audit a non-data event (login, role change, export, signature...) in the session's transaction."""
    username = details.pop("username", None) or session.info.get("actor")
    if not username:
        raise AuditContextMissing(f"audit event '{action}' has no user")
    entry = AuditEntry(action=action, table_name=table_name, record_id=record_id, **details)
    session.info[HEAD_KEY] = append(session.connection(), str(username), [entry])


def _record_id(obj: Any) -> str:
    state = inspect(obj)
    identity = state.identity or state.mapper.primary_key_from_instance(obj)
    return "/".join(str(part) for part in identity)


def _subject_id(obj: Any) -> int | None:
    if getattr(obj, "__tablename__", "") == "subjects":
        return int(obj.id)
    value = getattr(obj, "subject_id", None)
    return int(value) if value is not None else None


def _columns(obj: Any) -> list[str]:
    excluded = type(obj).__audit_exclude__
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in excluded]


def _snapshot(obj: Any, use_committed: bool = False) -> str | None:
    values: dict[str, Any] = {}
    state = inspect(obj)
    for key in _columns(obj):
        if use_committed:
            history = state.attrs[key].history
            values[key] = canonical(history.deleted[0] if history.deleted else getattr(obj, key))
        else:
            values[key] = canonical(getattr(obj, key))
    return canonical(values)


def _update_entries(obj: Any, reason: str | None) -> list[AuditEntry]:
    state = inspect(obj)
    entries = []
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if canonical(old) == canonical(new):
            continue
        entries.append(
            AuditEntry(
                action="update",
                table_name=obj.__tablename__,
                record_id=_record_id(obj),
                field=key,
                old_value=canonical(old),
                new_value=canonical(new),
                reason=reason,
                subject_id=_subject_id(obj),
            )
        )
    return entries


def _entries_for_flush(session: Session) -> Iterator[AuditEntry]:
    reason = session.info.get("reason")
    for obj in session.new:
        if isinstance(obj, Audited):
            yield AuditEntry(
                action="insert",
                table_name=obj.__tablename__,  # type: ignore[attr-defined]
                record_id=_record_id(obj),
                new_value=_snapshot(obj),
                reason=reason,
                subject_id=_subject_id(obj),
            )
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            changes = _update_entries(obj, reason)
            # first entry of a value (old value empty) needs no reason; changing a value does
            if not reason and any(change.old_value is not None for change in changes):
                raise ReasonRequired(f"changing {obj.__tablename__} {_record_id(obj)} needs a reason")  # type: ignore[attr-defined]
            yield from changes
    for obj in session.deleted:
        if isinstance(obj, Audited):
            if not reason:
                raise ReasonRequired(f"deleting {obj.__tablename__} {_record_id(obj)} needs a reason")  # type: ignore[attr-defined]
            yield AuditEntry(
                action="delete",
                table_name=obj.__tablename__,  # type: ignore[attr-defined]
                record_id=_record_id(obj),
                old_value=_snapshot(obj, use_committed=True),
                reason=reason,
                subject_id=_subject_id(obj),
            )


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, flush_context: UOWTransaction) -> None:
    entries = list(_entries_for_flush(session))
    if not entries:
        return
    actor = session.info.get("actor")
    if not actor:
        raise AuditContextMissing("trial data changed without a user: set session.info['actor']")
    session.info[HEAD_KEY] = append(session.connection(), str(actor), entries)


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`: how many rows were checked and the first broken link."""

    rows: int
    ok: bool
    broken_seq: int | None = None
    problem: str | None = None


def verify_chain(connection: Connection) -> ChainReport:
    """Recompute the chain from the first row; report the first row whose link is broken."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    table = AuditRecord.__table__
    result = connection.execution_options(yield_per=1000).execute(select(table).order_by(table.c.seq))
    for mapping in result.mappings():
        row = {name: mapping[name] for name in FIELDS}
        seq = int(mapping["seq"])
        if seq != expected_seq:
            return ChainReport(count, False, seq, f"sequence gap: expected {expected_seq}, found {seq}")
        if mapping["prev_hash"] != expected_prev:
            return ChainReport(count, False, seq, "prev_hash does not match the previous row's hash")
        if row_hash(expected_prev, row) != mapping["hash"]:
            return ChainReport(count, False, seq, "row content does not match its hash (edited)")
        expected_prev = str(mapping["hash"])
        expected_seq += 1
        count += 1
    head = connection.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    if head.last_seq != count or head.last_hash != expected_prev:
        return ChainReport(
            count, False, count + 1 if head.last_seq > count else count, "rows missing after the end"
        )
    return ChainReport(count, True)


# The lock guard's before_flush listener registers with the audit listener: every session that audits
# also refuses changes to frozen or locked data.
from trialdesk.adapters.db import lock_guard as _lock_guard  # noqa: E402, F401
