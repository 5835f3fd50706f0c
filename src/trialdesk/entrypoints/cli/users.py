"""``trialdesk user add`` (bootstrap the first admin, or any user), ``trialdesk site add``, and
``trialdesk openapi`` (the API's OpenAPI document)."""

from __future__ import annotations

import getpass
import json
import os
import sys

import typer

from trialdesk.entrypoints.cli.database import engine_from_settings
from trialdesk.entrypoints.cli.output import console, fail_with
from trialdesk.entrypoints.cli.protocol import registry
from trialdesk.services.errors import TRIAL_ERRORS

user_app = typer.Typer(help="Users of the trial system.", no_args_is_help=True)
site_app = typer.Typer(help="Sites (centres) of a trial.", no_args_is_help=True)

CLI_ACTOR = f"cli:{getpass.getuser()}"


@user_app.command("add")
def add_user_command(
    username: str = typer.Argument(..., help="Login name (lower case)"),
    role: str = typer.Option(..., help="coordinator|investigator|statistician|safety_reviewer|monitor|admin"),
    full_name: str = typer.Option("", help="Full name shown on signatures"),
    site: list[int] = typer.Option([], help="Site id (repeat for several); required for site roles"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input"
    ),
) -> None:
    """Create a user directly in the database (e.g. the first admin); audited as the OS user.

    The password is never a command-line argument (it would be in the shell history and the process
    list): it is asked for twice at the terminal, or read from ``--password-stdin``, or from the
    environment variable TRIALDESK_NEW_USER_PASSWORD."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.adapters.db.migrate import upgrade
    from trialdesk.services import admin

    password = _new_password(password_stdin)
    engine = engine_from_settings()
    upgrade(engine)
    try:
        with unit_of_work(engine, CLI_ACTOR) as session:
            user = admin.add_user(
                session,
                None,
                username=username,
                full_name=full_name,
                role=role,
                password=password,
                site_ids=site,
            )
            user_id = user.id
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    console.print(f"[green]user '{username}' created[/] (id {user_id}, role {role})")


PASSWORD_ENV = "TRIALDESK_NEW_USER_PASSWORD"


def _new_password(from_stdin: bool) -> str:
    """The new user's password from standard input, the environment or a hidden double prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@site_app.command("add")
def add_site_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    code: str = typer.Argument(..., help="Site code, e.g. SH01"),
    name: str = typer.Argument(..., help="Site name"),
) -> None:
    """Register a site of a trial (bootstrap; the API does the same for admins)."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.adapters.db.migrate import upgrade
    from trialdesk.services import admin

    engine = engine_from_settings()
    upgrade(engine)
    try:
        with unit_of_work(engine, CLI_ACTOR) as session:
            site = admin.add_site(session, None, registry(), protocol_id, code, name)
            site_id = site.id
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    console.print(f"[green]site '{code}' added to {protocol_id}[/] (id {site_id})")


def openapi_command() -> None:
    """Print the API's OpenAPI document (JSON) for client and fuzzer generation."""
    from trialdesk.entrypoints.api.app import build_app_without_database

    typer.echo(json.dumps(build_app_without_database().openapi(), indent=2))
