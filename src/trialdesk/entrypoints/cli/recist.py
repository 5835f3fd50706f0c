"""``trialdesk recist``: tumour response from a lesion-measurement file (being implemented)."""

from __future__ import annotations

from pathlib import Path

import typer

from trialdesk.entrypoints.cli.output import fail


def recist_command(file: Path = typer.Argument(..., help="Tumour-assessment JSON file")) -> None:
    """Derive RECIST 1.1 responses from FILE."""
    fail("the RECIST engine is not available yet")
