"""``trialdesk recist``: RECIST 1.1 / iRECIST tumour response from a lesion-measurement file.

FILE follows ``schemas/recist-input.schema.json`` (documented in ``docs/recist.md``). The file is
checked against the JSON Schema, then against the RECIST rules by the domain engine; any problem
is a one-line error naming the field (exit code 2). ``--json`` prints the result in the format of
``schemas/recist-output.schema.json``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from trialdesk.entrypoints.cli.output import console, fail, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol

if TYPE_CHECKING:
    from trialdesk.domain.recist import ResponseReport, ResponseSettings
    from trialdesk.domain.recist.io import ResponseInput

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
INPUT_SCHEMA = "recist-input.schema.json"

RESPONSE_STYLES = {
    "CR": "bold green",
    "iCR": "bold green",
    "PR": "green",
    "iPR": "green",
    "SD": "yellow",
    "iSD": "yellow",
    "NON-CR/NON-PD": "yellow",
    "NON-iCR/NON-iUPD": "yellow",
    "PD": "bold red",
    "iCPD": "bold red",
    "iUPD": "magenta",
    "NE": "dim",
    "MISSING": "dim",
}


class RulesChoice(StrEnum):
    """Response criteria the command can apply."""

    recist = "recist1.1"
    irecist = "irecist"


def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``trialdesk/schemas``."""
    text = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_error_path(error: Any) -> str:
    """The location of a schema error as ``assessments[0].measurements.T1``."""
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(file)"


def schema_error_message(error: Any) -> str:
    """The schema's own description for a value matching none of its alternatives, else the message."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("oneOf", "anyOf", "enum") and description:
        return f"{error.instance!r} is not allowed; expected {description}"
    return str(error.message)


def read_input(file: Path) -> dict[str, Any]:
    """Load FILE and check it against the input JSON Schema; a problem is a clean error."""
    import jsonschema  # type: ignore[import-untyped, unused-ignore]

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read the file ({exc.__class__.__name__}: {exc})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{file}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    validator = jsonschema.Draft202012Validator(load_schema(INPUT_SCHEMA))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        fail(f"{file}: {schema_error_path(error)}: {schema_error_message(error)}")
    if not isinstance(data, dict):  # pragma: no cover - the schema requires an object
        fail(f"{file}: expected a JSON object")
    return data


def build_settings(document: ResponseInput, protocol_id: str | None) -> ResponseSettings:
    """Settings from the protocol (when given) and the file; the file's confirmation flag wins."""
    from trialdesk.domain.recist import ResponseSettings

    if protocol_id is not None:
        protocol = get_protocol(protocol_id)
        return ResponseSettings.from_tumour_assessment(
            protocol.tumour_assessment, confirmation_required=document.confirmation_required
        )
    if document.confirmation_required is None:
        return ResponseSettings()
    return ResponseSettings(confirmation_required=document.confirmation_required)


def recist_command(
    file: Path = typer.Argument(..., help="Tumour-assessment JSON file (schemas/recist-input.schema.json)"),
    rules: RulesChoice = typer.Option(RulesChoice.recist, "--rules", help="Response criteria"),
    protocol_id: str | None = typer.Option(
        None, "--protocol", help="Take confirmation, SD minimum and lesion counting from this protocol"
    ),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output"),
) -> None:
    """Derive RECIST 1.1 (or iRECIST) time-point and best overall responses from FILE."""
    from trialdesk.domain.recist import RecistInputError, assess_response
    from trialdesk.domain.recist.io import parse_response_input, report_to_dict

    data = read_input(file)
    try:
        document = parse_response_input(data)
        settings = build_settings(document, protocol_id)
        report = assess_response(document.baseline, document.assessments, settings, rules.value)
    except RecistInputError as exc:
        fail(f"{file}: {exc}")
    if json_output:
        print_json(report_to_dict(report))
    else:
        _render(report)


def _fmt(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def _styled(response: str | None) -> Text:
    return Text(response or "-", style=RESPONSE_STYLES.get(response or "", ""))


def _render(report: ResponseReport) -> None:
    settings = report.settings
    table = Table(
        title=f"{report.rules} · baseline {report.baseline_date} · sum {_fmt(report.baseline_sum_mm, ' mm')}",
        caption=(
            f"confirmation {'required' if settings.confirmation_required else 'not required'} "
            f"(>= {settings.confirmation_min_days} d) · SD minimum {settings.sd_min_days} d · "
            f"nodes: regional {settings.lesion_counting.regional_nodes}, "
            f"non-regional {settings.lesion_counting.non_regional_nodes}"
        ),
    )
    table.add_column("date", no_wrap=True)
    for column in ("sum mm", "vs base", "vs nadir", "target", "non-target", "new", "overall"):
        table.add_column(column, overflow="fold")
    for tp in report.time_points:
        table.add_row(
            str(tp.date),
            _fmt(tp.sum_mm) if tp.sum_mm is not None else f"({_fmt(tp.measured_sum_mm)})",
            _fmt(tp.pct_from_baseline, " %"),
            _fmt(tp.pct_from_nadir, " %"),
            _styled(tp.target),
            _styled(tp.non_target),
            tp.new_lesion,
            _styled(tp.overall),
        )
    console.print(table)
    for tp in report.time_points:
        for note in tp.notes:
            console.print(f"  {tp.date}: {note}", highlight=False)
    best = Text("Best overall response: ")
    best.append(report.best_overall_response, style=RESPONSE_STYLES.get(report.best_overall_response, "bold"))
    if report.best_overall_response_date is not None:
        best.append(f" (first met {report.best_overall_response_date})")
    if report.confirmed is not None:
        best.append(" confirmed" if report.confirmed else " not confirmed")
    console.print(best)
    console.print(f"Response start: {report.response_start_date or '-'}", highlight=False)
    console.print(f"Progression date (PFS): {report.progression_date or '-'}", highlight=False)
    if report.unconfirmed_progression_date is not None:
        console.print(
            f"Unconfirmed progression (iUPD): {report.unconfirmed_progression_date}", highlight=False
        )
    if report.recist11 is not None:
        console.print(
            f"RECIST 1.1 in parallel: best {report.recist11.best_overall_response}, "
            f"progression {report.recist11.progression_date or '-'}",
            highlight=False,
        )
