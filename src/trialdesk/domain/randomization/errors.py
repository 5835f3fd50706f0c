"""Exceptions of randomization, each named after the rule it protects (clinicedc style).

Each is a :class:`~trialdesk.domain.errors.RuleViolation` whose ``rule`` is the class name (the API
answers 409 with ``{"rule": "RandomizationClosed", ...}``).
"""

from __future__ import annotations

from trialdesk.domain.errors import RuleViolation


class RandomizationError(RuleViolation):
    """Base class of every randomization rule violation."""


class RandomizationClosed(RandomizationError):
    """Randomization was requested while the trial phase does not allow it (e.g. run-in under review)."""


class StratumExhausted(RandomizationError):
    """Every slot of the subject's stratum in the allocation list is already used."""


class AlreadyRandomized(RandomizationError):
    """The subject already holds an allocation; a subject is randomized exactly once (ICH E9 2.3)."""


class StratumError(RandomizationError):
    """The subject's site or stratification factor values do not form a valid stratum of the protocol."""


class IneligibleSubject(RandomizationError):
    """The subject has not been confirmed eligible, so cannot be randomized."""
