"""Errors raised by use cases, and the one table that turns every error family into an answer.

Each error names the rule it protects (``rule``) or the field at fault (``field``). The domain raises
its own families (:mod:`trialdesk.domain.errors`: rule violations such as ``RandomizationClosed``,
invalid values, missing records); the services raise the families below. :data:`ERROR_FAMILIES` maps
each family to the API's HTTP status and the CLI's exit code, and :func:`describe` gives both
interfaces the same message, rule and field (the API's exception handler and the CLI use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialdesk.domain.errors import DomainError, InvalidValue, RecordNotFound, RuleViolation


class ServiceError(Exception):
    """Base of use-case errors."""

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


class PermissionDenied(ServiceError):
    """The user's role does not allow this action."""


class NotFound(ServiceError):
    """No such record, or not visible to this user (no existence leak across sites)."""


class Conflict(ServiceError):
    """The action breaks a trial rule in the current state (named by ``rule``)."""


class InvalidInput(ServiceError):
    """The input is malformed or implausible (named by ``field``)."""


class TooManyAttempts(ServiceError):
    """Too many attempts (sign-ins of one username, or requests of one client) in a short time: try
    again after ``retry_after_seconds`` (HTTP 429 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_seconds: int, *, rule: str) -> None:
        super().__init__(message, rule=rule)
        self.retry_after_seconds = retry_after_seconds


TrialError = ServiceError | DomainError
"""Any error a use case raises on purpose (what an interface turns into an answer)."""

TRIAL_ERRORS: tuple[type[ServiceError], type[DomainError]] = (ServiceError, DomainError)
"""The two roots, for ``except TRIAL_ERRORS``."""

CLI_REFUSED = 2
"""The CLI's exit code for a refused command (as for a usage error)."""

ERROR_FAMILIES: tuple[tuple[type[Exception], int, int], ...] = (
    (NotAuthenticated, 401, CLI_REFUSED),
    (PermissionDenied, 403, CLI_REFUSED),
    (NotFound, 404, CLI_REFUSED),
    (RecordNotFound, 404, CLI_REFUSED),
    (Conflict, 409, CLI_REFUSED),
    (RuleViolation, 409, CLI_REFUSED),
    (InvalidInput, 422, CLI_REFUSED),
    (TooManyAttempts, 429, CLI_REFUSED),
    (InvalidValue, 422, CLI_REFUSED),
    (ServiceError, 400, CLI_REFUSED),
    (DomainError, 400, CLI_REFUSED),
)
"""Error family -> (HTTP status, CLI exit code); the first family the error belongs to wins."""


@dataclass(frozen=True)
class ErrorAnswer:
    """How every interface answers one error: HTTP status, CLI exit code and the message."""

    status_code: int
    exit_code: int
    message: str
    rule: str | None
    field: str | None

    def body(self) -> dict[str, Any]:
        """The API's JSON body ``{"detail", "rule", "field"}``."""
        return {"detail": self.message, "rule": self.rule, "field": self.field}

    def cli_message(self) -> str:
        """The CLI's one-line message (the field first, when one is at fault)."""
        return f"{self.field + ': ' if self.field else ''}{self.message}"


def describe(exc: TrialError) -> ErrorAnswer:
    """The answer to ``exc`` from :data:`ERROR_FAMILIES`."""
    status, exit_code = next((s, c) for family, s, c in ERROR_FAMILIES if isinstance(exc, family))
    return ErrorAnswer(status, exit_code, exc.message, exc.rule, exc.field)
