"""Errors raised by use cases; the API maps each to an HTTP status, the CLI to a clean message.

Each error names the rule it protects (``rule``) or the field at fault (``field``).
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of use-case errors."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        rule: str | None = None,
        field: str | None = None,
        audit: tuple[str, str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field
        self.audit = audit
        """(action, table, record id) of a security event to audit even though the change rolls back."""


class NotAuthenticated(ServiceError):
    """Missing, wrong or expired credentials."""

    status_code = 401


class PermissionDenied(ServiceError):
    """The user's role does not allow this action."""

    status_code = 403


class NotFound(ServiceError):
    """No such record, or not visible to this user (no existence leak across sites)."""

    status_code = 404


class Conflict(ServiceError):
    """The action breaks a trial rule in the current state (named by ``rule``)."""

    status_code = 409


class InvalidInput(ServiceError):
    """The input is malformed or implausible (named by ``field``)."""

    status_code = 422
