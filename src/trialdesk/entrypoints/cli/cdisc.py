"""``trialdesk export sdtm|adam PROTOCOL_ID --out DIR``: CDISC SDTM / ADaM datasets and Define-XML 2.1.

Registered by :mod:`trialdesk.entrypoints.cli.export`. The service and its writers (polars,
pyreadstat, lxml) are imported inside the commands, so the CLI starts without them.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trialdesk.entrypoints.cli.output import console, fail, fail_with, print_json, write_private

if TYPE_CHECKING:
    from trialdesk.services.cdisc_export import CdiscPackage, Kind

CUTOFF_HELP = "Data cut-off date YYYY-MM-DD (default: today)"
LOCK_HELP = "Export at this active cut-off or database lock's cut-off (refused if the data changed)"
FORMAT_HELP = "xpt (SAS XPORT v5), json (CDISC Dataset-JSON 1.1) or csv"


def _write_all(out: Path, files: dict[str, bytes]) -> None:
    """Write every file (mode 0600) into a temporary folder beside ``out``, then move each into ``out``:
    a failure leaves no half-written dataset behind."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as staging:
        for name, content in files.items():
            write_private(Path(staging) / name, content)
        for name in files:
            os.replace(Path(staging) / name, out / name)


def _run(
    kind: Kind, protocol_id: str, out: Path, cutoff: str | None, lock: int | None, fmt: str, quiet: bool
) -> None:
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.entrypoints.cli.database import current_engine, cutoff_or_lock
    from trialdesk.entrypoints.cli.protocol import get_protocol
    from trialdesk.services.cdisc_export import export_package
    from trialdesk.services.errors import TRIAL_ERRORS

    protocol = get_protocol(protocol_id)
    if fmt not in ("xpt", "json", "csv"):
        fail(f"--format: '{fmt}' is not one of xpt, json, csv")
    cutoff_date = cutoff_or_lock(cutoff, lock)
    engine = current_engine()
    try:
        with (
            console.status(f"Building the {kind.upper()} datasets", spinner="dots")
            if not quiet
            else nullcontext(),
            unit_of_work(engine, f"cli:{getpass.getuser()}") as session,
        ):
            package = export_package(session, None, protocol, kind, fmt, cutoff=cutoff_date, lock_id=lock)
    except TRIAL_ERRORS as exc:
        fail_with(exc)
    finally:
        engine.dispose()
    _write_all(out, package.files)
    _report(package, out, quiet)


def _report(package: CdiscPackage, out: Path, as_json: bool) -> None:
    summary = {
        "kind": package.kind,
        "format": package.fmt,
        "cutoff": package.cutoff.isoformat(),
        "lock": package.lock_id,
        "folder": str(out),
        "datasets": {name: len(d.rows) for name, d in package.datasets.items()},
        "files": sorted(package.files),
        "not_exported": package.problems,
    }
    if as_json:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"{package.kind.upper()} at cut-off {package.cutoff}")
    table.add_column("dataset")
    table.add_column("label")
    table.add_column("records", justify="right")
    for name, dataset in package.datasets.items():
        table.add_row(name, dataset.label, str(len(dataset.rows)))
    console.print(table)
    for problem in package.problems:
        console.print(f"[yellow]not exported[/]: {problem}")
    console.print(f"[green]{len(package.files)} files written[/] to {out} (define.xml describes them)")


def sdtm_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    out: Path = typer.Option(..., "--out", help="Folder to write the datasets and define.xml into"),
    cutoff: str = typer.Option(None, "--cutoff", help=CUTOFF_HELP),
    lock: int = typer.Option(None, "--lock", help=LOCK_HELP),
    fmt: str = typer.Option("xpt", "--format", help=FORMAT_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Write the SDTM domains (DM, DS, EX, AE, SUPPAE, LB, VS, MH, CM, TU, TR, RS, TA, TE, TV, TI, TS) and
    their Define-XML 2.1 (files readable by you only; the export is audited as a read)."""
    _run("sdtm", protocol_id, out, cutoff, lock, fmt, json_output)


def adam_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    out: Path = typer.Option(..., "--out", help="Folder to write the datasets and define.xml into"),
    cutoff: str = typer.Option(None, "--cutoff", help=CUTOFF_HELP),
    lock: int = typer.Option(None, "--lock", help=LOCK_HELP),
    fmt: str = typer.Option("xpt", "--format", help=FORMAT_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Write the ADaM datasets (ADSL, ADAE, ADLB, ADRS, ADTTE, ADEX) and their Define-XML 2.1 (files
    readable by you only; the export is audited as a read)."""
    _run("adam", protocol_id, out, cutoff, lock, fmt, json_output)
