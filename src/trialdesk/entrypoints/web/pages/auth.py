"""Sign-in, sign-out, the language switch and the idle-timeout keep-alive."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from trialdesk.entrypoints.api.deps import run, settings_of
from trialdesk.entrypoints.demo_accounts import DEMO_ACCOUNTS
from trialdesk.entrypoints.web.i18n import LANG_COOKIE, LANGUAGES, Translator
from trialdesk.entrypoints.web.render import FORM_ERROR, language_of, render
from trialdesk.entrypoints.web.session import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    PageActor,
    clear_session_cookie,
    csrf_protect,
    csrf_token_for,
    set_session_cookie,
)
from trialdesk.services import auth
from trialdesk.services.errors import NotAuthenticated

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirect to another host)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login_page(request: Request, next_path: str, username: str = "", error: str = "") -> Response:
    prelogin = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(24)
    request.state.csrf_token = csrf_token_for(prelogin)
    response = render(
        request,
        "login.html",
        {
            "next": next_path,
            "values": {"username": username},
            "errors": {FORM_ERROR: error} if error else {},
            "demo_accounts": DEMO_ACCOUNTS if settings_of(request).demo else [],
        },
        status_code=401 if error else 200,
    )
    response.set_cookie(PRELOGIN_COOKIE, prelogin, httponly=True, samesite="strict", path="/")
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return _login_page(request, local_path(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials (audited like the API's), start a browser session, go to ``next``."""
    ttl = settings_of(request).token_ttl_minutes
    try:
        token, _ = run(request, username, lambda s: auth.login(s, username, password, ttl))
    except NotAuthenticated:
        message = Translator(language_of(request)).gettext("Wrong username or password.")
        return _login_page(request, local_path(next), username, message)
    response = RedirectResponse(local_path(next), status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(PRELOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the browser session (the token is revoked, audited) and go to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        run(request, "anonymous", lambda s: auth.logout(s, token))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/session/keepalive")
def keepalive(actor: PageActor) -> Response:
    """Slide the idle timeout forward (the 'stay signed in' button of the idle warning)."""
    return Response(status_code=204)


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> Response:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(local_path(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, samesite="strict", path="/", max_age=365 * 24 * 3600)
    return response
