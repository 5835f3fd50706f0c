"""``trialdesk export odm``: a trial's data as CDISC ODM 1.3.2 XML (issue 16), the whole trial or one
site's copy for the investigator to hold, optionally with the audit trail of every value.

The ODM service (and lxml with it) is imported inside the command, so the CLI starts without it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

import typer

from trialdesk.entrypoints.cli.database import JSON_OPTION, current_engine
from trialdesk.entrypoints.cli.output import console, fail, fail_with, print_json, write_private
from trialdesk.entrypoints.cli.protocol import get_protocol


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--as-of: '{text}' is not a date (YYYY-MM-DD)")


def odm_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    out: Path = typer.Option(..., "--out", help="ODM XML file to write (readable by you only)"),
    with_audit: bool = typer.Option(
        False, "--with-audit", help="Every value's audit trail (who, when, why) as ODM AuditRecords"
    ),
    site: str | None = typer.Option(None, "--site", help="Site code: that site's copy only"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The database as it stood at the end of this day (YYYY-MM-DD, UTC)"
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Write the trial's metadata and data as CDISC ODM 1.3.2, checked against the ODM schema
    (the export is audited as a read)."""
    # the database, lxml and the services load only when the command runs (a quick CLI start-up)
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.errors import TRIAL_ERRORS
    from trialdesk.services.odm_export import odm_export

    protocol = get_protocol(protocol_id)
    as_of_day = _as_of(as_of)
    if not out.parent.is_dir() or out.is_dir():
        fail(f"--out: '{out}' is not a file in an existing folder")
    engine = current_engine()
    try:
        with unit_of_work(engine, f"cli:{getpass.getuser()}") as session:
            result = odm_export(
                session, None, protocol, site_code=site, with_audit=with_audit, as_of_day=as_of_day
            )
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    write_private(out, result.content)
    summary = {
        "file": str(out),
        "protocol": protocol.id,
        "site": result.site,
        "subjects": result.subjects,
        "audit_records": result.audit_records,
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "bytes": len(result.content),
        "schema": "ODM 1.3.2 (valid)",
    }
    if json_output:
        print_json(summary)
        return
    scope = f"site {result.site}" if result.site else "all sites"
    audit = f", {result.audit_records} audit records" if with_audit else ""
    console.print(f"[green]ODM 1.3.2 written[/] to {out}: {result.subjects} subjects ({scope}){audit}")
