"""Freeze and lock API (issue 14): freeze a form record or subject, lock a form record, subject,
cut-off or the whole database; lift a freeze; unlock in two steps by two roles, each with a reason.

Any write to frozen or locked data, on any route, answers 409 naming the freeze or lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import DataLock
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import locks
from trialdesk.services.locks import LockRequest
from trialdesk.services.reporting import trial_report_from_lock

router = APIRouter(prefix="/api", tags=["data management"])


class LockIn(BaseModel):
    kind: Literal["freeze", "lock"]
    scope: Literal["form_record", "subject", "cutoff", "database"]
    subject_id: int | None = Field(default=None, description="For scope subject")
    form_record_id: int | None = Field(default=None, description="For scope form_record")
    cutoff_date: dt.date | None = Field(default=None, description="For scope cutoff: data dated on/before it")
    reason: str = Field(max_length=2000, description="Why (at least 5 characters)")


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000, description="Why (at least 5 characters)")


class LockOut(BaseModel):
    id: int
    protocol_id: str
    kind: str
    scope: str
    subject_id: int | None
    form_record_id: int | None
    cutoff_date: dt.date | None
    reason: str
    created_by: str
    created_at: dt.datetime
    content_sha256: str | None
    release_requested_by: str | None
    release_requested_at: dt.datetime | None
    release_request_reason: str | None
    released_by: str | None
    released_at: dt.datetime | None
    release_reason: str | None
    active: bool


def lock_out(lock: DataLock) -> LockOut:
    """The API view of a lock."""
    fields = {name: getattr(lock, name) for name in LockOut.model_fields if name != "active"}
    return LockOut(**fields, active=lock.released_at is None)


@router.get("/trials/{protocol_id}/locks", response_model=list[LockOut], responses=PAGINATED)
def list_locks(actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep) -> list[LockOut]:
    """Every freeze and lock of the trial, newest first."""
    work = lambda s: [lock_out(x) for x in locks.list_locks(s, actor, protocol.id)]  # noqa: E731
    return page.window(run(request, actor.username, work, write=False))


@router.post("/trials/{protocol_id}/locks", response_model=LockOut, status_code=201)
def create_lock(body: LockIn, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> LockOut:
    """Freeze (FREEZE_DATA) or lock (LOCK_DATA); stores the SHA-256 of the data covered."""
    wanted = LockRequest(**body.model_dump())

    def work(session: Session) -> LockOut:
        return lock_out(locks.create(session, actor, protocol.id, wanted))

    return run(request, actor.username, work, reason=body.reason)


def _step(request: Request, actor: CurrentActor, body: ReasonIn, step: locks.LockStep) -> LockOut:
    return run(request, actor.username, lambda s: lock_out(step(s)), reason=body.reason)


@router.post("/trials/{protocol_id}/locks/{lock_id}/lift", response_model=LockOut)
def lift_freeze(
    lock_id: int, body: ReasonIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> LockOut:
    """Lift a freeze (FREEZE_DATA, with a reason)."""
    return _step(
        request, actor, body, lambda s: locks.lift_freeze(s, actor, protocol.id, lock_id, body.reason)
    )


@router.post("/trials/{protocol_id}/locks/{lock_id}/unlock-request", response_model=LockOut)
def request_unlock(
    lock_id: int, body: ReasonIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> LockOut:
    """First step of an unlock (a user of an UNLOCK_DATA role, with a reason)."""
    return _step(
        request, actor, body, lambda s: locks.request_unlock(s, actor, protocol.id, lock_id, body.reason)
    )


@router.post("/trials/{protocol_id}/locks/{lock_id}/unlock-release", response_model=LockOut)
def release_unlock(
    lock_id: int, body: ReasonIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> LockOut:
    """Second step: a different user of the other UNLOCK_DATA role releases the lock, with a reason."""
    return _step(
        request, actor, body, lambda s: locks.release_unlock(s, actor, protocol.id, lock_id, body.reason)
    )


@router.get(
    "/trials/{protocol_id}/locks/{lock_id}/report",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}, "description": "The report"}},
)
def report_from_lock(
    lock_id: int,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    format: Literal["pdf", "html"] = "pdf",
) -> Response:
    """The trial report built from an active cut-off or database lock (statistician, safety reviewer,
    monitor): the lock and its hash on the title page; the same lock gives the same bytes."""
    work = lambda s: trial_report_from_lock(s, actor, protocol, format, lock_id)  # noqa: E731
    content = run(request, actor.username, work)
    return Response(content, media_type="application/pdf" if format == "pdf" else "text/html; charset=utf-8")
