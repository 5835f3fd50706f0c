"""``trialdesk serve``: start the web application (FastAPI under uvicorn).

With ``--demo`` (or ``TRIALDESK_DEMO=1``) it serves the demonstration database: SYNTHETIC data of both
trials in a file of its own (``<data_dir>/demo/trialdesk-demo.sqlite3``), built on first use (or again
with ``--reset-demo``), never the real database, and never with ``TRIALDESK_ENVIRONMENT=production``.
Every page then shows "Demo data - not for clinical use" and the login page lists the demo accounts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from trialdesk.entrypoints.cli.demo import demo_progress
from trialdesk.entrypoints.cli.output import console, fail
from trialdesk.entrypoints.demo_accounts import DEMO_ACCOUNTS

if TYPE_CHECKING:
    from trialdesk.config import Settings

DEMO_FILE = Path("demo") / "trialdesk-demo.sqlite3"
"""The demo database, relative to ``TRIALDESK_DATA_DIR``."""


def serve_command(
    host: str = typer.Option(None, help="Interface to bind (default from TRIALDESK_HOST, 127.0.0.1)"),
    port: int = typer.Option(None, help="TCP port (default from TRIALDESK_PORT, 8000)"),
    demo: bool = typer.Option(
        False,
        "--demo/--no-demo",
        envvar="TRIALDESK_DEMO",
        help="Serve the demo database (synthetic data in its own file, demo accounts printed)",
    ),
    reset_demo: bool = typer.Option(False, "--reset-demo", help="Rebuild the demo database (with --demo)"),
) -> None:
    """Start the trialdesk web application and API (OpenAPI docs at /docs)."""
    import uvicorn

    from trialdesk.config import get_settings

    if demo and os.environ.get("TRIALDESK_ENVIRONMENT", "").strip().lower() == "production":
        fail(
            "--demo is refused with TRIALDESK_ENVIRONMENT=production: the demo database is synthetic "
            "data with published passwords, never a production service (run without --demo, and "
            "unset TRIALDESK_DEMO)"
        )
    if reset_demo and not demo:
        fail("--reset-demo rebuilds the demo database: use it with --demo")
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if demo:
        database = prepare_demo(settings, reset=reset_demo)
        os.environ["TRIALDESK_DATABASE_URL"] = f"sqlite:///{database}"
        # the demo's audit chain is anchored beside it, never in the real data folder's checkpoint file
        os.environ["TRIALDESK_AUDIT_KEY_FILE"] = str(database.parent / "audit-key")
        os.environ["TRIALDESK_AUDIT_CHECKPOINT_FILE"] = str(database.parent / "audit-checkpoints.jsonl")
        print_demo_accounts(database, f"http://{host}:{port}/")
    # the app factory reads the environment: never the demo banner on real data
    os.environ["TRIALDESK_DEMO"] = "1" if demo else "0"
    uvicorn.run(
        "trialdesk.entrypoints.api.app:create_server_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        server_header=False,  # no "server: uvicorn" banner
    )


def demo_database_path(settings: Settings) -> Path:
    """Where the demo database lives; refused when it is the configured (real) database."""
    from sqlalchemy.engine import make_url

    database = (settings.data_dir / DEMO_FILE).resolve()
    url = make_url(settings.effective_database_url)
    real = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if real and Path(real).resolve() == database:
        fail(
            f"TRIALDESK_DATABASE_URL names the demo database file {database}: the demo is kept in a "
            "file of its own, never mixed with real data (point TRIALDESK_DATABASE_URL elsewhere)"
        )
    return database


def prepare_demo(settings: Settings, *, reset: bool) -> Path:
    """The demo database file, built now when it does not exist yet (or ``reset``)."""
    from trialdesk.entrypoints.demo import build_demo_database, is_demo_database

    database = demo_database_path(settings)
    if reset and database.exists():
        if not is_demo_database(database):
            fail(f"--reset-demo: {database} holds data that is not the demo's: it was left untouched")
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.unlink(missing_ok=True)
    if not database.exists():
        console.print(f"Building the demo database (SYNTHETIC data) in {database} ...")
        started = time.monotonic()
        with demo_progress() as report:
            try:
                build_demo_database(database, progress=report)
            except RuntimeError as exc:
                fail(f"the demo database could not be built: {exc}")
        console.print(f"Demo database built in {time.monotonic() - started:.0f} s.")
    return database


def print_demo_accounts(database: Path, url: str) -> None:
    """The demo accounts (as on the login page) and where to open the app."""
    table = Table(title="DEMO accounts - synthetic data, not for clinical use", title_justify="left")
    for column in ("Username", "Role", "Password", "Site"):
        table.add_column(column)
    for account in DEMO_ACCOUNTS:
        table.add_row(account.username, account.role, account.password, account.site_code or "all sites")
    console.print(table)
    console.print(f"Demo database: {database} (delete it, or run with --reset-demo, to rebuild it)")
    console.print(f"Open [bold]{url}[/] and sign in with an account above. Without the demo: --no-demo.")
