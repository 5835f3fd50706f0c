"""The ``trialdesk`` command: one Typer app; each command family lives in its own module."""

from __future__ import annotations

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


if __name__ == "__main__":  # pragma: no cover
    app()
