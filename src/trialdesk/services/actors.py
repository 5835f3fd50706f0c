"""The acting user of a use case, and the role/site checks every use case applies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import Subject, User, UserSite
from trialdesk.domain.roles import Capability, Role, can, is_site_limited
from trialdesk.services.errors import NotFound, PermissionDenied

SYSTEM_ACTOR = "system"
"""Who the audit trail names for a change the system makes itself (e.g. a stopping rule terminating
the trial)."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: id, username, full name, role and the site ids they belong to."""

    user_id: int
    username: str
    full_name: str
    role: Role
    site_ids: frozenset[int]

    def require(self, capability: Capability) -> None:
        """Raise :class:`PermissionDenied` unless the role holds ``capability``."""
        if not can(self.role, capability):
            raise PermissionDenied(
                f"role '{self.role}' may not {capability.value.replace('_', ' ')}", rule=capability.value
            )

    def sees_site(self, site_id: int) -> bool:
        """Whether this user may see subjects of ``site_id``."""
        return not is_site_limited(self.role) or site_id in self.site_ids


def actor_for(session: Session, user: User) -> Actor:
    """Build the :class:`Actor` of ``user`` with their site memberships."""
    sites = frozenset(session.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id)))
    return Actor(user.id, user.username, user.full_name, Role(user.role), sites)


def visible_subject(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    protocol_id: str | None = None,
    for_update: bool = False,
) -> Subject:
    """The subject, if it exists AND the actor may see it; otherwise 404 (never 403: no leak)."""
    actor.require(Capability.READ_SUBJECTS)
    subject = subject_repository.get(session, subject_id, for_update=for_update)
    if subject is None or not actor.sees_site(subject.site_id):
        raise NotFound(f"subject {subject_id} not found")
    if protocol_id is not None and subject.protocol_id != protocol_id:
        raise NotFound(f"subject {subject_id} not found")
    return subject
