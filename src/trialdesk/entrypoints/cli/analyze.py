"""``trialdesk analyze``: endpoint analyses from data files.

``trialdesk analyze survival FILE.csv --time COL --event COL [--group COL] [--strata COL]`` reports,
per group, n, events and the Kaplan-Meier median with its Brookmeyer-Crowley CI; with ``--group``,
the (stratified) log-rank test and, for exactly two groups, the Cox hazard ratio of the second
level against the first (levels sorted, numerically when all are numbers). With more than two
groups the log-rank test has k - 1 df and no single hazard ratio is reported. All numbers come
from :mod:`trialdesk.stats` and equal R's survfit/survdiff/coxph (docs/statistics.md).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from trialdesk.entrypoints.cli.output import console, err_console, fail, print_json

if TYPE_CHECKING:
    import numpy as np

app = typer.Typer(help="Endpoint analyses: survival (Kaplan-Meier, log-rank, Cox).", no_args_is_help=True)

TRUE_VALUES = {"1", "true"}
FALSE_VALUES = {"0", "false"}


class TiesOption(StrEnum):
    """Cox tie handling (R's coxph ``ties``)."""

    efron = "efron"
    breslow = "breslow"
    exact = "exact"


class ConfTypeOption(StrEnum):
    """Kaplan-Meier confidence-interval type (R's survfit ``conf.type``)."""

    log = "log"
    log_log = "log-log"
    plain = "plain"


@dataclass(frozen=True)
class SurvivalColumns:
    """Validated columns of a survival file: times, events and optional group/stratum labels."""

    time: np.ndarray[Any, np.dtype[np.float64]]
    event: np.ndarray[Any, np.dtype[np.bool_]]
    group: list[str] | None
    strata: list[str] | None


@app.command("survival")
def survival_command(
    file: Path = typer.Argument(..., help="CSV file with a header row, one subject per row"),
    time: str = typer.Option(..., "--time", help="Column of follow-up times (numbers >= 0)"),
    event: str = typer.Option(..., "--event", help="Column of event indicators: 1/0 or true/false"),
    group: str | None = typer.Option(None, "--group", help="Column of treatment groups to compare"),
    strata: str | None = typer.Option(
        None, "--strata", help="Column of strata (stratified log-rank and Cox)"
    ),
    ties: TiesOption = typer.Option(TiesOption.efron, "--ties", help="Cox tie handling"),
    conf_type: ConfTypeOption = typer.Option(ConfTypeOption.log, "--conf-type", help="Kaplan-Meier CI type"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON output"),
) -> None:
    """Kaplan-Meier medians, log-rank test and Cox hazard ratio from FILE."""
    from trialdesk.stats.survival_data import SurvivalDataError

    columns = read_survival_csv(file, time=time, event=event, group=group, strata=strata)
    try:
        result, notes = analyse_survival(columns, ties=ties.value, conf_type=conf_type.value)
    except SurvivalDataError as exc:
        fail(str(exc))
    if as_json:
        print_json(result)
        for note in notes:
            err_console.print(f"note: {note}", highlight=False)
        return
    _render(result, notes, group=group, strata=strata, ties=ties.value, conf_type=conf_type.value)


# --------------------------------------------------------------------------- reading the file


def read_survival_csv(
    path: Path, *, time: str, event: str, group: str | None = None, strata: str | None = None
) -> SurvivalColumns:
    """Read and validate the named columns; any problem exits with an error naming row and value."""
    import numpy as np

    header, rows = _read_rows(path)
    wanted = {"--time": time, "--event": event, "--group": group, "--strata": strata}
    index: dict[str, int] = {}
    for option, name in wanted.items():
        if name is None:
            continue
        if name not in header:
            fail(f"{option}: column '{name}' not found in {path} (columns: {', '.join(header)})")
        index[option] = header.index(name)
    times = np.array([_parse_time(row[index["--time"]], n, time) for n, row in rows], dtype=np.float64)
    events = np.array([_parse_event(row[index["--event"]], n, event) for n, row in rows], dtype=np.bool_)
    labels = {
        option: [_parse_label(row[index[option]], n, option, wanted[option] or "") for n, row in rows]
        for option in ("--group", "--strata")
        if option in index
    }
    return SurvivalColumns(times, events, labels.get("--group"), labels.get("--strata"))


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(row number, fields)`` of the non-blank data rows (row 1 = first data row)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    except FileNotFoundError:
        fail(f"{path}: file not found")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        fail(f"{path}: cannot read the file as UTF-8 CSV ({exc})")
    if not lines:
        fail(f"{path}: the file is empty")
    header = [name.strip() for name in lines[0]]
    rows: list[tuple[int, list[str]]] = []
    for number, fields in enumerate(lines[1:], start=1):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            fail(f"{path}: row {number} has {len(fields)} fields but the header has {len(header)}")
        rows.append((number, fields))
    if not rows:
        fail(f"{path}: no data rows after the header")
    return header, rows


def _parse_time(raw: str, row: int, column: str) -> float:
    text = raw.strip()
    if not text:
        fail(f"--time column '{column}': row {row} is empty")
    try:
        value = float(text)
    except ValueError:
        fail(f"--time column '{column}': row {row} value '{text}' is not a number")
    if not math.isfinite(value):
        fail(f"--time column '{column}': row {row} value '{text}' is not a finite number")
    if value < 0:
        fail(f"--time column '{column}': row {row} value '{text}' is negative")
    return value


def _parse_event(raw: str, row: int, column: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    fail(f"--event column '{column}': row {row} value '{raw.strip()}' is not 1/0 or true/false")


def _parse_label(raw: str, row: int, option: str, column: str) -> str:
    text = raw.strip()
    if not text:
        fail(f"{option} column '{column}': row {row} is empty (drop or fill incomplete rows first)")
    return text


# --------------------------------------------------------------------------- the analysis


def sorted_levels(labels: list[str]) -> list[str]:
    """Distinct labels, numerically sorted when every label is a number, else alphabetically."""
    distinct = set(labels)
    try:
        return sorted(distinct, key=float)
    except ValueError:
        return sorted(distinct)


def analyse_survival(
    columns: SurvivalColumns, *, ties: str, conf_type: str
) -> tuple[dict[str, Any], list[str]]:
    """The ``--json`` document and human-readable notes (why a test was not reported)."""
    import numpy as np

    notes: list[str] = []
    if columns.group is None:
        levels, codes = ["all"], np.zeros(columns.time.size, dtype=np.intp)
    else:
        levels = sorted_levels(columns.group)
        lookup = {level: k for k, level in enumerate(levels)}
        codes = np.array([lookup[g] for g in columns.group], dtype=np.intp)
    groups = [_group_summary(columns, codes == k, level, conf_type) for k, level in enumerate(levels)]
    result: dict[str, Any] = {"groups": groups, "logrank": None, "cox": None}
    if columns.group is None:
        return result, notes
    if len(levels) < 2:
        notes.append(f"only one group ({levels[0]}): no log-rank test or hazard ratio")
        return result, notes
    if not columns.event.any():
        notes.append("no events in the file: no log-rank test or hazard ratio")
        return result, notes
    from trialdesk.stats.logrank import logrank_test  # lazy: SciPy loads only when used

    lr = logrank_test(columns.time, columns.event, codes, strata=columns.strata)
    result["logrank"] = {"chisq": lr.chisq, "df": lr.df, "p": _number(lr.p)}
    if len(levels) > 2:
        notes.append(
            f"{len(levels)} groups: the log-rank test has {len(levels) - 1} df; no single hazard ratio "
            "is reported (fit a Cox model with the group as a factor for pairwise ratios)"
        )
        return result, notes
    result["cox"] = _two_group_cox(columns, codes, levels, ties, notes)
    return result, notes


def _group_summary(columns: SurvivalColumns, mask: Any, level: str, conf_type: str) -> dict[str, Any]:
    from trialdesk.stats.kaplan_meier import kaplan_meier  # lazy: SciPy loads only when used

    km = kaplan_meier(columns.time[mask], columns.event[mask], conf_type=conf_type)  # type: ignore[arg-type]
    median = km.median
    return {
        "group": level,
        "n": km.n,
        "events": km.events,
        "median": median.time,
        "median_ci": [median.lower, median.upper],
    }


def _two_group_cox(
    columns: SurvivalColumns, codes: Any, levels: list[str], ties: str, notes: list[str]
) -> dict[str, Any] | None:
    without_events = [level for k, level in enumerate(levels) if not columns.event[codes == k].any()]
    if without_events:
        notes.append(f"no events in group {' and '.join(without_events)}: the hazard ratio is not estimable")
        return None
    from trialdesk.stats.cox import cox_ph  # lazy: SciPy loads only when used

    fit = cox_ph(codes.astype(float), columns.time, columns.event, strata=columns.strata, ties=ties)  # type: ignore[arg-type]
    if not fit.converged:
        notes.append("the Cox model did not converge: no hazard ratio reported")
        return None
    if fit.maybe_infinite[0]:
        notes.append("the Cox likelihood is monotone (the hazard ratio may be 0 or infinite): none reported")
        return None
    return {
        "coef": float(fit.coef[0]),
        "se": float(fit.se[0]),
        "hr": float(fit.hr[0]),
        "hr_ci": [float(fit.hr_lower[0]), float(fit.hr_upper[0])],
        "p": float(fit.p[0]),
        "reference": levels[0],
        "comparison": levels[1],
    }


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


# --------------------------------------------------------------------------- rendering


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "NR"
    return f"{value:.{digits}g}"


def _render(
    result: dict[str, Any],
    notes: list[str],
    *,
    group: str | None,
    strata: str | None,
    ties: str,
    conf_type: str,
) -> None:
    km = Table(title=f"Kaplan-Meier median (95% CI, {conf_type})", caption="NR = not reached")
    for name in (group or "group", "n", "events", "median", "95% CI"):
        km.add_column(name, justify="left" if name == (group or "group") else "right")
    for row in result["groups"]:
        lo, hi = row["median_ci"]
        km.add_row(
            row["group"], str(row["n"]), str(row["events"]), _fmt(row["median"]), f"{_fmt(lo)} - {_fmt(hi)}"
        )
    console.print(km)
    if result["logrank"] is not None:
        lr = result["logrank"]
        title = "Log-rank test" + (f" (stratified by {strata})" if strata else "")
        table = Table(title=title)
        for name in ("chi-square", "df", "p"):
            table.add_column(name, justify="right")
        table.add_row(_fmt(lr["chisq"]), str(lr["df"]), _fmt(lr["p"]))
        console.print(table)
    if result["cox"] is not None:
        cox = result["cox"]
        title = f"Cox proportional hazards (ties={ties}" + (f", stratified by {strata})" if strata else ")")
        table = Table(title=title)
        for name in ("comparison", "coef", "se", "HR", "95% CI", "p"):
            table.add_column(name, justify="left" if name == "comparison" else "right")
        lo, hi = cox["hr_ci"]
        table.add_row(
            f"{cox['comparison']} vs {cox['reference']} (reference)",
            _fmt(cox["coef"]),
            _fmt(cox["se"]),
            _fmt(cox["hr"]),
            f"{_fmt(lo)} - {_fmt(hi)}",
            _fmt(cox["p"]),
        )
        console.print(table)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
