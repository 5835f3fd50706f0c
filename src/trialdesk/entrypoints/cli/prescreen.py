"""``trialdesk prescreen``: pre-screen a registry extract (FHIR Bulk Data or Parquet/CSV) for a protocol.

Every computable criterion is evaluated for every patient at once (the columnar engine,
:mod:`trialdesk.domain.eligibility.columnar`); the command prints the exclusion funnel in protocol
order and the candidates (not excluded so far, with the criteria still needing data or an
attestation). It reads files only: no database, no trial data written (pre-screening happens before
consent). ``--out`` writes the candidates as CSV or Parquet, mode 0600.

Exit codes: 0 done, 2 error (unknown protocol, malformed file: the message names file, line, field).
"""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from trialdesk.entrypoints.cli.output import console, err_console, fail, print_json, write_private
from trialdesk.entrypoints.cli.protocol import get_protocol

if TYPE_CHECKING:
    import polars as pl

    from trialdesk.domain.eligibility.columnar import FunnelStep, Registry

SHOWN_CANDIDATES = 20
"""Candidates listed in the Rich output (all of them go to --out and --json)."""


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of: {value!r} is not a date (use YYYY-MM-DD)")


def _read(source: Path, quiet: bool) -> Registry:
    from trialdesk.adapters.bulk_fhir import BulkDataError, read_source, source_size

    try:
        if quiet or not source.is_dir():
            return read_source(source)
        total = source_size(source)
        ndjson = any(source.glob("*.ndjson"))
        columns = [TextColumn("reading {task.description}"), BarColumn()]
        columns += [DownloadColumn()] if ndjson else [TextColumn("{task.completed}/{task.total} tables")]
        with Progress(*columns, TimeRemainingColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task(source.name, total=total)
            return read_source(source, lambda n: bar.advance(task, n))
    except BulkDataError as exc:
        fail(str(exc))


def _write_candidates(path: Path, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    if path.suffix == ".csv":
        frame.write_csv(buffer)
    elif path.suffix == ".parquet":
        frame.write_parquet(buffer)
    else:
        fail(f"--out: {path.name}: use a .csv or .parquet file name")
    try:
        write_private(path, buffer.getvalue())
    except OSError as exc:
        fail(f"--out: cannot write {path}: {exc.strerror}")


def prescreen_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. ivo-shfrt-2l"),
    source: Path = typer.Argument(..., help="FHIR Bulk Data export folder (*.ndjson) or extract folder"),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output"),
    out: Path | None = typer.Option(None, "--out", help="Write the candidates to FILE.csv or FILE.parquet"),
    as_of: str | None = typer.Option(None, "--as-of", help="Evaluation date YYYY-MM-DD (default: today)"),
) -> None:
    """Pre-screen every patient of SOURCE against PROTOCOL_ID: exclusion funnel and candidates."""
    from trialdesk.domain.eligibility.columnar import candidates, evaluate_registry, funnel

    if out is not None and out.suffix not in (".csv", ".parquet"):
        fail(f"--out: {out.name}: use a .csv or .parquet file name")
    on = _as_of(as_of)
    protocol = get_protocol(protocol_id)
    registry = _read(source, json_output)
    started = time.perf_counter()
    with err_console.status(f"evaluating {registry.size:,} patients", spinner="dots"):
        statuses = evaluate_registry(protocol, registry, on)
        steps = funnel(protocol, statuses)
        found = candidates(protocol, statuses)
    seconds = time.perf_counter() - started
    if out is not None:
        _write_candidates(out, found)
    summary: dict[str, Any] = {
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "as_of": on.isoformat(),
        "source": source.name,
        "patients": registry.size,
        "candidates": found.height,
        "seconds": round(seconds, 3),
    }
    if json_output:
        listed = {"candidates_file": str(out)} if out is not None else {"candidate_list": found.to_dicts()}
        print_json({**summary, "funnel": [vars(s) for s in steps], **listed})
        return
    _render(summary, steps, found, out)


def _render(summary: dict[str, Any], steps: list[FunnelStep], found: pl.DataFrame, out: Path | None) -> None:
    table = Table(
        title=f"{summary['protocol_id']} v{summary['protocol_version']} · {summary['patients']:,} patients "
        f"of {summary['source']} · as of {summary['as_of']}"
    )
    table.add_column("criterion", no_wrap=True)
    for name in ("excluded", "left", "not met", "unknown", "attest."):
        table.add_column(name, justify="right", no_wrap=True)
    for s in steps:
        label = s.criterion_id if s.computable else f"{s.criterion_id} *"
        counts = (s.excluded, s.remaining, s.not_met, s.unknown, s.needs_attestation)
        table.add_row(label, *(f"{n:,}" for n in counts))
    table.caption = "excluded: not met here, met or open on every earlier criterion; * checked at screening"
    console.print(table)
    shown = Table(title=f"candidates: {found.height:,} (first {min(found.height, SHOWN_CANDIDATES)} shown)")
    for name in ("patient", "still needs data", "needs attestation"):
        shown.add_column(name, overflow="fold")
    for row in found.head(SHOWN_CANDIDATES).iter_rows(named=True):
        pending = (str(row[key] or "").replace(";", " ") for key in ("pending_data", "pending_attestation"))
        shown.add_row(row["patient_id"], *pending)
    console.print(shown)
    where = f"; all written to {out}" if out is not None else ""
    console.print(
        f"{found.height:,} candidates of {summary['patients']:,} patients in {summary['seconds']} s{where}"
    )
