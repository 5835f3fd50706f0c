"""The ``trialdesk`` command: one Typer app; each command family lives in its own module."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import typer

from trialdesk.entrypoints.cli import (
    analyze,
    backup,
    checks,
    data,
    database,
    demo,
    design,
    export,
    ip,
    labs,
    prescreen,
    protocol,
    recist,
    report,
    rt,
    safety,
    schedule,
    screen,
    serve,
    simulate,
    users,
)

app = typer.Typer(
    name="trialdesk",
    help="Run oncology clinical trials from protocol to final analysis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(protocol.app, name="protocol")
app.add_typer(analyze.app, name="analyze")
app.add_typer(design.app, name="design")
app.add_typer(database.db_app, name="db")
app.add_typer(database.audit_app, name="audit")
app.add_typer(users.user_app, name="user")
app.add_typer(users.site_app, name="site")
app.add_typer(safety.app, name="safety")
app.add_typer(labs.app, name="labs")
app.add_typer(data.app, name="data")
app.add_typer(checks.app, name="checks")
app.add_typer(rt.app, name="rt")
app.add_typer(schedule.app, name="schedule")
app.add_typer(ip.app, name="ip")
app.add_typer(export.app, name="export")
app.command("openapi")(users.openapi_command)
app.command("screen")(screen.screen_command)
app.command("prescreen")(prescreen.prescreen_command)
app.command("recist")(recist.recist_command)
app.command("serve")(serve.serve_command)
app.command("report")(report.report_command)
app.command("simulate")(simulate.simulate_command)
app.command("demo")(demo.demo_command)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)


@app.command("version")
def version_command() -> None:
    """Print the trialdesk version."""
    from trialdesk import __version__  # read from the package metadata on first use

    typer.echo(__version__)


QUICK_COMMANDS = frozenset({"screen", "protocol", "recist", "version"})
"""Commands that read files and print, holding no database, server or pool: they end without the
interpreter's teardown (:func:`run`)."""


def run() -> None:
    """Entry point of the ``trialdesk`` script and of ``python -m trialdesk.entrypoints.cli.main``.

    Runs the Typer app. A quick command (and any ``--help``) then leaves with ``os._exit`` after
    flushing its output and logs: the interpreter's teardown, which frees every pydantic validator
    and FHIR model class one by one, took about 0.1 s of the 0.5 s a ``trialdesk screen`` of a FHIR
    bundle took (``benchmarks/cli_startup.py``). Every other command exits normally, so database
    connections, servers and worker pools close as they should.
    """
    try:
        app(prog_name="trialdesk")
    except SystemExit as exc:
        if _is_quick(sys.argv[1:]):
            _exit_now(exc.code)
        raise


def _is_quick(argv: list[str]) -> bool:
    words = [arg for arg in argv if not arg.startswith("-")]
    return "--help" in argv or (bool(words) and words[0] in QUICK_COMMANDS)


def _exit_now(code: object) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would (None: 0, int: itself, else printed and 1), skipping
    the interpreter's teardown; output and log handlers are flushed first."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
