"""``trialdesk rt``: radiotherapy radiobiology (BED and EQD2 by the linear-quadratic model, optionally
corrected for tumour repopulation over the overall treatment time; :mod:`trialdesk.domain.radiobiology`)."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.table import Table

from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.radiobiology import (
    ALPHA_BETA_TUMOUR_GY,
    FOWLER_SQUAMOUS,
    Course,
    DoseSummary,
    TimeCorrectedDose,
    TimeFactor,
    summarise,
    time_corrected,
)
from trialdesk.entrypoints.cli.database import JSON_OPTION
from trialdesk.entrypoints.cli.output import console, fail, print_json

app = typer.Typer(help="Radiotherapy: dose arithmetic of fractionated courses.", no_args_is_help=True)

OPTION_OF_FIELD = {
    "fractions": "--fractions",
    "dose_per_fraction_gy": "--dose-per-fraction",
    "alpha_beta": "--alpha-beta",
    "alpha": "--alpha",
    "tk": "--tk",
    "tpot": "--tpot",
    "overall_time_days": "--overall-time-days",
}
"""The command-line option behind each field the radiobiology module names in its errors."""


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


def _refuse(exc: ImplausibleValue) -> NoReturn:
    """Exit naming the option (and the field) at fault."""
    option = OPTION_OF_FIELD.get(exc.field)
    fail(f"{option} ({exc.field}): {exc.reason}" if option else f"{exc.field}: {exc.reason}")


def _courses(fractions: int | None, dose_per_fraction: float | None, course: list[str]) -> list[Course]:
    courses = [_course(c) for c in course]
    if (fractions is None) != (dose_per_fraction is None):
        fail("give both --fractions and --dose-per-fraction (or use --course N:D)")
    if fractions is not None and dose_per_fraction is not None:
        courses.insert(0, Course(fractions, dose_per_fraction))
    if not courses:
        fail("give --fractions and --dose-per-fraction, or one or more --course N:D")
    return courses


def _time_factor(
    overall_time: float | None, alpha: float | None, tk: float | None, tpot: float | None
) -> TimeFactor | None:
    """The repopulation parameters (Fowler 1989's defaults for those not given), or ``None`` without
    ``--overall-time-days``."""
    if overall_time is None:
        if any(v is not None for v in (alpha, tk, tpot)):
            fail("--alpha, --tk and --tpot correct for overall time: give --overall-time-days too")
        return None
    return TimeFactor(
        FOWLER_SQUAMOUS.alpha if alpha is None else alpha,
        FOWLER_SQUAMOUS.tk_days if tk is None else tk,
        FOWLER_SQUAMOUS.tpot_days if tpot is None else tpot,
    )


def _result(
    courses: list[Course],
    summary: DoseSummary,
    factor: TimeFactor | None,
    corrected: TimeCorrectedDose | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "courses": [
            {"fractions": c.fractions, "dose_per_fraction_gy": c.dose_per_fraction_gy} for c in courses
        ],
        "alpha_beta_gy": summary.alpha_beta_gy,
        "total_dose_gy": round(summary.total_dose_gy, 6),
        "bed_gy": round(summary.bed_gy, 6),
        "eqd2_gy": round(summary.eqd2_gy, 6),
    }
    if factor is not None and corrected is not None:
        result["time_correction"] = {
            "overall_time_days": corrected.overall_time_days,
            "alpha_per_gy": factor.alpha,
            "tk_days": factor.tk_days,
            "tpot_days": factor.tpot_days,
            "repopulation_bed_gy": round(corrected.repopulation_gy, 6),
        }
        result["bed_time_corrected_gy"] = round(corrected.bed_gy, 6)
        result["eqd2_time_corrected_gy"] = round(corrected.eqd2_gy, 6)
    return result


def _print_table(courses: list[Course], summary: DoseSummary, corrected: TimeCorrectedDose | None) -> None:
    """One row per course, a sum row for several; the time-corrected columns (when asked) apply to the
    whole treatment, so they fill its last row only."""
    alpha_beta = summary.alpha_beta_gy
    title = f"Linear-quadratic model, alpha/beta = {alpha_beta:g} Gy"
    if corrected is not None:
        title += f"; time-corrected over T = {corrected.overall_time_days:g} days"
    table = Table(title=title)
    columns = ["course", "total dose (Gy)", f"BED{alpha_beta:g} (Gy)", "EQD2 (Gy)"]
    if corrected is not None:
        columns += ["BED(T) (Gy)", "EQD2(T) (Gy)"]
    for column in columns:
        table.add_column(column, justify="right")
    rows = [(f"{c.fractions} x {c.dose_per_fraction_gy:g} Gy", summarise([c], alpha_beta)) for c in courses]
    if len(courses) > 1:
        rows.append(("sum", summary))
    for index, (label, one) in enumerate(rows):
        cells = [label, f"{one.total_dose_gy:.2f}", f"{one.bed_gy:.2f}", f"{one.eqd2_gy:.2f}"]
        if corrected is not None:
            last = index == len(rows) - 1
            cells += [f"{corrected.bed_gy:.2f}", f"{corrected.eqd2_gy:.2f}"] if last else ["", ""]
        table.add_row(*cells)
    console.print(table)


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
    overall_time: float | None = typer.Option(
        None,
        "--overall-time-days",
        help="Overall treatment time T in days from the first to the last fraction (35 weekday fractions "
        "from a Monday: 46); adds the BED/EQD2 corrected for repopulation (Fowler 1989)",
    ),
    alpha: float | None = typer.Option(
        None, "--alpha", help=f"alpha (Gy^-1) of the time correction [default {FOWLER_SQUAMOUS.alpha:g}]"
    ),
    tk: float | None = typer.Option(
        None, "--tk", help=f"Kick-off of repopulation Tk (days) [default {FOWLER_SQUAMOUS.tk_days:g}]"
    ),
    tpot: float | None = typer.Option(
        None, "--tpot", help=f"Potential doubling time Tpot (days) [default {FOWLER_SQUAMOUS.tpot_days:g}]"
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Total dose, BED and EQD2 (Gy) of one course or the sum of several (LQ model); with
    --overall-time-days also BED - ln2 (T - Tk) / (alpha Tpot) and its EQD2 (tumour alpha/beta only)."""
    try:
        courses = _courses(fractions, dose_per_fraction, course)
        factor = _time_factor(overall_time, alpha, tk, tpot)
        summary = summarise(courses, alpha_beta)
        corrected = (
            time_corrected(summary.bed_gy, alpha_beta, overall_time, factor)
            if factor is not None and overall_time is not None
            else None
        )
    except ImplausibleValue as exc:
        _refuse(exc)
    if json_output:
        print_json(_result(courses, summary, factor, corrected))
        return
    _print_table(courses, summary, corrected)
