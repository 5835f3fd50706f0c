"""Small shared value types for the domain layer (no I/O)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Comparison = Literal[">=", ">", "<=", "<"]
"""A comparison operator as protocols write it; boundaries follow the sign exactly."""

Sex = Literal["female", "male"]


class FrozenModel(BaseModel):
    """Base for immutable, strict domain value objects: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def control_character(text: str, allowed: str = "\t\n\r") -> str | None:
    """The first C0 control character of ``text`` (U+0000-U+001F) that is not in ``allowed``, or None.

    XML 1.0, hence the ODM and Define-XML copies, cannot carry them; tab and line breaks are text."""
    return next((c for c in text if c < " " and c not in allowed), None)


def compare(value: float, op: Comparison, threshold: float) -> bool:
    """Return whether ``value op threshold`` holds (exact comparison, no rounding)."""
    if op == ">=":
        return value >= threshold
    if op == ">":
        return value > threshold
    if op == "<=":
        return value <= threshold
    return value < threshold
