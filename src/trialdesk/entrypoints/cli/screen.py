"""``trialdesk screen``: evaluate a patient against a protocol's eligibility (being implemented)."""

from __future__ import annotations

from pathlib import Path

import typer

from trialdesk.entrypoints.cli.output import fail


def screen_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. ivo-shfrt-2l"),
    file: Path = typer.Argument(..., help="Patient file (trialdesk JSON or FHIR R4 Bundle)"),
) -> None:
    """Screen the patient in FILE against PROTOCOL_ID."""
    fail("screening is not available yet")
