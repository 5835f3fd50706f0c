"""``trialdesk safety``: the DSMB safety report from the trial database.

``trialdesk safety report PROTOCOL_ID [--cutoff YYYY-MM-DD] [--format json|html|pdf] [--output FILE]``
reads the database of
TRIALDESK_DATABASE_URL (default: SQLite in TRIALDESK_DATA_DIR) through the same service as
``GET /api/trials/{protocol_id}/safety-report``; the export is audited.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from trialdesk.entrypoints.cli.database import current_engine, cutoff_or_lock
from trialdesk.entrypoints.cli.output import console, fail, fail_with, write_private
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.entrypoints.cli.users import CLI_ACTOR
from trialdesk.services.errors import TRIAL_ERRORS

app = typer.Typer(help="Safety monitoring: the DSMB safety report.", no_args_is_help=True)


class ReportFormat(StrEnum):
    json = "json"
    html = "html"
    pdf = "pdf"


@app.command("report")
def report_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. scr-escc-01"),
    output_format: ReportFormat = typer.Option(ReportFormat.json, "--format", help="json, html or pdf"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (required for pdf)"),
    cutoff: str | None = typer.Option(None, "--cutoff", help="Data cut-off date YYYY-MM-DD (default: today)"),
    lock: int | None = typer.Option(None, "--lock", help="Build from this cut-off or database lock"),
) -> None:
    """Subjects exposed, AEs by SOC/term x maximum grade (all-cause and treatment-related), grade >= 3,
    SAEs, discontinuations, deaths, stopping rules with their binomial probabilities, toxicity boundary,
    all at the data cut-off."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.adapters.report.safety_report import render_safety_report
    from trialdesk.services.reporting import safety_report_from_lock
    from trialdesk.services.safety_report import report_for

    protocol = get_protocol(protocol_id)
    cutoff_date = cutoff_or_lock(cutoff, lock)
    if output_format == ReportFormat.pdf and output is None:
        fail("--output FILE is required for --format pdf")
    engine = current_engine()
    try:
        with unit_of_work(engine, CLI_ACTOR) as session:
            if lock is not None:
                document = safety_report_from_lock(session, None, protocol, output_format.value, lock)
            else:
                document = report_for(session, None, protocol, output_format.value, cutoff_date)
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    finally:
        engine.dispose()
    if output_format == ReportFormat.pdf:
        assert output is not None
        write_private(output, render_safety_report(document, protocol, "pdf"))
    else:
        text = (
            json.dumps(document, indent=2, ensure_ascii=False) if output_format == ReportFormat.json else ""
        )
        text = text or render_safety_report(document, protocol, "html").decode("utf-8")
        if output is None:
            typer.echo(text)
            return
        write_private(output, text.encode("utf-8"))
    console.print(f"[green]safety report ({output_format.value}) written to {output}[/]")
