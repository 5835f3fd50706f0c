"""``trialdesk db`` and ``trialdesk audit``: schema migrations and audit-trail verification."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from trialdesk.adapters.db.audit import verify_chain
from trialdesk.adapters.db.engine import make_engine
from trialdesk.adapters.db.migrate import upgrade
from trialdesk.config import get_settings
from trialdesk.entrypoints.cli.output import console, print_json

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Machine-readable JSON output")


def engine_from_settings() -> Engine:
    """An engine for TRIALDESK_DATABASE_URL (default: SQLite in TRIALDESK_DATA_DIR)."""
    return make_engine(get_settings().effective_database_url)


@db_app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply the migrations up to REVISION (creates the schema on an empty database)."""
    engine = engine_from_settings()
    upgrade(engine, revision)
    console.print(
        f"[green]database at revision {revision}[/]: {engine.url.render_as_string(hide_password=True)}"
    )


@audit_app.command("verify")
def verify_command(json_output: bool = JSON_OPTION) -> None:
    """Recompute the audit hash chain; exit 1 and name the first broken row if it does not verify."""
    engine = engine_from_settings()
    with engine.connect() as connection:
        report = verify_chain(connection)
    if json_output:
        print_json(
            {"ok": report.ok, "rows": report.rows, "broken_seq": report.broken_seq, "problem": report.problem}
        )
    elif report.ok:
        console.print(f"[bold green]audit chain verified[/]: {report.rows} rows, no break")
    else:
        console.print(f"[bold red]audit chain BROKEN at row {report.broken_seq}[/]: {report.problem}")
        console.print(f"{report.rows} rows before it verified")
    if not report.ok:
        raise typer.Exit(1)
