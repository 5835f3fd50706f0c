"""Sign-in, sign-out, one's own password change, the language switch and the idle-timeout keep-alive."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from trialdesk.entrypoints.api.deps import run, settings_of
from trialdesk.entrypoints.api.sign_in import sign_in
from trialdesk.entrypoints.demo_accounts import DEMO_ACCOUNTS
from trialdesk.entrypoints.web.i18n import LANG_COOKIE, LANGUAGES, Translator
from trialdesk.entrypoints.web.render import FORM_ERROR, FormErrors, language_of, render
from trialdesk.entrypoints.web.session import (
    PASSWORD_PATH,
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    PageActor,
    clear_session_cookie,
    csrf_protect,
    csrf_token_for,
    set_session_cookie,
)
from trialdesk.services import auth
from trialdesk.services.errors import InvalidInput, NotAuthenticated, TooManyAttempts

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirect to another host)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login_page(
    request: Request, next_path: str, username: str = "", error: str = "", status_code: int = 401
) -> Response:
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
        status_code=status_code if error else 200,
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
    """Check the credentials (audited, rate-limited and locked out like the API's), start a browser
    session, go to ``next`` (or to the password change an administrator's reset requires)."""
    tr = Translator(language_of(request))
    try:
        issued = sign_in(request, username, password)
    except (NotAuthenticated, InvalidInput):
        return _login_page(request, local_path(next), username, tr.gettext("Wrong username or password."))
    except TooManyAttempts as exc:
        message = tr.gettext("Too many sign-in attempts: wait %(minutes)s minute(s) and try again.") % {
            "minutes": -(-exc.retry_after_seconds // 60)
        }
        response = _login_page(request, local_path(next), username, message, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    target = PASSWORD_PATH if issued.password_change_required else local_path(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, issued.token)
    response.delete_cookie(PRELOGIN_COOKIE, path="/")
    return response


def _password_page(
    request: Request, errors: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "account_password.html",
        {
            "errors": errors or {},
            "forced": getattr(request.state, "password_change_required", False),
            "changed": False,
        },
        status_code=status_code,
    )


@router.get(PASSWORD_PATH)
def password_page(request: Request, actor: PageActor) -> Response:
    """The form to change one's own password."""
    return _password_page(request)


@router.post(PASSWORD_PATH)
def change_password(
    request: Request,
    actor: PageActor,
    old_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
    confirm_password: Annotated[str, Form(max_length=256)],
) -> Response:
    """Change one's own password (the API's service and policy); the other sessions end."""
    tr = Translator(language_of(request))
    if new_password != confirm_password:
        mismatch = {"confirm_password": tr.gettext("The two new passwords differ.")}
        return _password_page(request, mismatch, status_code=422)
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        run(
            request,
            actor.username,
            lambda s: auth.change_password(
                s, auth.user_for_token(s, token), old_password, new_password, token
            ),
            reason="password changed by its owner",
        )
    except InvalidInput as exc:
        errors = FormErrors.from_error(exc, fields={"old_password", "new_password"})
        return _password_page(request, errors.by_field, status_code=422)
    request.state.password_change_required = False
    return render(request, "account_password.html", {"errors": {}, "changed": True, "forced": False})


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
