"""``trialdesk backup OUT`` and ``trialdesk restore IN``: consistent copies of the trial database.

A restore is verified before it is declared good: the hash chain, the signed checkpoints that fall
within the restored chain (a backup is older than the checkpoint file), and the deep replay of every
audited table. See :mod:`trialdesk.adapters.db.backup` for how each database is copied.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trialdesk.entrypoints.cli.database import (
    JSON_OPTION,
    Verification,
    anchor_from_settings,
    engine_from_settings,
)
from trialdesk.entrypoints.cli.output import console, fail, print_json


def backup_command(
    out: Path = typer.Argument(..., help="New backup file (never overwritten; created with mode 0600)"),
) -> None:
    """Write a consistent online copy of the database to OUT (SQLite backup API, or pg_dump)."""
    from trialdesk.adapters.db.backup import BackupError, backup
    from trialdesk.adapters.db.migrate import is_current
    from trialdesk.config import get_settings

    engine = engine_from_settings()
    if not is_current(engine):
        fail("the database has no trialdesk schema: nothing to back up")
    try:
        backup(engine, out, get_settings().pg_bin_dir)
    except BackupError as exc:
        fail(str(exc))
    console.print(f"[green]backup written[/]: {out} ({out.stat().st_size} bytes)")


def restore_command(
    source: Path = typer.Argument(..., help="A backup written by `trialdesk backup`"),
    force: bool = typer.Option(False, "--force", help="Replace a database that already holds tables"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Restore SOURCE into the configured database, then verify the audit chain, its checkpoints and the
    deep replay of every audited table; exit 1 if the restored data do not verify."""
    from trialdesk.adapters.db.backup import BackupError, restore
    from trialdesk.config import get_settings

    engine = engine_from_settings()
    try:
        restore(engine, source, get_settings().pg_bin_dir, force=force)
    except BackupError as exc:
        fail(str(exc))
    anchor = anchor_from_settings()
    with engine.connect() as connection:
        result = Verification(connection, anchor, deep=True, prefix=True)
        archived = anchor.restart(connection) if result.ok else None
    if json_output:
        print_json(result.as_json())
    else:
        console.print(f"[green]restored[/] {source}")
        result.show()
        if archived is not None:
            console.print(f"checkpoints before the restore kept in {archived}; the restored head is signed")
    if not result.ok:
        raise typer.Exit(1)
