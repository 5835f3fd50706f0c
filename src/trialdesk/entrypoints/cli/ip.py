"""``trialdesk ip``: the investigational-product reconciliation of a trial, per site and lot."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.table import Table

from trialdesk.entrypoints.cli.database import JSON_OPTION, current_engine
from trialdesk.entrypoints.cli.output import console, fail, fail_with, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.services.errors import TRIAL_ERRORS

if TYPE_CHECKING:
    from trialdesk.services.dispensing import Reconciliation

app = typer.Typer(help="Investigational product: dispensing log reconciliation.", no_args_is_help=True)


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--as-of: '{text}' is not a date (YYYY-MM-DD)")


def _lot_table(found: Reconciliation, agent: str) -> Table:
    unit = found.units[agent]
    table = Table(
        title=f"{agent} ({unit}s) by site and lot, as of {found.as_of}",
        caption="on hand = received - dispensed + returned (returns quarantined); expired: held past expiry",
        box=box.SIMPLE_HEAD,
    )
    lots = [b for b in found.lots if b.agent == agent]
    table.add_column("site", no_wrap=True)
    table.add_column("lot", no_wrap=True, min_width=max([3, *(len(b.lot) for b in lots)]))
    table.add_column("expiry", no_wrap=True, min_width=10)
    for column in ("received", "dispensed", "returned", "on hand", "expired"):
        table.add_column(column, justify="right")
    for lot in lots:
        table.add_row(
            lot.site,
            lot.lot,
            lot.expiry.isoformat(),
            str(lot.received),
            str(lot.dispensed),
            str(lot.returned),
            str(lot.on_hand),
            f"[bold red]{lot.expired_on_hand}[/]" if lot.expired_on_hand else "0",
        )
    return table


def _subject_table(found: Reconciliation, agent: str) -> Table:
    table = Table(
        title=f"{agent} per subject: {found.units[agent]}s the doses needed vs dispensed minus returned",
        box=box.SIMPLE_HEAD,
    )
    for column in ("site", "subject", "doses", "needed", "dispensed", "returned", "difference"):
        table.add_column(column, justify="left" if column in ("site", "subject") else "right")
    for check in (c for c in found.subjects if c.agent == agent):
        table.add_row(
            check.site,
            check.subject,
            str(check.doses),
            str(check.expected),
            str(check.dispensed),
            str(check.returned),
            f"[bold red]{check.difference:+d}[/]" if check.flagged else "0",
        )
    return table


@app.command("reconcile")
def reconcile_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    site: str | None = typer.Option(None, "--site", help="One site's code (default: every site)"),
    as_of: str | None = typer.Option(None, "--as-of", help="Reconcile the records up to this date"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Received, dispensed, returned and on-hand units of each lot per site (expired stock flagged), and
    each subject's units against the doses given (a disagreement is flagged)."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.dispensing import reconcile, reconciliation_data

    protocol = get_protocol(protocol_id)
    day = _as_of(as_of)
    engine = current_engine()
    try:
        with unit_of_work(engine, f"cli:{getpass.getuser()}", write=False) as session:
            found = reconcile(session, None, protocol, site_code=site, as_of=day)
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    if json_output:
        print_json(reconciliation_data(found))
        return
    if not protocol.investigational_products():
        console.print(f"{protocol.id} has no investigational product with a dispensing log.")
        return
    for agent in found.units:
        console.print(_lot_table(found, agent))
        console.print(_subject_table(found, agent))
    flagged = len(found.flagged)
    style = "bold red" if flagged else "green"
    console.print(f"[{style}]{flagged} subject(s) whose dispensing log and doses disagree[/]")
