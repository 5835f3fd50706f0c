"""Signing in, shared by ``POST /api/auth/token`` and the sign-in page: the per-client rate limit, the
bounded username, the per-username lock-out and the audit of each attempt."""

from __future__ import annotations

from fastapi import Request

from trialdesk.entrypoints.api.deps import run, settings_of
from trialdesk.entrypoints.api.rate_limit import check_login_rate, client_address
from trialdesk.services.auth import (
    MAX_USERNAME_LENGTH,
    IssuedToken,
    LoginPolicy,
    authenticate,
    issue_token,
    record_login_failure,
)
from trialdesk.services.errors import InvalidInput, NotAuthenticated


def sign_in(request: Request, username: str, password: str) -> IssuedToken:
    """Issue a token for ``username``/``password``: the password is checked in a read-only unit of
    work, the token written in a short write one (the argon2 hash never holds the write lock).

    Refusals, in the order checked, none of which writes anything but the audit of a failure:
    429 when the client made too many attempts this minute; 422 for a username longer than 64
    characters; 429 while the username is locked out; 401 for wrong credentials (recorded towards the
    lock-out)."""
    check_login_rate(request)
    if len(username) > MAX_USERNAME_LENGTH:
        raise InvalidInput(f"username has more than {MAX_USERNAME_LENGTH} characters", field="username")
    settings = settings_of(request)
    policy = LoginPolicy(settings.login_lockout_attempts, settings.login_lockout_minutes)
    ttl = settings.token_ttl_minutes
    try:
        user_id = run(request, username, lambda s: authenticate(s, username, password, policy), write=False)
    except NotAuthenticated:
        client = client_address(request)[:64]
        run(request, username, lambda s: record_login_failure(s, username, client, policy))
        raise
    return run(request, username, lambda s: issue_token(s, user_id, ttl))
