"""Casebook sign-off API (issue 14): the subject's sign-off status with the casebook hash to sign, and
the investigator's e-signature (password re-entered; the meaning is stated by the server)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.services import signoff
from trialdesk.services.signoff import SignoffStatus

router = APIRouter(prefix="/api", tags=["data management"])


class SignoffOut(BaseModel):
    subject_id: int
    state: str = Field(description="unsigned, signed, or changed (data changed since signature: sign again)")
    current_sha256: str = Field(description="SHA-256 of the casebook now: send it back to sign")
    signed_sha256: str | None
    signed_by: str | None
    signed_at: dt.datetime | None
    meaning: str


class SignIn(BaseModel):
    password: str = Field(max_length=200, description="The investigator's password, re-entered")
    data_sha256: str = Field(min_length=64, max_length=64, description="current_sha256 as shown")


def signoff_out(found: SignoffStatus) -> SignoffOut:
    """The API view of a sign-off status."""
    return SignoffOut(**found.__dict__)


@router.get("/trials/{protocol_id}/subjects/{subject_id}/signoff", response_model=SignoffOut)
def signoff_status(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SignoffOut:
    """The subject's casebook sign-off status and the hash to sign."""
    work = lambda s: signoff_out(signoff.status(s, actor, protocol.id, subject_id))  # noqa: E731
    return run(request, actor.username, work, write=False)


@router.post("/trials/{protocol_id}/subjects/{subject_id}/signoff", response_model=SignoffOut)
def sign_casebook(
    subject_id: int, body: SignIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SignoffOut:
    """Sign the casebook as shown (investigator of the site); 409 when it changed since shown."""

    def work(session: Session) -> SignoffOut:
        found = signoff.sign(
            session, actor, protocol.id, subject_id, password=body.password, shown_sha256=body.data_sha256
        )
        return signoff_out(found)

    return run(request, actor.username, work)
