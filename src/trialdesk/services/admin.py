"""Use cases of the admin role: sites and users (admins never edit clinical data)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.models import AuditRecord, AuthToken, Site, User, UserSite
from trialdesk.domain.roles import Capability, Role, is_site_limited
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services.actors import Actor
from trialdesk.services.auth import check_new_password, hash_password
from trialdesk.services.errors import Conflict, InvalidInput, NotFound

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def add_site(
    session: Session, actor: Actor | None, registry: ProtocolRegistry, protocol_id: str, code: str, name: str
) -> Site:
    """Register a site (centre) of a trial; ``actor`` None is the bootstrap CLI."""
    if actor is not None:
        actor.require(Capability.MANAGE_USERS_AND_SITES)
    if protocol_id not in registry:
        raise InvalidInput(f"unknown protocol '{protocol_id}'", field="protocol_id")
    protocol = registry.get(protocol_id)
    if not re.fullmatch(r"[A-Za-z0-9-]{1,32}", code):
        raise InvalidInput("site code must be 1-32 letters, digits or '-'", field="code")
    existing = session.scalars(select(Site).where(Site.protocol_id == protocol_id)).all()
    if any(s.code == code for s in existing):
        raise Conflict(f"site '{code}' already exists in {protocol_id}", rule="unique_site_code")
    if protocol.design.centres == "single" and existing:
        raise Conflict(
            f"{protocol_id} is a single-centre trial and already has site '{existing[0].code}'",
            rule="single_centre",
        )
    site = Site(protocol_id=protocol_id, code=code, name=name.strip(), created_at=datetime.now(UTC))
    session.add(site)
    session.flush()
    return site


def add_user(
    session: Session,
    actor: Actor | None,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    site_ids: Iterable[int] = (),
) -> User:
    """Create a user; site roles must belong to at least one site; ``actor`` None is the bootstrap CLI.

    A user created by an administrator must choose their own password at the first sign-in (the
    administrator knew the initial one); granting a privileged role is flagged (see
    :func:`flag_privileged_grant`)."""
    if actor is not None:
        actor.require(Capability.MANAGE_USERS_AND_SITES)
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            "username must be 2-64 lower-case letters, digits, '.', '_' or '-'", field="username"
        )
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput(
            f"unknown role '{role}' (one of {', '.join(r.value for r in Role)})", field="role"
        ) from None
    check_new_password(password, username)
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"user '{username}' already exists", rule="unique_username")
    sites = _sites(session, site_ids)
    if is_site_limited(role_value) and not sites:
        raise InvalidInput(f"a {role_value.value} must belong to at least one site", field="site_ids")
    user = User(
        username=username,
        full_name=full_name.strip() or username,
        role=role_value.value,
        password_hash=hash_password(password),
        active=True,
        created_at=datetime.now(UTC),
        must_change_password=actor is not None,
    )
    session.add(user)
    session.flush()
    for site in sites:
        session.add(UserSite(user_id=user.id, site_id=site.id))
    session.flush()
    flag_privileged_grant(session, user, None)
    return user


PRIVILEGED_ROLES = frozenset({Role.STATISTICIAN, Role.SAFETY_REVIEWER, Role.ADMIN})
"""Roles whose grant is a security alert: the statistician holds the allocation seed and sees the arms,
the safety reviewer unblinded safety data, the admin the accounts."""

SECURITY_ALERT_ACTIONS = ("privileged_role_granted", "account_locked")
"""Security events shown to administrators to review (from the audit trail)."""


def flag_privileged_grant(session: Session, user: User, old_role: str | None) -> None:
    """Log a ``privileged_role_granted`` security event when ``user`` now holds a privileged role they
    did not hold before; administrators see it among the security alerts."""
    if Role(user.role) in PRIVILEGED_ROLES and user.role != old_role:
        log_event(
            session,
            "privileged_role_granted",
            "users",
            str(user.id),
            old_value=old_role,
            new_value=user.role,
            reason=session.info.get("reason") or f"user '{user.username}' created",
        )


def security_alerts(session: Session, actor: Actor, days: int = 30) -> list[AuditRecord]:
    """The security events of the last ``days`` days for administrators to review, newest first:
    privileged roles granted and usernames locked out after repeated failed sign-ins."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    since = datetime.now(UTC) - timedelta(days=days)
    rows = select(AuditRecord).where(AuditRecord.action.in_(SECURITY_ALERT_ACTIONS), AuditRecord.at >= since)
    return list(session.scalars(rows.order_by(AuditRecord.seq.desc()).limit(200)))


def change_role(
    session: Session, actor: Actor, user_id: int, role: str, site_ids: Iterable[int] | None
) -> User:
    """Change a user's role (and optionally sites); audited as a security event too."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role '{role}'", field="role") from None
    if user.id == actor.user_id:
        raise Conflict("nobody may change their own role: ask another administrator", rule="own_role")
    old_role = user.role
    user.role = new_role.value
    if site_ids is not None:
        sites = _sites(session, site_ids)
        for membership in session.scalars(select(UserSite).where(UserSite.user_id == user.id)):
            session.delete(membership)
        session.flush()
        for site in sites:
            session.add(UserSite(user_id=user.id, site_id=site.id))
    if (
        is_site_limited(new_role)
        and not session.scalars(select(UserSite).where(UserSite.user_id == user.id)).first()
    ):
        raise InvalidInput(f"a {new_role.value} must belong to at least one site", field="site_ids")
    session.flush()
    log_event(
        session,
        "role_change",
        "users",
        str(user.id),
        old_value=old_role,
        new_value=new_role.value,
        reason=session.info.get("reason"),
    )
    flag_privileged_grant(session, user, old_role)
    return user


def _sites(session: Session, site_ids: Iterable[int]) -> list[Site]:
    ids = sorted(set(site_ids))
    sites = list(session.scalars(select(Site).where(Site.id.in_(ids)))) if ids else []
    missing = sorted(set(ids) - {s.id for s in sites})
    if missing:
        raise InvalidInput(f"unknown site id(s): {', '.join(map(str, missing))}", field="site_ids")
    return sites


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def deactivate_user(session: Session, actor: Actor, user_id: int) -> User:
    """Deactivate a user: they can no longer sign in and their sessions end at once (the row stays,
    for the audit trail and signatures). An admin cannot deactivate themself. The change is audited
    (with the reason of the unit of work) and logged as a security event."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    user = _user(session, user_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot deactivate your own account", rule="self_deactivation")
    if not user.active:
        raise Conflict(f"user '{user.username}' is already inactive", rule="already_inactive")
    user.active = False
    session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    session.flush()
    log_event(session, "user_deactivated", "users", str(user.id), reason=session.info.get("reason"))
    return user


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> User:
    """Set a new password for a user (the admin hands it over; the hash is never in the audit trail),
    end the user's sessions and make them choose their own password at the next sign-in; logged as a
    security event."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    user = _user(session, user_id)
    check_new_password(password, user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    session.flush()
    log_event(session, "password_reset", "users", str(user.id), reason=session.info.get("reason"))
    return user


def users_and_sites(session: Session, actor: Actor) -> tuple[list[User], list[Site], dict[int, list[int]]]:
    """Every user and site (admin only), with each user's site ids."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    users = list(session.scalars(select(User).order_by(User.username)))
    sites = list(session.scalars(select(Site).order_by(Site.protocol_id, Site.code)))
    memberships: dict[int, list[int]] = {}
    for row in session.scalars(select(UserSite)):
        memberships.setdefault(row.user_id, []).append(row.site_id)
    return users, sites, memberships
