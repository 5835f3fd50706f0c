"""``POST /api/auth/token``: exchange a username and password for a short-lived bearer token;
``POST /api/auth/password``: change one's own password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field

from trialdesk.entrypoints.api.bounds import CODE_MAX, SECRET_MAX, TEXT_MAX
from trialdesk.entrypoints.api.deps import CurrentActor, oauth2, run
from trialdesk.entrypoints.api.error_docs import ErrorOut
from trialdesk.entrypoints.api.sign_in import sign_in
from trialdesk.services.auth import change_password, user_for_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str
    password_change_required: bool = Field(
        default=False,
        description="An administrator reset the password: every call but /api/auth/password and "
        "/api/auth/me is refused (403) until the user chooses their own",
    )


class PasswordChangeIn(BaseModel):
    old_password: str = Field(max_length=SECRET_MAX)
    new_password: str = Field(max_length=SECRET_MAX)


class MeOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    site_ids: list[int]


TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorOut, "description": "Too many attempts: wait Retry-After seconds"}
}


@dataclass(frozen=True)
class PasswordForm:
    """The OAuth2 password form (RFC 6749 section 4.3.2), every field bounded in the schema."""

    username: str
    password: str


def password_form(
    username: Annotated[str, Form(max_length=SECRET_MAX)],
    password: Annotated[str, Form(max_length=SECRET_MAX, json_schema_extra={"format": "password"})],
    grant_type: Annotated[str | None, Form(pattern="^password$", max_length=CODE_MAX)] = None,
    scope: Annotated[str, Form(max_length=TEXT_MAX)] = "",
    client_id: Annotated[str | None, Form(max_length=SECRET_MAX)] = None,
    client_secret: Annotated[str | None, Form(max_length=SECRET_MAX)] = None,
) -> PasswordForm:
    """Read the form as FastAPI's ``OAuth2PasswordRequestForm`` does (``grant_type`` optional, scopes
    and client credentials accepted and unused), with a maximum length on every field; a username over
    64 characters still gets the sign-in's own 422 (:func:`sign_in`)."""
    del grant_type, scope, client_id, client_secret
    return PasswordForm(username, password)


@router.post("/token", response_model=TokenOut, responses=TOO_MANY)
def token(request: Request, form: Annotated[PasswordForm, Depends(password_form)]) -> TokenOut:
    """Log in (OAuth2 password form); successes and failures are audited. Five failures of one
    username within 15 minutes lock it for 15 minutes; one address may try 20 times a minute (both
    settings)."""
    issued = sign_in(request, form.username, form.password)
    return TokenOut(
        access_token=issued.token,
        expires_at=issued.expires_at.isoformat(),
        password_change_required=issued.password_change_required,
    )


@router.post("/password", status_code=204)
def password(
    request: Request, body: PasswordChangeIn, actor: CurrentActor, token: Annotated[str, Depends(oauth2)]
) -> None:
    """Change one's own password (the current one is required; the new one must meet the policy:
    12+ characters, not a common password, two kinds of characters, not containing the username).
    The user's other sessions end; this one stays."""
    run(
        request,
        actor.username,
        lambda s: change_password(s, user_for_token(s, token), body.old_password, body.new_password, token),
        reason="password changed by its owner",
    )


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
