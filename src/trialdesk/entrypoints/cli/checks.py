"""``trialdesk checks run PROTOCOL_ID [--json]``: run a trial's edit checks and reconcile its system
queries (open new ones, keep existing ones, close those whose condition no longer holds).

The run is written by the system actor with the reason "edit checks run"; the operator of the
installation who started it is audited as an event (``cli:<login>``).
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from trialdesk.entrypoints.cli.database import JSON_OPTION, current_engine
from trialdesk.entrypoints.cli.output import console, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol

if TYPE_CHECKING:
    from trialdesk.services.checks import CheckRunSummary

app = typer.Typer(
    help="Edit checks: versioned rules of the protocol that raise system queries.", no_args_is_help=True
)


def _table(summary: CheckRunSummary) -> Table:
    table = Table(title=f"Edit checks of {summary.protocol_id}")
    for column in (
        "rule",
        "version",
        "kind",
        "severity",
        "findings",
        "opened",
        "kept",
        "re-opened",
        "closed",
    ):
        table.add_column(column, justify="right" if column not in ("rule", "kind", "severity") else "left")
    for r in summary.rules:
        counts = (r.findings, r.opened, r.kept, r.reopened, r.closed)
        table.add_row(r.rule_id, r.version, r.kind, r.severity, *(str(n) for n in counts))
    return table


@app.command("run")
def run_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. scr-escc-01"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Run every edit check of the trial; open, keep, re-open and close system queries."""
    from trialdesk.adapters.db.audit import log_event
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.actors import SYSTEM_ACTOR
    from trialdesk.services.checks import RUN_REASON, run_checks

    protocol = get_protocol(protocol_id)
    engine = current_engine()
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=json_output,
            transient=True,
        ) as progress,
        unit_of_work(engine, SYSTEM_ACTOR, reason=RUN_REASON) as session,
    ):
        task = progress.add_task("loading form data", total=max(len(protocol.checks), 1))

        def advance(rule_id: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=f"rule {rule_id}")

        summary = run_checks(session, protocol, None, advance)
        log_event(
            session,
            "checks_run",
            "data_queries",
            protocol.id,
            username=f"cli:{getpass.getuser()}",
            reason=f"{summary.findings} finding(s): {summary.opened} opened, {summary.closed} closed",
        )
    if json_output:
        print_json(summary.as_dict())
        return
    console.print(_table(summary))
    console.print(
        f"{summary.records} form records, {summary.values} values checked in {summary.total_seconds:.2f} s "
        f"({summary.records_per_second:,.0f} records/s); queries: {summary.opened} opened, "
        f"{summary.kept} kept, {summary.reopened} re-opened, {summary.closed} closed"
    )
