"""Shared CLI output helpers: Rich console, JSON printing and clean error exits."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from trialdesk.services.errors import TrialError, describe

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (plain text, for scripts)."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (red, on stderr) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_with(exc: TrialError) -> NoReturn:
    """Exit with the message and exit code :func:`trialdesk.services.errors.describe` gives ``exc``."""
    answer = describe(exc)
    fail(answer.cli_message(), answer.exit_code)


def write_private(path: Path, content: bytes) -> None:
    """Write an export (patient data) readable by its owner only: a new file is created with mode
    0600, and an existing one is narrowed to 0600 before it is overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
