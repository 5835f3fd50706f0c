"""``trialdesk report``: the trial report (CONSORT, KM, waterfall, spider, swimmer, ORR, safety)."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Literal

import typer

from trialdesk.entrypoints.cli.database import current_engine, cutoff_or_lock
from trialdesk.entrypoints.cli.output import console, fail, fail_with, write_private
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.services.errors import TRIAL_ERRORS


def report_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    cutoff: str = typer.Option(None, help="Data cut-off date YYYY-MM-DD (default: today)"),
    fmt: str = typer.Option("pdf", "--format", help="pdf or html"),
    out: Path = typer.Option(
        None, "--out", help="Output file (default: report-<protocol>-<cutoff>.<format>)"
    ),
    lock: int = typer.Option(
        None, "--lock", help="Build from this cut-off or database lock (its cut-off; hash on the title page)"
    ),
) -> None:
    """Write the trial report from the database at a data cut-off (audited as an export)."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.reporting import trial_report, trial_report_from_lock

    protocol = get_protocol(protocol_id)
    if fmt not in ("pdf", "html"):
        fail(f"--format: '{fmt}' is not one of pdf, html")
    cutoff_date = cutoff_or_lock(cutoff, lock)
    engine = current_engine()
    form: Literal["pdf", "html"] = "pdf" if fmt == "pdf" else "html"
    try:
        with unit_of_work(engine, f"cli:{getpass.getuser()}") as session:
            if lock is not None:
                content = trial_report_from_lock(session, None, protocol, form, lock)
            else:
                content = trial_report(session, None, protocol, form, cutoff_date)
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    stem = f"lock{lock}" if lock is not None else str(cutoff_date or dt.date.today())
    target = out or Path(f"report-{protocol.id}-{stem}.{fmt}")
    write_private(target, content)
    console.print(f"[green]report written[/]: {target} ({len(content) // 1024} KiB)")
