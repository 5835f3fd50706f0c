"""The FastAPI application factory.

``create_app`` loads the protocol registry (refusing to start when a protocol file does not
validate), brings the database schema up to date, registers each loaded trial's running state, and
mounts the routers. Service and domain errors become JSON ``{"detail", "rule", "field"}`` with the
status of :func:`trialdesk.services.errors.describe`.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from trialdesk import __version__
from trialdesk.adapters.db.anchor import AuditAnchor
from trialdesk.adapters.db.audit import ReasonRequired
from trialdesk.adapters.db.engine import is_storage_full, make_engine, unit_of_work
from trialdesk.adapters.db.migrate import upgrade
from trialdesk.config import Settings, get_settings
from trialdesk.domain.errors import DomainError
from trialdesk.entrypoints.api import (
    admin,
    audit,
    auth,
    checks,
    consent,
    dispensing,
    disposition,
    forms,
    locks,
    odm,
    protocols,
    queries,
    safety,
    sdv,
    signoff,
    subjects,
    treatment,
    trials,
    tumour,
)
from trialdesk.entrypoints.api.docs import mount_docs
from trialdesk.entrypoints.api.error_docs import ERROR_RESPONSES
from trialdesk.entrypoints.api.request_guard import RequestGuard
from trialdesk.entrypoints.web.app import mount_web
from trialdesk.protocols import load_registry
from trialdesk.services.errors import ServiceError, TooManyAttempts, describe
from trialdesk.services.trials import SYSTEM_ACTOR, ensure_trials

logger = logging.getLogger(__name__)
DATABASE_RETRY_SECONDS = 5
"""Retry-After of the 503 answered while the database cannot be reached."""


STORAGE_FULL_DETAIL = (
    "the database storage is full (no space left on the disk): the request was not completed and nothing "
    "was saved; an administrator must free space, then try again"
)
DATABASE_UNAVAILABLE_DETAIL = (
    "the database is unavailable (down or restarting): the request was not completed; try again shortly"
)


def database_error_body(exc: BaseException) -> dict[str, str | None]:
    """The JSON body of a 503: rule ``storage_full`` when the disk is full (it will not pass by itself),
    ``database_unavailable`` otherwise (the server is down or restarting)."""
    if is_storage_full(exc):
        return {"detail": STORAGE_FULL_DETAIL, "rule": "storage_full", "field": None}
    return {"detail": DATABASE_UNAVAILABLE_DETAIL, "rule": "database_unavailable", "field": None}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; state holds the settings, protocol registry and database engine."""
    settings = settings or get_settings()
    app = build_app_without_database(settings)
    anchor = AuditAnchor(settings.effective_audit_key_file, settings.effective_audit_checkpoint_file)
    app.state.engine = make_engine(
        settings.effective_database_url, anchor=anchor, pool_size=settings.database_pool_size
    )
    upgrade(app.state.engine)
    with app.state.engine.connect() as connection:
        anchor.set_up(connection)
    with unit_of_work(app.state.engine, SYSTEM_ACTOR, reason="start-up") as session:
        ensure_trials(session, app.state.registry)
    return app


def create_server_app() -> FastAPI:
    """:func:`create_app` for a long-running server process (the factory ``trialdesk serve`` gives uvicorn).

    After start-up the process holds some 300,000 long-lived objects (protocol models, routes, the ORM's
    mappers); a full garbage collection walks them all, about 130 ms with every request of the process
    waiting (measured: the p99 latency of the API under load). ``gc.freeze()`` moves them out of the
    collector's generations once they exist, so later collections walk only what requests create (the
    CPython documentation's recommendation for a server that forks workers). Not done in
    :func:`create_app`, which tests call hundreds of times in one process: frozen objects are never freed.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def build_app_without_database(settings: Settings | None = None) -> FastAPI:
    """The routes and error handling only (for ``trialdesk openapi``); no database is touched."""
    settings = settings or get_settings()
    app = FastAPI(
        title="trialdesk",
        version=__version__,
        description="Run oncology clinical trials from protocol to final analysis.",
        docs_url=None,  # /docs and /redoc are served with packaged assets (mount_docs), not a CDN
        redoc_url=None,
    )
    mount_docs(app, settings.docs_assets_url)
    app.add_middleware(RequestGuard, max_bytes=settings.max_request_bytes)
    app.state.settings = settings
    app.state.registry = load_registry(settings.protocol_dirs)

    def trial_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError | DomainError)
        answer = describe(exc)
        headers = {"WWW-Authenticate": "Bearer"} if answer.status_code == 401 else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
        return JSONResponse(status_code=answer.status_code, content=answer.body(), headers=headers)

    app.add_exception_handler(ServiceError, trial_error)
    app.add_exception_handler(DomainError, trial_error)

    @app.exception_handler(RequestValidationError)
    def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(part) for part in first["loc"] if part not in ("body", "query", "path"))
        content = {
            "detail": f"{field}: {first['msg']}" if field else str(first["msg"]),
            "rule": "invalid_input",
            "field": field or None,
            "errors": jsonable_encoder(errors),
        }
        return JSONResponse(status_code=422, content=content)

    @app.exception_handler(ReasonRequired)
    def reason_required(_request: Request, exc: ReasonRequired) -> JSONResponse:
        content = {"detail": str(exc), "rule": "reason_required", "field": "reason"}
        return JSONResponse(status_code=422, content=content)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        """503 while the database is down, restarting or out of space (the request was not completed)."""
        # the driver's message only: the statement's parameters would put patient data in the log
        logger.error("database unavailable: %s", getattr(exc, "orig", None) or type(exc).__name__)
        headers = {"Retry-After": str(DATABASE_RETRY_SECONDS)}
        return JSONResponse(status_code=503, content=database_error_body(exc), headers=headers)

    @app.get("/health", tags=["system"], response_model=dict[str, Any])
    def health() -> dict[str, object]:
        """Liveness and what is loaded."""
        return {"status": "ok", "version": __version__, "protocols": [p.id for p in app.state.registry]}

    routers = (
        protocols,
        auth,
        admin,
        trials,
        subjects,
        safety,
        tumour,
        treatment,
        consent,
        dispensing,
        forms,
        disposition,
        checks,
        queries,
        locks,
        signoff,
        sdv,
        audit,
        odm,
    )
    for module in routers:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    mount_web(app)
    return app
