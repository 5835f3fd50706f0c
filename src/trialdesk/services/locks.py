"""Freeze and lock trial data, and lift them (issue 14).

A freeze (per form record or subject) stops entry until a FREEZE_DATA user lifts it with a reason.
A lock (per form record, subject, data cut-off or the whole database of a protocol) stops every
change; it is released only in two steps by two different people of two different UNLOCK_DATA roles
(data manager and statistician), each with a reason: one requests, the other releases. The central
guard (:mod:`trialdesk.adapters.db.lock_guard`) enforces both on every write path. A lock records
``content_sha256``, the SHA-256 of the data it covers as of its creation (reports built from it print
it on their title page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.casebook import casebook_data, data_sha256, protocol_subject_ids
from trialdesk.adapters.db.models import DataLock, FormRecord, User
from trialdesk.domain.data_locks import FREEZE_SCOPES, KINDS, SCOPES
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict, InvalidInput, NotFound

MIN_REASON = 5
"""A reason of at least this many characters (after trimming)."""


@dataclass(frozen=True)
class LockRequest:
    """What to freeze or lock: ``scope`` and its target (subject, form record or cut-off date)."""

    kind: str
    scope: str
    reason: str
    subject_id: int | None = None
    form_record_id: int | None = None
    cutoff_date: date | None = None


def _reason(reason: str | None, field: str = "reason") -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise InvalidInput(f"a reason of at least {MIN_REASON} characters is required", field=field)
    return text


def _check_shape(request: LockRequest) -> None:
    if request.kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if request.scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if request.kind == "freeze" and request.scope not in FREEZE_SCOPES:
        raise InvalidInput("a freeze is per form record or per subject", field="scope")
    needed = {"subject": "subject_id", "form_record": "form_record_id", "cutoff": "cutoff_date"}.get(
        request.scope
    )
    if needed is not None and getattr(request, needed) is None:
        raise InvalidInput(f"a {request.scope} {request.kind} needs {needed}", field=needed)
    if request.cutoff_date is not None and request.cutoff_date > clock.today():
        raise InvalidInput("the cut-off date cannot be in the future", field="cutoff_date")


def _covered_subjects(session: Session, actor: Actor, protocol_id: str, request: LockRequest) -> list[int]:
    """The subjects whose data the lock covers (checks the target exists in the protocol)."""
    if request.scope == "subject":
        assert request.subject_id is not None
        return [visible_subject(session, actor, request.subject_id, protocol_id=protocol_id).id]
    if request.scope == "form_record":
        record = session.get(FormRecord, request.form_record_id)
        if record is None:
            raise NotFound(f"form record {request.form_record_id} not found")
        return [visible_subject(session, actor, record.subject_id, protocol_id=protocol_id).id]
    return protocol_subject_ids(session, protocol_id)


def content_sha256_now(session: Session, lock: DataLock) -> str:
    """The hash of the data ``lock`` covers as it is now (equal to ``content_sha256`` while locked)."""
    request = LockRequest(
        lock.kind, lock.scope, lock.reason, lock.subject_id, lock.form_record_id, lock.cutoff_date
    )
    if lock.scope in ("subject", "form_record"):
        subject_ids = [lock.subject_id] if lock.subject_id is not None else _record_subject(session, lock)
    else:
        subject_ids = protocol_subject_ids(session, lock.protocol_id)
    return _content_sha256(session, subject_ids, request)


def _record_subject(session: Session, lock: DataLock) -> list[int]:
    record = session.get(FormRecord, lock.form_record_id)
    return [] if record is None else [record.subject_id]


def report_lock(session: Session, protocol_id: str, lock_id: int) -> tuple[DataLock, date]:
    """An active cut-off or database lock to build a report from, and its cut-off (a database lock's:
    the day it was taken); refused when the data differ from the hash locked."""
    lock = get(session, protocol_id, lock_id)
    if lock.kind != "lock" or lock.scope not in ("cutoff", "database") or lock.released_at is not None:
        raise Conflict(
            f"#{lock.id} is not an active cut-off or database lock: a report is built from one",
            rule="report_needs_lock",
        )
    if content_sha256_now(session, lock) != lock.content_sha256:
        raise Conflict(f"the data of lock #{lock.id} differ from its hash", rule="lock_hash_mismatch")
    return lock, lock.cutoff_date or lock.created_at.date()


def _content_sha256(session: Session, subject_ids: list[int], request: LockRequest) -> str:
    data = casebook_data(
        session, subject_ids, cutoff=request.cutoff_date if request.scope == "cutoff" else None
    )
    if request.scope == "form_record":
        data = {
            "form_records": [r for r in data["form_records"] if r["id"] == str(request.form_record_id)],
            "form_values": [v for v in data["form_values"] if v["record_id"] == str(request.form_record_id)],
        }
    return data_sha256(data)


def _same_active(session: Session, protocol_id: str, request: LockRequest) -> DataLock | None:
    return session.scalars(
        select(DataLock).where(
            DataLock.protocol_id == protocol_id,
            DataLock.kind == request.kind,
            DataLock.scope == request.scope,
            DataLock.subject_id.is_(None)
            if request.subject_id is None
            else DataLock.subject_id == request.subject_id,
            DataLock.form_record_id.is_(None)
            if request.form_record_id is None
            else DataLock.form_record_id == request.form_record_id,
            DataLock.cutoff_date.is_(None)
            if request.cutoff_date is None
            else DataLock.cutoff_date == request.cutoff_date,
            DataLock.released_at.is_(None),
        )
    ).first()


def create(session: Session, actor: Actor, protocol_id: str, request: LockRequest) -> DataLock:
    """Freeze (FREEZE_DATA) or lock (LOCK_DATA) data of ``protocol_id``; the hash of the data covered
    is stored. An identical active freeze or lock is a conflict."""
    actor.require(Capability.FREEZE_DATA if request.kind == "freeze" else Capability.LOCK_DATA)
    reason = _reason(request.reason)
    _check_shape(request)
    subject_ids = _covered_subjects(session, actor, protocol_id, request)
    existing = _same_active(session, protocol_id, request)
    if existing is not None:
        raise Conflict(f"the same {request.kind} is already active (#{existing.id})", rule="lock_exists")
    lock = DataLock(
        protocol_id=protocol_id,
        scope=request.scope,
        kind=request.kind,
        subject_id=request.subject_id,
        form_record_id=request.form_record_id,
        cutoff_date=request.cutoff_date,
        reason=reason,
        created_by=actor.username,
        created_at=clock.now(),
        content_sha256=_content_sha256(session, subject_ids, request),
    )
    with audit_reason(session, reason, keep_given=True):
        session.add(lock)
        session.flush()
    return lock


def get(session: Session, protocol_id: str, lock_id: int, *, for_update: bool = False) -> DataLock:
    """The lock ``lock_id`` of the protocol (404 otherwise)."""
    query = select(DataLock).where(DataLock.id == lock_id, DataLock.protocol_id == protocol_id)
    lock = session.scalars(query.with_for_update() if for_update else query).first()
    if lock is None:
        raise NotFound(f"lock {lock_id} not found")
    return lock


def _active(lock: DataLock, kind: str) -> None:
    if lock.released_at is not None:
        raise Conflict(f"{lock.kind} #{lock.id} is already released", rule="lock_released")
    if lock.kind != kind:
        raise Conflict(
            f"#{lock.id} is a {lock.kind}: "
            + ("lift it" if lock.kind == "freeze" else "unlock it in two steps"),
            rule="lock_kind",
        )


def lift_freeze(session: Session, actor: Actor, protocol_id: str, lock_id: int, reason: str) -> DataLock:
    """Lift a freeze (FREEZE_DATA, with a reason)."""
    actor.require(Capability.FREEZE_DATA)
    text = _reason(reason)
    lock = get(session, protocol_id, lock_id, for_update=True)
    _active(lock, "freeze")
    with audit_reason(session, text):
        lock.released_by, lock.released_at, lock.release_reason = actor.username, clock.now(), text
        session.flush()
    return lock


def request_unlock(session: Session, actor: Actor, protocol_id: str, lock_id: int, reason: str) -> DataLock:
    """First step of an unlock: a user of an UNLOCK_DATA role asks, with a reason."""
    actor.require(Capability.UNLOCK_DATA)
    text = _reason(reason)
    lock = get(session, protocol_id, lock_id, for_update=True)
    _active(lock, "lock")
    if lock.release_requested_by is not None:
        raise Conflict(
            f"unlock of #{lock.id} already requested by {lock.release_requested_by}", rule="unlock_requested"
        )
    with audit_reason(session, text):
        lock.release_requested_by, lock.release_requested_at = actor.username, clock.now()
        lock.release_request_reason = text
        session.flush()
    return lock


def release_unlock(session: Session, actor: Actor, protocol_id: str, lock_id: int, reason: str) -> DataLock:
    """Second step: a DIFFERENT user of the OTHER UNLOCK_DATA role releases the lock, with a reason."""
    actor.require(Capability.UNLOCK_DATA)
    text = _reason(reason)
    lock = get(session, protocol_id, lock_id, for_update=True)
    _active(lock, "lock")
    if lock.release_requested_by is None:
        raise Conflict(f"unlock of #{lock.id} must first be requested", rule="unlock_two_roles")
    requester = session.scalars(select(User).where(User.username == lock.release_requested_by)).first()
    if lock.release_requested_by == actor.username or (
        requester is not None and requester.role == actor.role
    ):
        raise Conflict(
            f"the unlock of #{lock.id} was requested by {lock.release_requested_by}: a different person "
            "of the other unlocking role must release it",
            rule="unlock_two_roles",
        )
    with audit_reason(session, text):
        lock.released_by, lock.released_at, lock.release_reason = actor.username, clock.now(), text
        session.flush()
    return lock


def list_locks(session: Session, actor: Actor, protocol_id: str) -> list[DataLock]:
    """Every freeze and lock of the protocol, newest first (any user who reads subjects)."""
    actor.require(Capability.READ_SUBJECTS)
    return list(
        session.scalars(
            select(DataLock).where(DataLock.protocol_id == protocol_id).order_by(DataLock.id.desc())
        )
    )


LockStep = Callable[[Session], DataLock]
"""One step on a lock inside a unit of work (lift, request, release)."""
