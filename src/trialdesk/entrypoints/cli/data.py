"""``trialdesk data check``: stored rows that break the date and value rules (reported, never altered).

The rules are the ones every capture use case applies on entry (:mod:`trialdesk.domain.plausibility`,
:mod:`trialdesk.services.clinical_dates`); rows stored before a rule existed are found here so that the
data manager can raise a query. Exit 0 when the data are clean, 1 when any row breaks a rule.
"""

from __future__ import annotations

import dataclasses
import getpass
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from trialdesk.entrypoints.cli.database import JSON_OPTION, current_engine
from trialdesk.entrypoints.cli.output import console, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol, registry

if TYPE_CHECKING:
    from trialdesk.services.clinical_dates import Violation

app = typer.Typer(help="Checks of the stored trial data.", no_args_is_help=True)


@app.command("check")
def check_command(
    protocol_id: str = typer.Argument(None, help="Protocol id (default: every loaded trial)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """List stored rows that break a date rule (future, before 1900, after death, before treatment
    start, outside the baseline window, AE before consent, 'died' without a date); exit 1 if any."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.clinical_dates import data_check

    protocols = [get_protocol(protocol_id)] if protocol_id else list(registry())
    engine = current_engine()
    found: list[Violation] = []
    with unit_of_work(engine, f"cli:{getpass.getuser()}") as session:
        for protocol in protocols:
            found += data_check(session, protocol)
    if json_output:
        print_json(
            {
                "protocols": [p.id for p in protocols],
                "violations": [dataclasses.asdict(v) for v in found],
                "count": len(found),
            }
        )
    elif not found:
        console.print(f"[bold green]no violations[/] in {', '.join(p.id for p in protocols)}")
    else:
        table = Table(title=f"{len(found)} stored row(s) break a rule", show_lines=False)
        for column in ("trial", "subject", "record", "field", "reason"):
            table.add_column(column, overflow="fold")
        for v in found:
            table.add_row(v.protocol_id, v.subject, v.record, v.field, v.reason)
        console.print(table)
    if found:
        raise typer.Exit(1)
