"""The error bodies of the API as the OpenAPI document shows them.

Every refused request answers ``{"detail", "rule", "field"}`` (a service error: the message, the rule it
protects, the field at fault); a request that does not parse answers 422 with the same three keys plus
``errors`` (pydantic's list; absent from a refusal the services or the request guard make after
parsing, e.g. a NUL character, a missing reason, an implausible date). :data:`ERROR_RESPONSES`
documents them on every router (``app.include_router(..., responses=ERROR_RESPONSES)``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """A refused request."""

    detail: str = Field(description="What was refused and why, in plain words")
    rule: str | None = Field(description="The rule the refusal protects (e.g. enrolment_limit)")
    field: str | None = Field(description="The input field at fault (e.g. patient.birth_date)")


class ValidationErrorOut(ErrorOut):
    """Invalid input: a request that does not parse (``rule`` is ``invalid_input``, with ``errors``), or
    one the services refuse (``rule`` names the check, e.g. ``invalid_text``, ``reason_required``)."""

    errors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every validation error (loc, msg, type) of a request that does not parse; "
        "absent otherwise",
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, wrong or expired credentials"},
    403: {"model": ErrorOut, "description": "The user's role may not do this"},
    404: {"model": ErrorOut, "description": "No such record, or not visible to this user"},
    409: {"model": ErrorOut, "description": "The action breaks a trial rule in the current state"},
    422: {
        "model": ValidationErrorOut,
        "description": "Invalid or implausible input; a missing reason for a change (rule reason_required)",
    },
    503: {
        "model": ErrorOut,
        "description": "The database cannot be reached (rule database_unavailable) or its storage is full "
        "(rule storage_full): nothing was saved; "
        "try again after Retry-After seconds",
    },
}
