"""``trialdesk db`` and ``trialdesk audit``: schema migrations and audit-trail verification."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from trialdesk.entrypoints.cli.output import console, fail, print_json

if TYPE_CHECKING:
    from trialdesk.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from trialdesk.adapters.db.anchor import AnchorReport, AuditAnchor
    from trialdesk.adapters.db.audit import ChainReport
    from trialdesk.adapters.db.replay import DeepReport

# SQLAlchemy, Alembic and the audit adapters are imported inside the functions that use them, so that
# `trialdesk --help` and the commands that need no database start quickly (issue 17).

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Machine-readable JSON output")
SHOWN_DIFFERENCES = 200
"""Differences printed in the table (all of them are in ``--json``)."""


def anchor_from_settings(settings: Settings | None = None) -> AuditAnchor:
    """The audit anchor's key and checkpoint files of the settings."""
    from trialdesk.adapters.db.anchor import AuditAnchor
    from trialdesk.config import get_settings

    settings = settings or get_settings()
    return AuditAnchor(settings.effective_audit_key_file, settings.effective_audit_checkpoint_file)


def engine_from_settings() -> Engine:
    """An engine for TRIALDESK_DATABASE_URL (default: SQLite in TRIALDESK_DATA_DIR); its writes append a
    signed checkpoint when the audit key exists (set-up creates it)."""
    from trialdesk.adapters.db.engine import make_engine
    from trialdesk.config import get_settings

    settings = get_settings()
    return make_engine(settings.effective_database_url, anchor=anchor_from_settings(settings))


def current_engine() -> Engine:
    """:func:`engine_from_settings`, refusing (exit 2, naming the fix) a database without the schema."""
    from trialdesk.adapters.db.migrate import is_current

    engine = engine_from_settings()
    if not is_current(engine):
        fail("the database has no schema: run `trialdesk db upgrade` (or start the server) first")
    return engine


def cutoff_or_lock(cutoff: str | None, lock: int | None) -> dt.date | None:
    """The ``--cutoff`` date of a command that also takes ``--lock`` (one or the other, exit 2 otherwise;
    a bad date exits 2 naming the option)."""
    if lock is not None and cutoff:
        fail("--lock and --cutoff: give one (a lock has its own cut-off)")
    try:
        return dt.date.fromisoformat(cutoff) if cutoff else None
    except ValueError:
        fail(f"--cutoff: '{cutoff}' is not a date (YYYY-MM-DD)")


