"""A protocol value with where it came from (:class:`Parameter`), shared by every part of the model."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Provenance = Literal["seed", "registry", "default"]


class Parameter(BaseModel, Generic[T]):
    """A protocol value with where it came from.

    ``provenance``: ``seed`` (stated in the seed document), ``registry`` (public registry entry) or
    ``default`` (left open by the protocol; a documented default that the trial team must confirm).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    unit: str | None = None
    provenance: Provenance
    rationale: str = Field(min_length=3, description="Seed passage, or why this default was chosen")
