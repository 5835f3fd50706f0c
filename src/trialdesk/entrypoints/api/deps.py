"""Request plumbing shared by the routers: the engine, the current user, and units of work.

A router never holds business rules: it parses, calls a service inside :func:`run`, and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.config import Settings
from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services.actors import Actor, actor_for
from trialdesk.services.auth import user_for_token
from trialdesk.services.errors import NotFound, PermissionDenied, ServiceError

T = TypeVar("T")

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token")


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def registry_of(request: Request) -> ProtocolRegistry:
    registry: ProtocolRegistry = request.app.state.registry
    return registry


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PASSWORD_CHANGE_PATHS = frozenset({"/api/auth/me", "/api/auth/password"})
"""What a user whose password an administrator reset may still call: everything else is 403 until
they have chosen their own password."""


def current_actor(request: Request, token: Annotated[str, Depends(oauth2)]) -> Actor:
    """The authenticated user of this request (401 for a missing, wrong or expired token; 403 for
    anything but the password change while a forced change is pending)."""
    with unit_of_work(engine_of(request), None, write=False) as session:
        user = user_for_token(session, token)
        if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
            raise PermissionDenied(
                "an administrator reset your password: choose your own first (POST /api/auth/password)",
                rule="password_change_required",
            )
        return actor_for(session, user)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def protocol_of(request: Request, protocol_id: str) -> Protocol:
    """The loaded protocol of the path's ``protocol_id`` (404 naming the known ones)."""
    try:
        return registry_of(request).get(protocol_id)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from None


ProtocolDep = Annotated[Protocol, Depends(protocol_of)]
"""A route parameter resolving the path's ``protocol_id`` to the loaded protocol (404 naming the known
ids). Declare it after :data:`CurrentActor` so an unauthenticated request stays a 401."""


def run(
    request: Request,
    actor: str | None,
    work: Callable[[Session], T],
    *,
    reason: str | None = None,
    write: bool = True,
) -> T:
    """Run ``work(session)`` in one unit of work; audit a refused security event after rollback."""
    engine = engine_of(request)
    try:
        with unit_of_work(engine, actor, reason=reason, write=write) as session:
            return work(session)
    except ServiceError as exc:
        if exc.audit is not None:
            action, table, record_id = exc.audit
            with unit_of_work(engine, actor or record_id) as session:
                log_event(session, action, table, record_id, reason=exc.message)
        raise
