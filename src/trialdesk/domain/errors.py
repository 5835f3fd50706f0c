"""The families of errors the domain raises, each named after the rule or value it protects.

A domain rule that refuses an action raises a :class:`RuleViolation` subclass named after the rule
(clinicedc style: ``RandomizationClosed``, ``AlreadyRandomized``, ...); a value that cannot be used
raises an :class:`InvalidValue` naming its field; a record that does not exist raises
:class:`RecordNotFound`. The domain knows nothing of HTTP or exit codes: one table
(:data:`trialdesk.services.errors.ERROR_FAMILIES`) turns each family into the API's status and the
CLI's exit code, with the same message.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the domain's errors: ``message`` is what the user reads; ``rule`` names the rule
    protected, ``field`` the value at fault (either may be ``None``)."""

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


class RuleViolation(DomainError):
    """The action breaks a trial rule in the current state; ``rule`` defaults to the class name."""

    def __init__(self, message: str = "", *, rule: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip(), rule=rule or type(self).__name__)


class InvalidValue(DomainError, ValueError):
    """A value is malformed or cannot be true; ``field`` names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class RecordNotFound(DomainError, LookupError):
    """No such record (or not visible to the user)."""
