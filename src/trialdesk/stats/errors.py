"""Input validation for the design calculators.

Every calculator in :mod:`trialdesk.stats` raises :class:`DesignInputError` for input it cannot use
(an alpha outside (0, 1), a hazard ratio of 1, a negative duration, ...). The exception names the
offending parameter and the reason, so that an interface (CLI, API) can report it without knowing
the calculator.
"""

from __future__ import annotations

import math


class DesignInputError(ValueError):
    """A design-calculator input is out of range.

    Attributes
    ----------
    parameter:
        Name of the offending parameter as the calculator spells it (e.g. ``"hazard_ratio"``).
    reason:
        Why the value cannot be used, in plain words (e.g. ``"must be in (0, 1), got 1.2"``).
    """

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise DesignInputError(name, f"must be a finite number, got {value}")
    return float(value)


def check_open_unit(name: str, value: float) -> float:
    """``value`` as a float if it lies strictly inside (0, 1) (alpha, power, ...)."""
    value = _finite(name, value)
    if not 0.0 < value < 1.0:
        raise DesignInputError(name, f"must be strictly between 0 and 1, got {value:g}")
    return value


def check_closed_unit(name: str, value: float) -> float:
    """``value`` as a float if it lies in [0, 1] (event rates)."""
    value = _finite(name, value)
    if not 0.0 <= value <= 1.0:
        raise DesignInputError(name, f"must be between 0 and 1 inclusive, got {value:g}")
    return value


def check_dropout(name: str, value: float) -> float:
    """A dropout proportion in [0, 1)."""
    value = _finite(name, value)
    if not 0.0 <= value < 1.0:
        raise DesignInputError(name, f"must be in [0, 1), got {value:g}")
    return value


def check_positive(name: str, value: float) -> float:
    """``value`` as a float if it is > 0 (medians, durations that cannot be zero, ...)."""
    value = _finite(name, value)
    if value <= 0.0:
        raise DesignInputError(name, f"must be positive, got {value:g}")
    return value


def check_nonnegative(name: str, value: float) -> float:
    """``value`` as a float if it is >= 0 (follow-up durations)."""
    value = _finite(name, value)
    if value < 0.0:
        raise DesignInputError(name, f"must not be negative, got {value:g}")
    return value


def check_count(name: str, value: int, minimum: int = 0) -> int:
    """An integer count >= ``minimum``."""
    if isinstance(value, bool) or int(value) != value:
        raise DesignInputError(name, f"must be a whole number, got {value}")
    if value < minimum:
        raise DesignInputError(name, f"must be at least {minimum}, got {value}")
    return int(value)
