"""``trialdesk rt``: radiotherapy radiobiology (BED and EQD2 by the linear-quadratic model)."""

from __future__ import annotations

import typer
from rich.table import Table

from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.radiobiology import ALPHA_BETA_TUMOUR_GY, Course, summarise
from trialdesk.entrypoints.cli.database import JSON_OPTION
from trialdesk.entrypoints.cli.output import console, fail, print_json

app = typer.Typer(help="Radiotherapy: dose arithmetic of fractionated courses.", no_args_is_help=True)


def _course(text: str) -> Course:
    """``N:D``: N fractions of D Gy."""
    fractions, sep, dose = text.partition(":")
    if not sep:
        fail(f"--course: '{text}' is not N:D (fractions:dose per fraction in Gy)")
    try:
        return Course(int(fractions), float(dose))
    except ValueError as exc:
        if isinstance(exc, ImplausibleValue):
            fail(f"--course {text}: {exc.field}: {exc.reason}")
        fail(f"--course: '{text}' is not N:D (fractions:dose per fraction in Gy)")


@app.command("dose")
def dose_command(
    fractions: int = typer.Option(None, "--fractions", help="Number of fractions of a single course"),
    dose_per_fraction: float = typer.Option(None, "--dose-per-fraction", help="Dose per fraction (Gy)"),
    course: list[str] = typer.Option(
        [], "--course", help="A course as N:D (N fractions of D Gy); repeat to sum mixed fractionations"
    ),
    alpha_beta: float = typer.Option(
        ALPHA_BETA_TUMOUR_GY, "--alpha-beta", help="alpha/beta (Gy): 10 tumour/early, 3 late effects"
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Total dose, BED and EQD2 (Gy) of one course or the sum of several (LQ model, no time factor)."""
    courses = [_course(c) for c in course]
    if (fractions is None) != (dose_per_fraction is None):
        fail("give both --fractions and --dose-per-fraction (or use --course N:D)")
    try:
        if fractions is not None and dose_per_fraction is not None:
            courses.insert(0, Course(fractions, dose_per_fraction))
        if not courses:
            fail("give --fractions and --dose-per-fraction, or one or more --course N:D")
        summary = summarise(courses, alpha_beta)
    except ImplausibleValue as exc:
        fail(f"{exc.field}: {exc.reason}")
    result = {
        "courses": [
            {"fractions": c.fractions, "dose_per_fraction_gy": c.dose_per_fraction_gy} for c in courses
        ],
        "alpha_beta_gy": summary.alpha_beta_gy,
        "total_dose_gy": round(summary.total_dose_gy, 6),
        "bed_gy": round(summary.bed_gy, 6),
        "eqd2_gy": round(summary.eqd2_gy, 6),
    }
    if json_output:
        print_json(result)
        return
    table = Table(title=f"Linear-quadratic model, alpha/beta = {alpha_beta:g} Gy")
    for column in ("course", "total dose (Gy)", f"BED{alpha_beta:g} (Gy)", "EQD2 (Gy)"):
        table.add_column(column, justify="right")
    for c in courses:
        one = summarise([c], alpha_beta)
        table.add_row(
            f"{c.fractions} x {c.dose_per_fraction_gy:g} Gy",
            f"{one.total_dose_gy:.2f}",
            f"{one.bed_gy:.2f}",
            f"{one.eqd2_gy:.2f}",
        )
    if len(courses) > 1:
        table.add_row(
            "sum", f"{summary.total_dose_gy:.2f}", f"{summary.bed_gy:.2f}", f"{summary.eqd2_gy:.2f}"
        )
    console.print(table)
