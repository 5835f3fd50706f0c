"""``trialdesk ip``: the investigational-product reconciliation of a trial, per site and lot."""

from __future__ import annotations

import datetime as dt
import getpass

import typer
from rich.table import Table

from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.migrate import is_current
from trialdesk.entrypoints.cli.database import JSON_OPTION, engine_from_settings
from trialdesk.entrypoints.cli.output import console, fail, fail_with, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.services.dispensing import Reconciliation, reconcile, reconciliation_data
from trialdesk.services.errors import TRIAL_ERRORS

app = typer.Typer(help="Investigational product: dispensing log reconciliation.", no_args_is_help=True)


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--as-of: '{text}' is not a date (YYYY-MM-DD)")


def _lot_table(found: Reconciliation) -> Table:
    table = Table(title=f"{found.protocol_id}: investigational product by site and lot, as of {found.as_of}")
    for column in ("site", "product", "lot", "expiry", "received", "dispensed", "returned", "on hand"):
        table.add_column(
            column, justify="right" if column in ("received", "dispensed", "returned") else "left"
        )
    table.add_column("expired on hand", justify="right")
    for lot in found.lots:
        expired = f"[bold red]{lot.expired_on_hand}[/]" if lot.expired_on_hand else "0"
        table.add_row(
            lot.site,
            lot.agent,
            lot.lot,
            lot.expiry.isoformat(),
            str(lot.received),
            str(lot.dispensed),
            str(lot.returned),
            f"{lot.on_hand} ({lot.available} available)",
            expired,
        )
    return table


def _subject_table(found: Reconciliation) -> Table:
    table = Table(title="Units per subject: expected from the doses given vs dispensed minus returned")
    for column in ("site", "subject", "product", "doses", "expected", "dispensed", "returned", "difference"):
        table.add_column(column, justify="left" if column in ("site", "subject", "product") else "right")
    for check in found.subjects:
        difference = f"[bold red]{check.difference:+d}[/]" if check.flagged else "0"
        table.add_row(
            check.site,
            check.subject,
            check.agent,
            str(check.doses),
            str(check.expected),
            str(check.dispensed),
            str(check.returned),
            difference,
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
    protocol = get_protocol(protocol_id)
    day = _as_of(as_of)
    engine = engine_from_settings()
    if not is_current(engine):
        fail("the database has no schema: run `trialdesk db upgrade` (or start the server) first")
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
    console.print(_lot_table(found))
    console.print(_subject_table(found))
    flagged = len(found.flagged)
    style = "bold red" if flagged else "green"
    console.print(f"[{style}]{flagged} subject(s) whose dispensing log and doses disagree[/]")
