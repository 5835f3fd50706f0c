"""``trialdesk protocol``: list, show and validate protocol specification files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from trialdesk.entrypoints.cli.output import console, fail, print_json

if TYPE_CHECKING:
    from trialdesk.domain.forms import FormDefinition
    from trialdesk.domain.protocol import Protocol
    from trialdesk.protocols.loader import ProtocolRegistry

app = typer.Typer(
    help="Protocol specification files: list, show, validate, case report forms.", no_args_is_help=True
)

JSON_OPTION = typer.Option(False, "--json", help="Machine-readable JSON output")


def registry() -> ProtocolRegistry:
    """Load the built-in protocols plus TRIALDESK_PROTOCOL_DIRS; a bad file is a clean error."""
    from trialdesk.config import get_settings
    from trialdesk.protocols import ProtocolFileError, load_registry

    try:
        return load_registry(get_settings().protocol_dirs)
    except ProtocolFileError as exc:
        fail(str(exc))


def get_protocol(protocol_id: str) -> Protocol:
    """The protocol with this id, or a clean error naming the known ids."""
    try:
        return registry().get(protocol_id)
    except KeyError as exc:
        fail(str(exc.args[0]))


def protocol_summary(protocol: Protocol) -> dict[str, Any]:
    """The one-line facts of a protocol, as shown by ``protocol list``."""
    return {
        "id": protocol.id,
        "version": protocol.version,
        "short_title": protocol.short_title,
        "design": protocol.design.type,
        "centres": protocol.design.centres,
        "target_enrolment": protocol.design.target_enrolment.value,
        "phases": [p.id for p in protocol.design.phases],
        "arms": [a.id for a in protocol.design.arms],
        "criteria": len(protocol.eligibility.criteria),
    }


@app.command("list")
def list_command(json_output: bool = JSON_OPTION) -> None:
    """List the loaded protocols."""
    summaries = [protocol_summary(p) for p in registry()]
    if json_output:
        print_json(summaries)
        return
    table = Table(title="Protocols")
    for column in ("id", "version", "title", "design", "centres", "target", "criteria"):
        table.add_column(column, no_wrap=column in ("id", "design"))
    for s in summaries:
        table.add_row(
            s["id"],
            s["version"],
            s["short_title"],
            s["design"],
            s["centres"],
            str(s["target_enrolment"]),
            str(s["criteria"]),
        )
    console.print(table)


@app.command("show")
def show_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"), json_output: bool = JSON_OPTION
) -> None:
    """Show a protocol: design, arms, interventions, criteria, endpoints, rules, open parameters."""
    protocol = get_protocol(protocol_id)
    if json_output:
        print_json(protocol.model_dump(mode="json"))
        return
    _render_protocol(protocol)


@app.command("forms")
def forms_command(
    protocol_id: str = typer.Argument(..., help="Protocol id"), json_output: bool = JSON_OPTION
) -> None:
    """List the protocol's case report forms and their fields (type, unit, range, codes, show_if)."""
    protocol = get_protocol(protocol_id)
    if json_output:
        print_json([form.model_dump(mode="json") for form in protocol.forms])
        return
    if not protocol.forms:
        console.print(f"protocol {protocol.id} declares no case report forms")
    for form in protocol.forms:
        console.print(_form_table(form))


def _form_table(form: FormDefinition) -> Table:
    where = ", ".join(form.visits) if form.visits else "log (no visit)"
    repeats = ", repeating" if form.repeating else ""
    table = Table(title=escape(f"{form.id}: {form.title} [{where}{repeats}] ({form.provenance})"))
    for column in ("field", "label", "type", "unit", "range / codes", "required", "shown if"):
        table.add_column(column, overflow="fold", no_wrap=column == "field")
    for item in form.fields:
        if item.codes:
            allowed = ", ".join(c.code for c in item.codes)
        else:
            allowed = item.range.describe() if item.range else (item.pattern or "")
        table.add_row(
            item.id,
            item.label,
            item.type,
            item.unit or "",
            escape(allowed),
            "yes" if item.required else "",
            escape(item.show_if or ""),
        )
    return table


@app.command("validate")
def validate_command(
    file: Path = typer.Argument(..., help="Protocol YAML file to check"), json_output: bool = JSON_OPTION
) -> None:
    """Validate a protocol file; exit 1 with every problem listed (file, path in file, reason)."""
    from trialdesk.protocols import ProtocolFileError, load_protocol_file

    try:
        protocol = load_protocol_file(file)
    except ProtocolFileError as exc:
        if json_output:
            print_json(
                {
                    "file": exc.file,
                    "valid": False,
                    "errors": [{"location": i.location, "message": i.message} for i in exc.issues],
                }
            )
        else:
            console.print(f"[bold red]invalid[/] {exc.file}")
            for issue in exc.issues:
                where = escape(issue.location or "(file)")
                console.print(f"  [red]-[/] [bold]{where}[/]: {escape(issue.message)}", highlight=False)
        raise typer.Exit(1) from None
    if json_output:
        print_json({"file": str(file), "valid": True, "id": protocol.id, "version": protocol.version})
    else:
        console.print(f"[bold green]valid[/] {file}: protocol '{protocol.id}' version {protocol.version}")


def _render_protocol(p: Protocol) -> None:
    console.print(f"[bold]{p.title}[/]\n{p.id} v{p.version} · {p.development_phase} · {p.condition}")
    console.print(p.summary.strip(), highlight=False)
    tree = Tree(f"[bold]Design[/]: {p.design.type}, {p.design.centres}-centre")
    for phase in p.design.phases:
        size = phase.target_size
        n = str(size.min) if size.min == size.max else f"{size.min}-{size.max}"
        node = tree.add(f"phase [cyan]{phase.id}[/] {phase.name} ({phase.kind}, n={n})")
        for arm_id in phase.arms:
            arm = p.arm(arm_id)
            node.add(f"arm [green]{arm.id}[/] {arm.label}: {', '.join(arm.interventions)}")
        if phase.allocation:
            ratio = ":".join(str(w) for w in phase.allocation.ratio.values())
            node.add(f"allocation {phase.allocation.method} {ratio}, blocks {phase.allocation.block_sizes}")
    for gate in p.design.gates:
        tree.add(f"gate {gate.from_phase} -> {gate.to_phase}: rules {gate.stopping_rules}, signed review")
    console.print(tree)
    criteria = Table(title="Eligibility criteria")
    for column in ("id", "source", "rule", "text"):
        criteria.add_column(column, overflow="fold")
    for c in p.eligibility.criteria:
        criteria.add_row(c.id, c.source, c.rule.type, c.text)
    console.print(criteria)
    endpoints = Table(title="Endpoints")
    for column in ("id", "role", "type", "definition"):
        endpoints.add_column(column, overflow="fold")
    for e in p.endpoints:
        endpoints.add_row(e.id, e.role, e.type, e.definition)
    console.print(endpoints)
    for rule in p.stopping_rules:
        console.print(
            f"[bold]Stopping rule[/] {rule.id}: {rule.description} (>= {rule.threshold} -> {rule.action})"
        )
    defaults = Table(title="Parameters left open by the seed (documented defaults)")
    for column in ("path", "value", "rationale"):
        defaults.add_column(column, overflow="fold")
    for path, param in p.open_parameters():
        defaults.add_row(path, f"{param.value} {param.unit or ''}".strip(), param.rationale)
    console.print(defaults)