@db_app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply the migrations up to REVISION (creates the schema on an empty database) and create the
    audit-anchor key (mode 0600) when it is missing."""
    from trialdesk.adapters.db.migrate import upgrade

    engine = engine_from_settings()
    upgrade(engine, revision)
    anchor = anchor_from_settings()
    with engine.connect() as connection:
        created = anchor.set_up(connection)
    console.print(
        f"[green]database at revision {revision}[/]: {engine.url.render_as_string(hide_password=True)}"
    )
    if created:
        console.print(f"audit key created: {anchor.key_file} (mode 0600; keep a copy off this server)")


class Verification:
    """The chain, anchor and (optionally) deep checks of one database, and how to show them."""

    def __init__(
        self, connection: Connection, anchor: AuditAnchor, *, deep: bool, prefix: bool = False
    ) -> None:
        from trialdesk.adapters.db.anchor import check_checkpoints
        from trialdesk.adapters.db.audit import verify_chain
        from trialdesk.adapters.db.replay import deep_verify
        from trialdesk.config import get_settings

        self.chain: ChainReport = verify_chain(connection)
        self.anchor: AnchorReport = check_checkpoints(connection, anchor, prefix=prefix)
        self.deep: DeepReport | None = deep_verify(connection) if deep else None
        self.strict_anchor = get_settings().environment != "development"

    @property
    def ok(self) -> bool:
        """Chain intact, anchor checks passed (a never-anchored database passes in development only) and
        no deep difference."""
        anchor_ok = self.anchor.ok or (self.anchor.state == "not_anchored" and not self.strict_anchor)
        return self.chain.ok and anchor_ok and (self.deep is None or self.deep.ok)

    def as_json(self) -> dict[str, Any]:
        """The machine-readable result (the first four keys are those of the chain check)."""
        data: dict[str, Any] = {
            "ok": self.chain.ok,
            "rows": self.chain.rows,
            "broken_seq": self.chain.broken_seq,
            "problem": self.chain.problem,
            "anchor": {**asdict(self.anchor), "ok": self.anchor.ok},
            "verified": self.ok,
        }
        if self.deep is not None:
            data["deep"] = {
                "ok": self.deep.ok,
                "events": self.deep.events,
                "rows": self.deep.rows,
                "skipped": self.deep.skipped,
                "differences": [asdict(d) for d in self.deep.differences],
            }
        return data

    def show(self) -> None:
        """Print the result for a person: chain, anchor, then a table of deep differences."""
        if self.chain.ok:
            console.print(f"[bold green]audit chain verified[/]: {self.chain.rows} rows, no break")
        else:
            console.print(
                f"[bold red]audit chain BROKEN at row {self.chain.broken_seq}[/]: {self.chain.problem}"
            )
            console.print(f"{self.chain.rows} rows before it verified")
        self._show_anchor()
        if self.deep is not None:
            _show_deep(self.deep)

    def _show_anchor(self) -> None:
        anchor = self.anchor
        if anchor.ok:
            console.print(
                f"[bold green]anchor verified[/]: {anchor.checkpoints} signed checkpoints, chain anchored up "
                f"to row {anchor.anchored_seq}"
            )
            return
        colour = "yellow" if anchor.state == "not_anchored" and not self.strict_anchor else "red"
        for problem in anchor.problems[:20]:
            console.print(f"[bold {colour}]anchor:[/] {escape(problem)}")
        if len(anchor.problems) > 20:
            console.print(f"... and {len(anchor.problems) - 20} more anchor problems (--json lists them)")


def _show_deep(deep: DeepReport) -> None:
    rows = sum(deep.rows.values())
    if deep.ok:
        console.print(
            f"[bold green]deep audit verified[/]: {deep.events} audit events replayed, {rows} rows in "
            f"{len(deep.rows)} audited tables match"
        )
    else:
        table = Table("table", "row", "field", "problem", "per audit trail", "in the database")
        for d in deep.differences[:SHOWN_DIFFERENCES]:
            table.add_row(*(escape(str(v)) if v is not None else "-" for v in _cells(d)))
        console.print(table)
        console.print(
            f"[bold red]deep audit: {len(deep.differences)} differences[/] between the audit trail and "
            f"the data ({deep.events} events replayed, {rows} rows compared)"
        )
    console.print(f"not audited, skipped: {', '.join(deep.skipped)}")


def _cells(d: Any) -> tuple[Any, ...]:
    return (d.table, d.record_id, d.field, d.problem, d.expected, d.found)


@audit_app.command("verify")
def verify_command(
    json_output: bool = JSON_OPTION,
    deep: bool = typer.Option(
        False, "--deep", help="Also replay the audit trail and compare every audited table with its rows"
    ),
) -> None:
    """Recompute the audit hash chain and check its signed checkpoints; with --deep, rebuild every audited
    table from the trail and report each row and field that differs. Exit 1 on any problem."""
    engine = engine_from_settings()
    with engine.connect() as connection:
        result = Verification(connection, anchor_from_settings(), deep=deep)
    if json_output:
        print_json(result.as_json())
    else:
        result.show()
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def anchor_command() -> None:
    """Sign the chain's current head now (after reviewing rows reported as not anchored, e.g. after a
    crash between a commit and its checkpoint); creates the key when missing."""
    from trialdesk.adapters.db.anchor import chain_head

    anchor = anchor_from_settings()
    engine = engine_from_settings()
    with engine.connect() as connection:
        anchor.set_up(connection)
        seq, head_hash = chain_head(connection)
    if not anchor.checkpoint(seq, head_hash):
        console.print(f"[bold red]checkpoint not written[/] to {anchor.checkpoint_file}")
        raise typer.Exit(1)
    console.print(f"[green]chain head signed[/]: row {seq} ({head_hash[:16]}...) in {anchor.checkpoint_file}")


@audit_app.command("rotate-key")
def rotate_key_command() -> None:
    """Replace the audit-anchor key: verify everything with the old key (deep), archive the old key and
    checkpoint file, create a new key and sign the current head with it (docs/security.md)."""
    from trialdesk.adapters.db.anchor import chain_head

    anchor = anchor_from_settings()
    engine = engine_from_settings()
    with engine.connect() as connection:
        result = Verification(connection, anchor, deep=True)
        if not result.ok:
            result.show()
            console.print(
                "[bold red]key not rotated[/]: the audit trail must verify with the current key first"
            )
            raise typer.Exit(1)
        archive = anchor.rotate(connection)
        seq, _ = chain_head(connection)
    console.print(
        f"[green]audit key rotated[/]: head row {seq} signed with the new key; the old key and checkpoints "
        f"are in {archive} (move them off this server)"
    )
