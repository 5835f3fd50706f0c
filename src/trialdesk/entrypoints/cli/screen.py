"""``trialdesk screen``: evaluate a patient against a protocol's eligibility criteria.

Exit codes: 0 eligible, 1 ineligible, 3 incomplete (data missing or attestation outstanding),
2 error (unknown protocol, unreadable or invalid patient file, bad --at date).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from trialdesk.entrypoints.cli.output import console, fail, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol

if TYPE_CHECKING:
    from trialdesk.domain.eligibility.evaluator import EligibilityResult

EXIT_CODES = {"eligible": 0, "ineligible": 1, "incomplete": 3}
"""Process exit code per verdict; errors exit with 2."""

STATUS_STYLES = {
    "met": "green",
    "not_met": "bold red",
    "unknown": "yellow",
    "needs_attestation": "magenta",
}
VERDICT_STYLES = {"eligible": "bold green", "ineligible": "bold red", "incomplete": "bold yellow"}


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--at: {value!r} is not a date (use YYYY-MM-DD)")


def screen_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. ivo-shfrt-2l"),
    file: Path = typer.Argument(..., help="Patient file (trialdesk JSON or FHIR R4 Bundle)"),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output"),
    at: str | None = typer.Option(None, "--at", help="Screening date YYYY-MM-DD (default: the file's)"),
) -> None:
    """Screen the patient in FILE against PROTOCOL_ID.

    Exit code 0 eligible, 1 ineligible, 3 incomplete, 2 error.
    """
    from trialdesk.domain.eligibility.validation import PatientDataError
    from trialdesk.services.screening import result_to_json, screen_file

    on = _parse_date(at)
    protocol = get_protocol(protocol_id)
    try:
        screening = screen_file(protocol, file, on)
    except PatientDataError as exc:
        fail(str(exc))
    result = screening.result
    if json_output:
        print_json(result_to_json(result))
    else:
        _render(result, screening.input_format)
    raise typer.Exit(EXIT_CODES[result.verdict])


def _render(result: EligibilityResult, input_format: str) -> None:
    table = Table(
        title=f"{result.protocol_id} v{result.protocol_version} · patient {result.patient_id} · "
        f"screening date {result.screening_date} ({input_format})"
    )
    table.add_column("id", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("evidence", overflow="fold")
    for c in result.criteria:
        evidence = c.evidence
        if c.missing:
            evidence += f"\nmissing: {', '.join(c.missing)}"
        table.add_row(c.id, c.source, Text(c.status, style=STATUS_STYLES[c.status]), Text(evidence))
    console.print(table)
    counts = {s: sum(1 for c in result.criteria if c.status == s) for s in STATUS_STYLES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(
        Text.assemble("verdict: ", (result.verdict.upper(), VERDICT_STYLES[result.verdict]), f" ({summary})")
    )
