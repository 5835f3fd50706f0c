"""Browser sessions of the web pages: cookie, idle timeout, CSRF and the signed-in user.

A browser session is an ordinary trialdesk token (:mod:`trialdesk.services.auth`: only its SHA-256 is
stored, it is revoked on logout) carried in an ``HttpOnly`` ``SameSite=Strict`` cookie instead of an
``Authorization`` header; the cookie is ``Secure`` outside the ``development`` environment. Every
page request slides the expiry to the idle timeout (``Settings.token_ttl_minutes``), so a session
ends after that many minutes without a request; the page warns two minutes before.

CSRF: every form carries ``csrf_token`` (htmx requests send it as ``X-CSRF-Token``), the SHA-256 of
the session token under a fixed label. An attacker's page can neither read the HttpOnly cookie nor
compute the value, and the check is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.entrypoints.api.deps import engine_of, settings_of
from trialdesk.services.actors import Actor, actor_for
from trialdesk.services.auth import extend_token, user_for_token
from trialdesk.services.errors import NotAuthenticated

SESSION_COOKIE = "trialdesk_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid browser session: the page handler redirects to the login page, back to ``next_path``."""

    def __init__(self, next_path: str, reason: str = "") -> None:
        super().__init__(reason or "sign in to continue")
        self.next_path = next_path
        self.reason = reason


class PasswordChangeRequired(Exception):
    """An administrator reset the user's password: every page redirects to the password change."""


PASSWORD_PATH = "/account/password"


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token (403)."""


def csrf_token_for(session_token: str) -> str:
    """The CSRF token bound to one browser session."""
    return hashlib.sha256(f"trialdesk-csrf:{session_token}".encode()).hexdigest()


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Attach the session cookie (HttpOnly, SameSite=Strict, Secure outside development)."""
    settings = settings_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.environment != "development",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return quote(path, safe="/?=&-_.")


def page_actor(request: Request) -> Actor:
    """The signed-in user of a page request, with the session's idle timeout slid forward; otherwise
    :class:`LoginRequired` (the handler redirects to ``/login?next=...``)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired(_next_path(request))
    ttl = settings_of(request).token_ttl_minutes
    try:
        with unit_of_work(engine_of(request), None) as session:
            user = user_for_token(session, token)
            extend_token(session, token, ttl)
            actor = actor_for(session, user)
            forced_change = bool(user.must_change_password)
    except NotAuthenticated as exc:
        raise LoginRequired(_next_path(request), exc.message) from None
    request.state.password_change_required = forced_change
    if forced_change and request.url.path != PASSWORD_PATH:
        raise PasswordChangeRequired()
    request.state.actor = actor
    request.state.csrf_token = csrf_token_for(token)
    request.state.idle_seconds = ttl * 60
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]
"""A page route parameter: the signed-in user (redirect to the login page when there is none)."""


async def csrf_protect(request: Request) -> None:
    """Router dependency: refuse a state-changing request whose CSRF token does not match the session
    (the login form, which has no session yet, is checked against the pre-login cookie instead)."""
    if request.method in SAFE_METHODS:
        return
    cookie = PRELOGIN_COOKIE if request.url.path == LOGIN_PATH else SESSION_COOKIE
    token = request.cookies.get(cookie)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette caches it: the route reads the same form
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not token or not sent or not hmac.compare_digest(sent, csrf_token_for(token)):
        raise CsrfRejected("the form has expired or did not come from this site: reload the page and retry")


PRELOGIN_COOKIE = "trialdesk_prelogin"
"""A random value set on the login page so that the login form, too, carries a CSRF token."""
