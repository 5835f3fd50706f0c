"""``trialdesk export listings``: the data team's listings (one CSV per form, queries, SDV) to a folder."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from trialdesk.entrypoints.cli import cdisc, odm
from trialdesk.entrypoints.cli.database import current_engine
from trialdesk.entrypoints.cli.output import console, fail_with, write_private
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.services.errors import TRIAL_ERRORS

app = typer.Typer(help="Exports of trial data for the data team.", no_args_is_help=True)
app.command("sdtm")(cdisc.sdtm_command)
app.command("adam")(cdisc.adam_command)


@app.command("listings")
def listings_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    out: Path = typer.Option(..., "--out", help="Folder to write the listings into (created if missing)"),
    fmt: str = typer.Option(
        "csv", "--format", help="csv or parquet (Apache Parquet: numbers, dates and true/false typed)"
    ),
) -> None:
    """Write one listing per form (with sdv_status and open_queries columns), the query listing and the
    SDV listing, as CSV or Parquet (files readable by you only; the export is audited as a read)."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.listings import listings

    protocol = get_protocol(protocol_id)
    engine = current_engine()
    try:
        with unit_of_work(engine, f"cli:{getpass.getuser()}") as session:
            files = listings(session, None, protocol, fmt)
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        write_private(out / name, content)
    console.print(f"[green]{len(files)} listings written[/] to {out}")


app.command("odm")(odm.odm_command)
