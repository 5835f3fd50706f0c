"""Authentication: argon2 password hashes, short-lived opaque bearer tokens, lock-out and password
changes (21 CFR Part 11 sections 11.10(d) and 11.300).

Only the SHA-256 of a token is stored, so a database leak does not leak sessions. Logins,
successful or not, are audited. A sign-in costs one argon2 verification whether or not the user
exists (a dummy hash stands in), so its time does not reveal which usernames exist; after
``lockout_attempts`` failures of one username within ``lockout_minutes`` that username is refused
(without checking the password) until the window has passed, whether it exists or not.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.models import AuthToken, LoginFailure, User
from trialdesk.domain.errors import InvalidValue
from trialdesk.domain.passwords import check_password_policy
from trialdesk.services.errors import InvalidInput, NotAuthenticated, TooManyAttempts

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
_DUMMY_HASH = _hasher.hash("a password nobody has: the stand-in for an unknown user")
"""Verified against when the username is unknown, so that the answer takes as long as for a real user."""
MAX_USERNAME_LENGTH = 64


@dataclass(frozen=True)
class LoginPolicy:
    """Lock-out after ``attempts`` failed sign-ins of one username within ``minutes`` (for ``minutes``)."""

    attempts: int = 5
    minutes: int = 15


@dataclass(frozen=True)
class IssuedToken:
    """A new bearer token, when it expires, and whether the user must change the password first."""

    token: str
    expires_at: datetime
    password_change_required: bool


def check_new_password(password: str, username: str, field: str = "password") -> None:
    """Refuse (422 naming ``field``) a new password that breaks the policy of
    :mod:`trialdesk.domain.passwords`."""
    try:
        check_password_policy(password, username)
    except InvalidValue as exc:
        raise InvalidInput(str(exc).replace("password", field, 1), field=field) from None


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
    """The active user with this username and password, or :class:`NotAuthenticated`; one argon2
    verification either way (constant time whether or not the username exists)."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    matches = password_matches(user.password_hash if user is not None else _DUMMY_HASH, password)
    if user is None or not user.active or not matches:
        raise NotAuthenticated("wrong username or password")
    return user


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _lock_remaining(session: Session, username: str, policy: LoginPolicy, now: datetime) -> int:
    """Seconds the username stays locked (0 when it is not locked)."""
    since = now - timedelta(minutes=policy.minutes)
    failures = session.execute(
        select(func.count(), func.max(LoginFailure.failed_at)).where(
            LoginFailure.username == username, LoginFailure.failed_at > since
        )
    ).one()
    count, latest = failures
    if count < policy.attempts or latest is None:
        return 0
    unlock = _as_utc(latest) + timedelta(minutes=policy.minutes)
    return max(1, int((unlock - now).total_seconds()))


def record_login_failure(session: Session, username: str, client: str | None, policy: LoginPolicy) -> None:
    """Remember a failed sign-in of ``username`` (known or not), forgetting those older than the window;
    the failure that locks the username is logged as an ``account_locked`` security event. Runs in its
    own unit of work, since the refused login's own one rolls back."""
    now = datetime.now(UTC)
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username,
            LoginFailure.failed_at <= now - timedelta(minutes=policy.minutes),
        )
    )
    session.add(LoginFailure(username=username[:MAX_USERNAME_LENGTH], failed_at=now, client=client))
    session.flush()
    if _lock_remaining(session, username, policy, now + timedelta(microseconds=1)):
        log_event(
            session,
            "account_locked",
            "users",
            username,
            username=username,
            reason=f"{policy.attempts} failed sign-ins within {policy.minutes} minutes (last from {client})",
        )


def authenticate(session: Session, username: str, password: str, policy: LoginPolicy | None = None) -> int:
    """The id of the user these credentials sign in, checked in a READ-only unit of work: the argon2
    verification (0.1-1 s by design) never holds the database's write lock, so sign-ins do not stall
    writers.

    :class:`TooManyAttempts` while the username is locked out (the password is still hashed, so the
    answer's time says nothing); :class:`NotAuthenticated` for wrong credentials (the caller records
    the failure with :func:`record_login_failure`)."""
    policy = policy or LoginPolicy()
    if len(username) > MAX_USERNAME_LENGTH:
        raise InvalidInput(f"username has more than {MAX_USERNAME_LENGTH} characters", field="username")
    locked_for = _lock_remaining(session, username, policy, datetime.now(UTC))
    if locked_for:
        password_matches(_DUMMY_HASH, password)
        raise TooManyAttempts(
            f"too many failed sign-ins for this username: try again in {-(-locked_for // 60)} minute(s)",
            locked_for,
            rule="account_locked",
        )
    try:
        return check_password(session, username, password).id
    except NotAuthenticated as exc:
        exc.audit = ("login_failure", "users", username)
        raise


def issue_token(session: Session, user_id: int, ttl_minutes: int) -> IssuedToken:
    """Issue a token valid for ``ttl_minutes`` to an authenticated user (a short write: the user is
    re-read, so one deactivated since :func:`authenticate` gets no token), forget the username's
    failed sign-ins and audit the success."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotAuthenticated("wrong username or password")
    now = datetime.now(UTC)
    session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=ttl_minutes)
    session.execute(delete(AuthToken).where(AuthToken.user_id == user.id, AuthToken.expires_at < now))
    session.add(AuthToken(token_sha256=_digest(token), user_id=user.id, issued_at=now, expires_at=expires))
    log_event(session, "login_success", "users", str(user.id), username=user.username)
    return IssuedToken(token, expires, bool(user.must_change_password))


def login(
    session: Session, username: str, password: str, ttl_minutes: int, policy: LoginPolicy | None = None
) -> IssuedToken:
    """:func:`authenticate` then :func:`issue_token` in one unit of work (the CLI's sign-in; the API
    and pages run the two steps in two units of work, see ``entrypoints/api/sign_in.py``)."""
    return issue_token(session, authenticate(session, username, password, policy), ttl_minutes)


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


def change_password(
    session: Session, user: User, old_password: str, new_password: str, token: str | None
) -> None:
    """The user's own password change: the old password must match, the new one must meet the policy
    and differ from the old; every other session of the user ends (the one in ``token`` stays);
    clears a forced change; logged as a security event (the hash is never in the audit trail)."""
    if not password_matches(user.password_hash, old_password):
        raise InvalidInput("the current password is wrong", field="old_password")
    check_new_password(new_password, user.username, field="new_password")
    if new_password == old_password:
        raise InvalidInput("the new password must differ from the current one", field="new_password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = datetime.now(UTC)
    keep = _digest(token) if token else ""
    session.execute(delete(AuthToken).where(AuthToken.user_id == user.id, AuthToken.token_sha256 != keep))
    session.flush()
    log_event(session, "password_change", "users", str(user.id), username=user.username)
