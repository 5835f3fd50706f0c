"""Mount the web pages on the FastAPI application: static assets from the package, the page routers,
and HTML answers (sign-in redirect, error pages) for page requests.

A request is a *page request* unless its path is the JSON API's (``/api``), ``/health`` or the API
documentation: those keep their JSON answers.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trialdesk.adapters.db.audit import ReasonRequired
from trialdesk.adapters.db.engine import is_storage_full
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages import (
    admin,
    auth,
    consent,
    crf,
    dispensing,
    disposition,
    home,
    monitor,
    queries,
    reports,
    rt_fields,
    safety,
    screening,
    sdvlock,
    statistics,
    subject,
    subject_forms,
)
from trialdesk.entrypoints.web.render import language_of, render
from trialdesk.entrypoints.web.session import (
    PASSWORD_PATH,
    CsrfRejected,
    LoginRequired,
    PasswordChangeRequired,
)
from trialdesk.services.errors import TRIAL_ERRORS, describe

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIXES = ("/api", "/health", "/docs", "/redoc", "/openapi.json")
PAGE_ROUTERS = (
    auth.router,
    home.router,
    subject.router,
    subject_forms.router,
    consent.router,
    rt_fields.router,
    crf.router,
    disposition.router,
    safety.router,
    reports.router,
    screening.router,
    statistics.router,
    monitor.router,
    admin.router,
    dispensing.router,
    queries.router,
    sdvlock.router,
)


def is_page_request(request: Request) -> bool:
    """Whether ``request`` is for a page (HTML answers) rather than the JSON API."""
    return not request.url.path.startswith(API_PREFIXES)


def error_page(request: Request, status_code: int, message: str) -> Response:
    """The HTML page of a refused or failed page request, in the request's language."""
    tr = Translator(language_of(request))
    titles = {
        401: tr.gettext("Please sign in"),
        403: tr.gettext("Not allowed"),
        404: tr.gettext("Not found"),
        409: tr.gettext("Not possible now"),
        422: tr.gettext("Invalid input"),
    }
    title = titles.get(status_code, tr.gettext("Something went wrong"))
    return render(request, "error.html", {"title": title, "message": message}, status_code=status_code)


def _database_error_page(request: Request, exc: Exception) -> Response:
    """503 page: nothing was saved, because the database is down or its storage is full."""
    tr = Translator(language_of(request))
    if is_storage_full(exc):
        message = tr.gettext(
            "The database storage is full: nothing was saved. Ask the administrator to free disk space, "
            "then submit again."
        )
    else:
        message = tr.gettext(
            "The database cannot be reached right now: nothing was saved. Try again shortly."
        )
    response = error_page(request, 503, message)
    response.headers["Retry-After"] = "5"
    return response


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Pages load scripts, styles, fonts and images from this origin only (report plots are ``data:``
images); no inline script or style is allowed, so an injected one does not run."""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every answer refuses MIME sniffing, framing and referrers, and everything but the static assets
    is ``Cache-Control: no-store``; pages and their assets also carry the content-security policy
    (the API documentation pages, with their inline start-up script, do not)."""
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    if not request.url.path.startswith("/static/"):
        # patient data and reports must not stay in a shared browser's or proxy's cache
        response.headers.setdefault("Cache-Control", "no-store")
    if is_page_request(request):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def mount_web(app: FastAPI) -> None:
    """Add the static files, the page routers and the HTML error handling to ``app``."""
    app.middleware("http")(_security_headers)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)

    @app.exception_handler(PasswordChangeRequired)
    def password_change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": PASSWORD_PATH})
        return RedirectResponse(PASSWORD_PATH, status_code=303)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": f"/login?next={exc.next_path}"})
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(CsrfRejected)
    def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        return error_page(request, 403, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_page_request(request):
            tr = Translator(language_of(request))
            message = tr.gettext("There is no such page.") if exc.status_code == 404 else str(exc.detail)
            return error_page(request, exc.status_code, message)
        return await http_exception_handler(request, exc)

    for family in (*TRIAL_ERRORS, ReasonRequired, OperationalError, InterfaceError):
        _answer_pages_in_html(app, family)


def _answer_pages_in_html(app: FastAPI, family: type[Exception]) -> None:
    """Keep the API's JSON answer for ``family`` and give page requests the HTML error page instead
    (the same status and message: :func:`trialdesk.services.errors.describe`)."""
    json_answer = app.exception_handlers[family]

    async def answer(request: Request, exc: Exception) -> Response:
        if not is_page_request(request):
            result = json_answer(request, exc)
            return await result if inspect.isawaitable(result) else result
        if isinstance(exc, ReasonRequired):  # a change of recorded data without its reason
            return error_page(request, 422, f"reason: {exc}")
        if isinstance(exc, OperationalError | InterfaceError):  # the database is down or its disk full
            return _database_error_page(request, exc)
        assert isinstance(exc, TRIAL_ERRORS)
        described = describe(exc)
        if described.status_code == 401:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return error_page(request, described.status_code, described.cli_message())

    app.add_exception_handler(family, answer)
