"""The documented JSON exchange format (already-loaded data; reading files is the caller's job).

Input (``schemas/recist-input.schema.json``)::

    {"confirmation_required": true,
     "baseline": {"date": "YYYY-MM-DD",
                  "lesions": [{"id", "site", "nodal", "regional_node", "station", "role",
                               "diameter_mm", "method", "slice_thickness_mm"}]},
     "assessments": [{"date", "measurements": {"<target id>": mm | "too_small" | null},
                      "non_target": {"<id>": "absent" | "present" | "unequivocal_progression"
                                             | "increased" | null},
                      "new_lesions": [{"id", "site", "equivocal", "nodal", "diameter_mm",
                                       "increased"}]}]}

Output (``schemas/recist-output.schema.json``): :func:`report_to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.recist.assessment import Assessment
from trialdesk.domain.recist.baseline import Baseline
from trialdesk.domain.recist.errors import InvalidResponseInput
from trialdesk.domain.recist.report import ResponseReport


class ResponseInput(FrozenModel):
    """A patient's tumour assessments as exchanged in the JSON format."""

    confirmation_required: bool | None = None
    baseline: Baseline
    assessments: list[Assessment] = Field(default_factory=list)


def parse_response_input(data: Mapping[str, Any]) -> ResponseInput:
    """Build domain objects from loaded JSON; the first problem becomes :class:`InvalidResponseInput`.

    The error names the field as a dotted path (``assessments[1].measurements.T1``) and the reason.
    """
    try:
        return ResponseInput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidResponseInput(_location(first["loc"]), _reason(first)) from None


_UNION_BRANCHES = frozenset({"float", "int", "str", "bool", "none"})
"""Names pydantic adds to an error location for the branch of a union (not input fields)."""


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_BRANCHES or part.startswith(("literal[", "function-")):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "(input)"


def _reason(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field (not in the documented format)"
    if error["type"] == "missing":
        return "required field is missing"
    value = error.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return f"{message} (got {shown})"


def report_to_dict(report: ResponseReport) -> dict[str, Any]:
    """The report as JSON-ready data (dates as ISO strings), in the documented output format."""
    return report.model_dump(mode="json")
