"""Authentication: argon2 password hashes and short-lived opaque bearer tokens.

Only the SHA-256 of a token is stored, so a database leak does not leak sessions. Logins,
successful or not, are audited.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.models import AuthToken, User
from trialdesk.services.errors import NotAuthenticated

TEST_HASH_PARAMETERS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=1024, parallelism=1
)
"""argon2id at 1 MiB and one pass: what ``password_hash_cost = "test"`` uses so that the test suite's
thousands of sign-ins do not each cost 64 MiB and three passes (refused in production)."""


def _hasher_for(cost: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(TEST_HASH_PARAMETERS) if cost == "test" else PasswordHasher()


_hasher = _hasher_for(os.environ.get("TRIALDESK_PASSWORD_HASH_COST", "standard"))
"""Read from the environment when the module loads (``Settings.password_hash_cost`` documents it and
refuses ``test`` in production). Verification reads the parameters stored in each hash, so hashes of
either cost verify."""
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time in argon2)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(session: Session, username: str, password: str) -> User:
    """The active user with this username and password, or :class:`NotAuthenticated`."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.active or not password_matches(user.password_hash, password):
        raise NotAuthenticated("wrong username or password")
    return user


def login(session: Session, username: str, password: str, ttl_minutes: int) -> tuple[str, datetime]:
    """Check the credentials, audit the attempt, and issue a token valid for ``ttl_minutes``."""
    try:
        user = check_password(session, username, password)
    except NotAuthenticated as exc:
        exc.audit = ("login_failure", "users", username)
        raise
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=ttl_minutes)
    session.execute(delete(AuthToken).where(AuthToken.user_id == user.id, AuthToken.expires_at < now))
    session.add(AuthToken(token_sha256=_digest(token), user_id=user.id, issued_at=now, expires_at=expires))
    log_event(session, "login_success", "users", str(user.id), username=user.username)
    return token, expires


def user_for_token(session: Session, token: str) -> User:
    """The user a valid, unexpired token belongs to, or :class:`NotAuthenticated`."""
    row = session.get(AuthToken, _digest(token))
    if row is None:
        raise NotAuthenticated("invalid token")
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        raise NotAuthenticated("token expired: log in again")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("user is not active")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def extend_token(session: Session, token: str, ttl_minutes: int) -> datetime:
    """Slide a valid token's expiry to ``ttl_minutes`` from now (a browser session's idle timeout);
    the new expiry. :class:`NotAuthenticated` for an unknown or expired token."""
    user_for_token(session, token)
    row = session.get(AuthToken, _digest(token))
    assert row is not None  # user_for_token found it
    row.expires_at = datetime.now(UTC) + timedelta(minutes=ttl_minutes)
    return row.expires_at


def logout(session: Session, token: str) -> None:
    """Revoke ``token`` (audited); an unknown token is a no-op so that logging out twice is harmless."""
    row = session.get(AuthToken, _digest(token))
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    log_event(session, "logout", "users", str(row.user_id), username=user.username if user else None)
