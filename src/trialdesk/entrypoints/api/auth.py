"""``POST /api/auth/token``: exchange a username and password for a short-lived bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from trialdesk.entrypoints.api.deps import CurrentActor, run, settings_of
from trialdesk.services.auth import login

router = APIRouter(prefix="/api/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str


class MeOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    site_ids: list[int]


@router.post("/token", response_model=TokenOut)
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Log in (OAuth2 password form); successes and failures are audited."""
    ttl = settings_of(request).token_ttl_minutes
    value, expires = run(request, form.username, lambda s: login(s, form.username, form.password, ttl))
    return TokenOut(access_token=value, expires_at=expires.isoformat())


@router.get("/me", response_model=MeOut)
def me(actor: CurrentActor) -> MeOut:
    """Who the token belongs to."""
    return MeOut(
        id=actor.user_id,
        username=actor.username,
        full_name=actor.full_name,
        role=actor.role.value,
        site_ids=sorted(actor.site_ids),
    )
