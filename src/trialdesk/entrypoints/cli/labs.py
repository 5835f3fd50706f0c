"""``trialdesk labs import``: the documented bulk path for lab results (more than one API request holds).

``trialdesk labs import PROTOCOL_ID SCREENING_NO FILE.csv --user USERNAME [--json]`` reads a CSV file
with the header ``test,value,unit,lln,uln,collected_date,is_baseline`` (``lln``/``uln`` may be empty;
``is_baseline``: true/false, yes/no, 1/0 or empty = false; dates YYYY-MM-DD) and imports it for the
subject through :func:`trialdesk.services.lab_import.import_results`: every row is checked before
anything is written (errors name the row, counting the header as row 1, and the column), the rows are
stored in bounded, audited transactions, all or nothing, then graded (CTCAE v5.0 proposals).

The importer signs in as a trialdesk user with the data-entry right on the subject's site: the
password comes from ``TRIALDESK_PASSWORD`` or a hidden prompt, never the command line. The sign-in is
audited, counts towards the lock-out like any other, and the token is revoked at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trialdesk.entrypoints.cli.database import current_engine, engine_from_settings
from trialdesk.entrypoints.cli.demo import demo_progress
from trialdesk.entrypoints.cli.output import console, err_console, fail, fail_with, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.services.errors import TRIAL_ERRORS, InvalidInput, NotAuthenticated

if TYPE_CHECKING:
    from trialdesk.services.labs import LabInput

app = typer.Typer(help="Lab results: bulk import with CTCAE grade proposals.", no_args_is_help=True)

COLUMNS = ("test", "value", "unit", "lln", "uln", "collected_date", "is_baseline")
TRUE, FALSE = frozenset({"true", "yes", "1", "y"}), frozenset({"false", "no", "0", "n", ""})
MAX_FILE_ROWS = 1_000_000
"""Rows one import accepts (a bound, like the API's per-request maximum)."""


def _number(text: str, *, optional: bool = False) -> float | None:
    if optional and not text.strip():
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"'{text}' is not a finite number")
    return number


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE | FALSE:
        return word in TRUE
    raise ValueError(f"'{text}' is not true/false")


def _parse_row(row: dict[str, str]) -> LabInput:
    """One CSV row as a :class:`LabInput`; :class:`InvalidInput` naming the column that does not parse
    (the lab rules themselves are checked by the service)."""
    from trialdesk.services.labs import LabInput

    parsed: dict[str, object] = {}
    for column, parse in (
        ("value", _number),
        ("lln", lambda t: _number(t, optional=True)),
        ("uln", lambda t: _number(t, optional=True)),
        ("collected_date", dt.date.fromisoformat),
        ("is_baseline", _boolean),
    ):
        try:
            parsed[column] = parse((row.get(column) or "").strip())
        except ValueError as exc:
            raise InvalidInput(str(exc), field=column) from None
    value = parsed["value"]
    assert isinstance(value, float)
    return LabInput(
        test=(row.get("test") or "").strip(),
        value=value,
        unit=(row.get("unit") or "").strip(),
        collected_date=parsed["collected_date"],  # type: ignore[arg-type]
        lln=parsed["lln"],  # type: ignore[arg-type]
        uln=parsed["uln"],  # type: ignore[arg-type]
        is_baseline=bool(parsed["is_baseline"]),
    )


def read_rows(path: Path) -> list[LabInput]:
    """The rows of ``path``; every unparseable cell is reported (row, counting the header as row 1,
    and column) and nothing is returned when any is bad."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            fail(
                f"{path}: the header lacks the column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})"
            )
        items: list[LabInput] = []
        problems: list[str] = []
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_FILE_ROWS:
                fail(f"{path}: more than {MAX_FILE_ROWS:,} rows; split the file")
            try:
                items.append(_parse_row(row))
            except InvalidInput as exc:
                problems.append(f"row {number}, column {exc.field}: {exc.message}")
    if problems:
        _refuse(problems, len(problems))
    return items


def _refuse(problems: list[str], bad_rows: int) -> None:
    from trialdesk.services.lab_import import MAX_PROBLEMS

    for problem in problems[:MAX_PROBLEMS]:
        err_console.print(f"  {problem}", highlight=False, soft_wrap=True, markup=False)
    fail(f"{bad_rows} bad row(s): nothing imported")


def _row_and_column(field: str | None) -> str:
    """``row 12.value`` -> ``row 12, column value``."""
    where, _, column = (field or "").rpartition(".")
    return f"{where}, column {column}" if where else field or "file"


def _row_label(index: int) -> str:
    """Item ``index`` as the file's row number (the header is row 1)."""
    return f"row {index + 2}"


def _sign_in(username: str) -> str:
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.config import get_settings
    from trialdesk.services.auth import LoginPolicy, login, record_login_failure

    password = os.environ.get("TRIALDESK_PASSWORD") or typer.prompt(
        f"password for {username}", hide_input=True
    )
    settings = get_settings()
    policy = LoginPolicy(settings.login_lockout_attempts, settings.login_lockout_minutes)
    engine = engine_from_settings()
    try:
        with unit_of_work(engine, username) as session:
            return login(session, username, password, settings.token_ttl_minutes, policy).token
    except NotAuthenticated:
        with unit_of_work(engine, username) as session:
            record_login_failure(session, username, "cli", policy)
        raise
    finally:
        engine.dispose()


@app.command("import")
def import_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. scr-escc-01"),
    screening_number: str = typer.Argument(..., help="The subject's screening number"),
    file: Path = typer.Argument(..., help="CSV: test,value,unit,lln,uln,collected_date,is_baseline"),
    user: str = typer.Option(..., "--user", "-u", envvar="TRIALDESK_USER", help="Your trialdesk username"),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON (no progress bar)"),
) -> None:
    """Import a subject's lab results from CSV: all rows checked first, stored in bounded audited
    transactions (all or nothing), then graded; prints the CTCAE grade proposals by grade."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.auth import logout
    from trialdesk.services.lab_import import ImportRefused, import_results

    protocol = get_protocol(protocol_id)
    items = read_rows(file)
    engine = current_engine()
    token = None
    try:
        token = _sign_in(user)
        with demo_progress(disable=json_output) as progress:
            result = import_results(
                engine,
                token,
                protocol,
                screening_number,
                items,
                label=lambda i: f"row {i + 2}",
                progress=progress,
            )
    except ImportRefused as refused:
        _refuse([f"{_row_and_column(p.field)}: {p.message}" for p in refused.problems], refused.bad_rows)
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    finally:
        if token is not None:
            with unit_of_work(engine, user) as session:
                logout(session, token)
        engine.dispose()
    if json_output:
        print_json(asdict(result))
        return
    grades = ", ".join(f"grade {g}: {n}" for g, n in result.by_grade.items()) or "none"
    console.print(
        f"[green]{result.stored} lab results imported[/] for {screening_number} in "
        f"{result.transactions} transaction(s); {result.proposals} CTCAE proposals ({grades}); "
        f"{result.proposable} to review"
    )
