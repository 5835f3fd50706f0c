"""``trialdesk demo``: run a SYNTHETIC trial end to end through the API and write its report."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from trialdesk.entrypoints.cli.output import console, fail, print_json, write_private
from trialdesk.entrypoints.cli.protocol import get_protocol

if TYPE_CHECKING:
    from trialdesk.entrypoints.demo import ProgressCallback


@contextmanager
def demo_progress(*, disable: bool = False) -> Iterator[ProgressCallback]:
    """A Rich progress bar per stage of a demo build; yields the callback the demo calls."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        yield report


def demo_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"),
    subjects: int = typer.Option(None, help="Synthetic subjects (default: the protocol's target enrolment)"),
    seed: int = typer.Option(2026, help="Random seed (same seed, same trial)"),
    fmt: str = typer.Option("pdf", "--format", help="pdf or html"),
    out: Path = typer.Option(None, "--out", help="Report file (default: demo-report-<protocol>.<format>)"),
    workdir: Path = typer.Option(None, help="Folder for the demo database (default: a temporary folder)"),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable summary"),
) -> None:
    """Screen, enrol, randomize, follow and report a SYNTHETIC trial through the real API."""
    from trialdesk.entrypoints.demo import run_demo

    protocol = get_protocol(protocol_id)
    if fmt not in ("pdf", "html"):
        fail(f"--format: '{fmt}' is not one of pdf, html")
    count = subjects or protocol.design.target_enrolment.value
    if not 2 <= count <= 1000:
        fail(f"--subjects: {count} is outside 2-1000")
    folder = workdir or Path(tempfile.mkdtemp(prefix="trialdesk-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    with demo_progress(disable=json_output) as report:
        try:
            result = run_demo(protocol, subjects=count, seed=seed, workdir=folder, fmt=fmt, progress=report)
        except RuntimeError as exc:
            fail(str(exc))
    target = out or Path(f"demo-report-{protocol.id}.{fmt}")
    write_private(target, result.report)
    summary = {
        "protocol": result.protocol_id,
        "cutoff": result.cutoff.isoformat(),
        "screened": result.screened,
        "enrolled": result.enrolled,
        "randomized": result.randomized,
        "arms": result.arms,
        "tumour_assessments": result.assessments,
        "adverse_events": result.adverse_events,
        "audit_rows": result.audit_rows,
        "audit_chain_ok": result.audit_ok,
        "report": str(target),
        "database_url": result.database_url,
    }
    if json_output:
        print_json(summary)
        return
    console.print(f"[bold]SYNTHETIC demo trial {protocol.id}[/] (data cut-off {result.cutoff})")
    for key, value in summary.items():
        console.print(f"  {key}: {value}")
