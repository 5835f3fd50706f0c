"""``trialdesk design``: sample-size and operating-characteristic calculators.

Thin layer over :mod:`trialdesk.stats`: parse options, call the calculator, render a Rich table (or
``--json``). A :class:`~trialdesk.stats.errors.DesignInputError` becomes a one-line error naming the
option. Methods and formulas: ``docs/design-calculators.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.table import Table

from trialdesk.entrypoints.cli.output import console, fail, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.stats.calibration_defaults import DEFAULT_SEED, DEFAULT_SIMS, SINGLE_ARM_METHODS
from trialdesk.stats.errors import DesignInputError

if TYPE_CHECKING:
    from trialdesk.stats.simon import SimonDesign
    from trialdesk.stats.simulation.calibration import OneSampleTypeOneError
    from trialdesk.stats.single_arm_survival import ConsistentPair, DropoutModel, SingleArmMethod
    from trialdesk.stats.survival_design import EventsMethod

# The calculators (SciPy, the simulator) are imported inside the commands that run them (issue 17).

app = typer.Typer(
    help="Trial design: Simon two-stage, survival sample sizes, stopping-rule and CI calculators.",
    no_args_is_help=True,
)

T = TypeVar("T")

JSON_OPTION = typer.Option(False, "--json", help="Machine-readable JSON output")
ALPHA_OPTION = typer.Option(0.05, "--alpha", help="Type I error in (0, 1)")
POWER_OPTION = typer.Option(0.8, "--power", help="Power in (0, 1)")
SINGLE_ARM_ALPHA_OPTION = typer.Option(0.05, "--alpha", help="One-sided type I error in (0, 1)")
SHAPE_OPTION = typer.Option(
    1.0, "--shape", help="Weibull shape k of the historical survival (Wu 2015; 1 = exponential)"
)
DROPOUT_MODEL_OPTION = typer.Option(
    "inflation",
    "--dropout-model",
    help="inflation: N / (1 - dropout); exponential: dropout hazard -ln(1 - dropout) / dropout-time",
)
DROPOUT_TIME_OPTION = typer.Option(
    12.0,
    "--dropout-time",
    help="Months by which the --dropout proportion has dropped out (exponential model)",
)

# calculator parameter -> CLI option, where the names differ
_OPTION_NAMES = {
    "hazard_ratio": "--hr",
    "allocation_ratio": "--allocation",
    "rate": "--rates",
    "design": "--p0/--p1",
}


def _option(parameter: str) -> str:
    return _OPTION_NAMES.get(parameter, "--" + parameter.replace("_", "-"))


def _run(call: Callable[[], T], options: dict[str, str] | None = None) -> T:
    """Run a calculator; its DesignInputError becomes a clean CLI error naming the option.

    ``options`` maps calculator parameter names to what the user wrote, where it is not the option
    spelled from the parameter name (see ``_OPTION_NAMES``).
    """
    try:
        return call()
    except DesignInputError as exc:
        name = (options or {}).get(exc.parameter, _option(exc.parameter))
        fail(f"{name}: {exc.reason}")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _floats(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        fail(f"{option}: expected comma-separated numbers, got {text!r}")
    if not values:
        fail(f"{option}: give at least one value")
    return values


def _ratio(text: str) -> float:
    """Parse an allocation ``a:b`` (treatment:control) or a plain number into a / b."""
    parts = text.split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        fail(f"--allocation: expected treatment:control such as 1:1 or 2:1, got {text!r}")
    if len(numbers) == 1:
        numbers.append(1.0)
    if len(numbers) != 2 or numbers[0] <= 0 or numbers[1] <= 0:
        fail(f"--allocation: expected two positive numbers treatment:control, got {text!r}")
    return numbers[0] / numbers[1]


def _check_choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        fail(f"{option}: must be one of {', '.join(choices)}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------- simon


def _simon_json(design: SimonDesign) -> dict[str, Any]:
    return {
        "r1": design.r1,
        "n1": design.n1,
        "r": design.r,
        "n": design.n,
        "en0": design.en0,
        "pet0": design.pet0,
        "alpha": design.alpha,
        "power": design.power,
    }


@app.command("simon")
def simon_command(
    p0: float = typer.Option(..., "--p0", help="Unacceptable (null) response rate"),
    p1: float = typer.Option(..., "--p1", help="Desirable response rate (> p0)"),
    alpha: float = ALPHA_OPTION,
    power: float = POWER_OPTION,
    nmax: int = typer.Option(100, "--nmax", help="Largest total sample size searched (clinfun default 100)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Simon (1989) optimal and minimax two-stage designs (exact search, as R clinfun::ph2simon).

    Stop after stage 1 if <= r1 of n1 respond; the treatment is promising if > r of n respond. alpha and
    power in the output are the attained values.
    """
    from trialdesk.stats.simon import simon_two_stage

    result = _run(lambda: simon_two_stage(p0, p1, alpha, power, nmax))
    if json_output:
        print_json({"optimal": _simon_json(result.optimal), "minimax": _simon_json(result.minimax)})
        return
    table = Table(title=f"Simon two-stage: p0={p0:g}, p1={p1:g}, alpha<{alpha:g}, power>{power:g}")
    for column in ("design", "r1/n1", "r/n", "EN(p0)", "PET(p0)", "alpha", "power", "EN(p1)"):
        table.add_column(column, justify="right")
    for label, d in (("optimal", result.optimal), ("minimax", result.minimax)):
        table.add_row(
            label,
            f"{d.r1}/{d.n1}",
            f"{d.r}/{d.n}",
            _fmt(d.en0, 2),
            _fmt(d.pet0, 3),
            _fmt(d.alpha),
            _fmt(d.power),
            _fmt(d.en1, 2),
        )
    console.print(table)


# ----------------------------------------------------------------------------------- two-arm survival


@app.command("two-arm-survival")
def two_arm_survival_command(
    hr: float = typer.Option(..., "--hr", help="Hazard ratio treatment/control (> 0, != 1)"),
    alpha: float = typer.Option(0.05, "--alpha", help="Total type I error for the sidedness given"),
    power: float = POWER_OPTION,
    sided: int = typer.Option(2, "--sided", help="1 or 2"),
    method: str = typer.Option("schoenfeld", "--method", help="schoenfeld or freedman"),
    allocation: str = typer.Option("1:1", "--allocation", help="Allocation treatment:control, e.g. 1:1, 2:1"),
    median_control: float | None = typer.Option(None, "--median-control", help="Control median (months)"),
    accrual: float | None = typer.Option(None, "--accrual", help="Uniform accrual duration (months)"),
    accrual_rate: float | None = typer.Option(
        None, "--accrual-rate", help="Patients per month, instead of --accrual (accrual duration is solved)"
    ),
    followup: float | None = typer.Option(
        None, "--followup", help="Follow-up after the last patient (months)"
    ),
    dropout: float = typer.Option(
        0.0, "--dropout", help="Dropout proportion by --dropout-time (rpact model)"
    ),
    dropout_time: float = DROPOUT_TIME_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Events (Schoenfeld 1983 / Freedman 1982) and patients (exponential model, as rpact).

    Patients need --median-control, --followup and --accrual (or --accrual-rate); otherwise only the
    events are computed and "patients" is null.
    """
    from trialdesk.stats.survival_design import two_arm_survival_design

    chosen = _check_choice(method, ("schoenfeld", "freedman"), "--method")
    events_method: EventsMethod = "freedman" if chosen == "freedman" else "schoenfeld"
    ratio = _ratio(allocation)
    result = _run(
        lambda: two_arm_survival_design(
            hr,
            alpha,
            power,
            sided,
            events_method,
            ratio,
            median_control,
            accrual,
            followup,
            accrual_rate,
            dropout,
            dropout_time,
        )
    )
    if json_output:
        print_json(
            {
                "events": result.events,
                "events_ceiling": result.events_ceiling,
                "patients": result.patients,
                "patients_ceiling": result.patients_ceiling,
            }
        )
        return
    table = Table(
        title=f"Two-arm survival ({events_method}): HR {hr:g}, {sided}-sided alpha {alpha:g}, power {power:g}"
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows: list[tuple[str, str]] = [
        ("allocation (treatment:control)", allocation),
        ("events", f"{result.events:.2f} -> {result.events_ceiling}"),
    ]
    if result.patients is not None:
        rows += [
            (
                "P(event) control / treatment",
                f"{_fmt(result.p_event_control)} / {_fmt(result.p_event_treatment)}",
            ),
            ("P(event) mean", _fmt(result.p_event_mean)),
            ("accrual (months)", _fmt(result.accrual, 2)),
            ("accrual rate (patients/month)", _fmt(result.accrual_rate, 2)),
            ("follow-up (months)", _fmt(result.followup, 2)),
            ("dropout", f"{result.dropout:g} by {result.dropout_time:g} months"),
            ("patients", f"{result.patients:.2f} -> {result.patients_ceiling}"),
        ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


# -------------------------------------------------------------------------------- single-arm survival


def _single_arm_method(method: str) -> SingleArmMethod:
    return (
        "wu2015"
        if _check_choice(method, ("wu2015", "exponential"), "--method") == "wu2015"
        else "exponential"
    )


def _dropout_model(model: str) -> DropoutModel:
    chosen = _check_choice(model, ("inflation", "exponential"), "--dropout-model")
    return "exponential" if chosen == "exponential" else "inflation"


@app.command("single-arm-survival")
def single_arm_survival_command(
    method: str = typer.Option("wu2015", "--method", help="wu2015 (one-sample log-rank) or exponential"),
    median0: float = typer.Option(..., "--median0", help="Historical-control median (months)"),
    median1: float | None = typer.Option(None, "--median1", help="Target median (months, > median0)"),
    hr: float | None = typer.Option(None, "--hr", help="Hazard ratio delta in (0, 1), instead of --median1"),
    accrual: float = typer.Option(..., "--accrual", help="Uniform accrual duration (months)"),
    followup: float = typer.Option(..., "--followup", help="Follow-up after the last patient (months)"),
    alpha: float = SINGLE_ARM_ALPHA_OPTION,
    power: float = POWER_OPTION,
    shape: float = SHAPE_OPTION,
    dropout: float = typer.Option(0.0, "--dropout", help="Dropout proportion in [0, 1)"),
    dropout_model: str = DROPOUT_MODEL_OPTION,
    dropout_time: float = DROPOUT_TIME_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Single-arm survival sample size: Wu (2015) one-sample log-rank or the exponential median test.

    alpha is one-sided. With --hr the target median is median0 * hr^(-1/shape). "events" is the
    required number (exponential) or the number expected under H1 (Wu 2015).
    """
    from trialdesk.stats.single_arm_survival import single_arm_survival_design

    chosen = _single_arm_method(method)
    model = _dropout_model(dropout_model)
    result = _run(
        lambda: single_arm_survival_design(
            chosen,
            median0,
            accrual,
            followup,
            alpha,
            power,
            median1=median1,
            hazard_ratio=hr,
            shape=shape,
            dropout=dropout,
            dropout_model=model,
            dropout_time=dropout_time,
        ),
        {"median1": "--median1/--hr"} if (median1 is None) == (hr is None) else None,
    )
    if json_output:
        print_json({"n": result.n, "n_ceiling": result.n_ceiling, "events": result.events})
        return
    table = Table(title=f"Single-arm survival ({chosen}): one-sided alpha {alpha:g}, power {power:g}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [
        ("median0 -> median1 (months)", f"{result.median0:g} -> {result.median1:.3f}"),
        ("hazard ratio", _fmt(result.hazard_ratio)),
        ("Weibull shape", f"{result.shape:g}"),
        ("accrual / follow-up (months)", f"{result.accrual:g} / {result.followup:g}"),
        ("P(event | H1)", _fmt(result.p_event)),
        ("events", _fmt(result.events, 2)),
        ("n before dropout", _fmt(result.n_before_dropout, 2)),
        ("dropout", f"{result.dropout:g} ({result.dropout_model})"),
        ("n", f"{result.n:.2f} -> {result.n_ceiling}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def _pair_json(pair: ConsistentPair) -> dict[str, float]:
    return {
        "median0": pair.median0,
        "median1": pair.median1,
        "hazard_ratio": pair.hazard_ratio,
        "events": pair.events,
        "n": pair.n,
        "solved_min": pair.unknown_low,
        "solved_max": pair.unknown_high,
    }


def _solver(
    n: int,
    method: SingleArmMethod,
    accrual: float,
    followup: float,
    alpha: float,
    power: float,
    known_is_median0: bool,
    known: float,
    shape: float,
    dropout: float,
    model: DropoutModel,
    dropout_time: float,
) -> Callable[[], ConsistentPair]:
    def solve() -> ConsistentPair:
        from trialdesk.stats.single_arm_survival import solve_single_arm

        return solve_single_arm(
            n,
            method,
            accrual,
            followup,
            alpha,
            power,
            median0=known if known_is_median0 else None,
            median1=None if known_is_median0 else known,
            shape=shape,
            dropout=dropout,
            dropout_model=model,
            dropout_time=dropout_time,
        )

    return solve


@app.command("solve-single-arm")
def solve_single_arm_command(
    n: int = typer.Option(37, "--n", help="Target sample size (including dropout)"),
    method: str = typer.Option("exponential", "--method", help="exponential or wu2015"),
    median0: str | None = typer.Option(None, "--median0", help="Known historical median(s), comma-separated"),
    median1: str | None = typer.Option(None, "--median1", help="Known target median(s), comma-separated"),
    accrual: float = typer.Option(..., "--accrual", help="Uniform accrual duration (months)"),
    followup: float = typer.Option(..., "--followup", help="Follow-up after the last patient (months)"),
    alpha: float = SINGLE_ARM_ALPHA_OPTION,
    power: float = POWER_OPTION,
    shape: float = SHAPE_OPTION,
    dropout: float = typer.Option(0.0, "--dropout", help="Dropout proportion in [0, 1)"),
    dropout_model: str = DROPOUT_MODEL_OPTION,
    dropout_time: float = DROPOUT_TIME_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Which medians give a single-arm trial of N patients? ("what assumptions give 37?")

    Give --median0 (the target median1 is solved) or --median1 (median0 is solved); several known
    values, comma-separated, give one pair each. Each pair's continuous size equals N; solved_min and
    solved_max bound the solved median over which the size rounded up is still N.

    JSON: {"n_target", "method", "solved_for", "alpha", "power", "accrual", "followup", "shape",
    "dropout", "dropout_model", "pairs": [{"median0", "median1", "hazard_ratio", "events", "n",
    "solved_min", "solved_max"}]}.
    """
    chosen = _single_arm_method(method)
    model = _dropout_model(dropout_model)
    if (median0 is None) == (median1 is None):
        fail("--median0/--median1: give exactly one; the other median is solved")
    known_option = "--median0" if median0 is not None else "--median1"
    known = _floats(median0 if median0 is not None else str(median1), known_option)
    pairs = [
        _run(
            _solver(
                n,
                chosen,
                accrual,
                followup,
                alpha,
                power,
                median0 is not None,
                value,
                shape,
                dropout,
                model,
                dropout_time,
            )
        )
        for value in known
    ]
    solved_for = "median1" if median0 is not None else "median0"
    if json_output:
        print_json(
            {
                "n_target": n,
                "method": chosen,
                "solved_for": solved_for,
                "alpha": alpha,
                "power": power,
                "accrual": accrual,
                "followup": followup,
                "shape": shape,
                "dropout": dropout,
                "dropout_model": model,
                "pairs": [_pair_json(p) for p in pairs],
            }
        )
        return
    table = Table(
        title=f"Medians giving n = {n} ({chosen}; one-sided alpha {alpha:g}, power {power:g}, "
        f"accrual {accrual:g} + follow-up {followup:g} months, dropout {dropout:g} {model})"
    )
    for column in ("median0", "median1", "HR", "events", f"{solved_for} range for ceil(n) = {n}"):
        table.add_column(column, justify="right")
    for p in pairs:
        table.add_row(
            f"{p.median0:.3f}",
            f"{p.median1:.3f}",
            f"{p.hazard_ratio:.3f}",
            f"{p.events:.1f}",
            f"{p.unknown_low:.3f} - {p.unknown_high:.3f}",
        )
    console.print(table)


# ------------------------------------------------------------------------------------- stopping rule


@app.command("stopping-rule")
def stopping_rule_command(
    n: int = typer.Option(..., "--n", help="Number of run-in subjects"),
    stop_at: int = typer.Option(..., "--stop-at", help="Stop when this many subjects have the event"),
    rates: str = typer.Option(..., "--rates", help="True event rates, comma-separated, e.g. 0.01,0.05,0.1"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Exact binomial operating characteristics of "stop when >= K of N subjects have the event".

    expected_treated is for enrolment that stops as soon as the K-th event occurs.
    """
    from trialdesk.stats.stopping_rule import stopping_rule_table

    rows = _run(lambda: stopping_rule_table(n, stop_at, _floats(rates, "--rates")))
    if json_output:
        print_json(
            {
                "rows": [
                    {
                        "rate": r.rate,
                        "p_stop": r.p_stop,
                        "p_zero": r.p_zero,
                        "p_exactly_one": r.p_exactly_one,
                        "expected_treated": r.expected_treated,
                    }
                    for r in rows
                ]
            }
        )
        return
    table = Table(title=f"Stop when >= {stop_at} of {n} subjects have the event")
    for column in ("true rate", "P(stop)", "P(0 events)", "P(exactly 1)", "expected treated"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            f"{r.rate:g}", _fmt(r.p_stop), _fmt(r.p_zero), _fmt(r.p_exactly_one), _fmt(r.expected_treated, 2)
        )
    console.print(table)


# --------------------------------------------------------------------------------------- response CI


@app.command("response-ci")
def response_ci_command(
    x: int = typer.Option(..., "--x", help="Number of responders"),
    n: int = typer.Option(..., "--n", help="Number of evaluable subjects"),
    level: float = typer.Option(0.95, "--level", help="Confidence level in (0, 1)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Clopper-Pearson (1934) exact confidence interval for a response rate x/n."""
    from trialdesk.stats.binomial import clopper_pearson

    ci = _run(lambda: clopper_pearson(x, n, level))
    if json_output:
        print_json({"estimate": ci.estimate, "lower": ci.lower, "upper": ci.upper})
        return
    table = Table(title=f"Clopper-Pearson {level:.0%} interval")
    for column in ("x/n", "estimate", "lower", "upper"):
        table.add_column(column, justify="right")
    table.add_row(f"{x}/{n}", _fmt(ci.estimate), _fmt(ci.lower), _fmt(ci.upper))
    console.print(table)


# --------------------------------------------------------------------------------------------- check


@app.command("check")
def check_command(
    protocol_id: str = typer.Argument(..., help="Protocol id, e.g. ivo-shfrt-2l"),
    sims: int = typer.Option(
        DEFAULT_SIMS, "--sims", help="Single-arm: simulated trials per run for the type I error (>= 1000)"
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Single-arm: seed of the calibration run (>= 0)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Recompute a protocol's sample size from its stated assumptions and show it beside the target of
    the phase it sizes (a run-in is shown apart, with the total).

    Single-arm methods (exponential_single_arm, wu2015) apply dropout as n / (1 - dropout); two-arm
    methods (schoenfeld, freedman) as an exponential dropout hazard (proportion by 12 months, as rpact).
    Single-arm designs also get the simulated type I error and power of the one-sample log-rank test
    under the protocol's assessment schedule, standard and with the critical value calibrated under H0
    (3 runs of --sims trials, deterministic for a --seed; docs/simulation.md).
    """
    from trialdesk.stats.design_check import check_report
    from trialdesk.stats.simulation.calibration import design_from_protocol, one_sample_type_one_error

    protocol = get_protocol(protocol_id)
    if protocol.sample_size is None:
        fail(f"protocol '{protocol.id}' has no sample_size section to check")
    size = protocol.sample_size
    try:
        report = check_report(protocol)
    except DesignInputError as exc:
        fail(f"{exc.parameter}: {exc.reason}")
    one_sample = None
    if size.method in SINGLE_ARM_METHODS:
        one_sample = _run(
            lambda: one_sample_type_one_error(design_from_protocol(protocol), n_sims=sims, seed=seed),
            {"sims": "--sims", "seed": "--seed"},
        )
        report["one_sample_test"] = one_sample.to_dict()
    if json_output:
        print_json(report)
        return
    _print_check(report)
    if one_sample is not None:
        _print_one_sample(one_sample)


def _print_one_sample(result: OneSampleTypeOneError) -> None:
    from trialdesk.adapters.report.design_notes import one_sample_test_table

    note = one_sample_test_table(result)
    table = Table(title=note.title, caption=note.footnote, caption_justify="left")
    for i, column in enumerate(note.columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in note.rows:
        table.add_row(*row)
    console.print(table)


def _print_check(report: dict[str, Any]) -> None:
    table = Table(
        title=f"{report['protocol_id']}: sample size ({report['method']}, endpoint {report['endpoint']})"
    )
    for column in ("assumption", "value", "unit", "provenance"):
        table.add_column(column)
    for key, p in report["parameters"].items():
        table.add_row(key, f"{p['value']:g}", p["unit"] or "", p["provenance"])
    table.add_row(
        "dropout", f"{report['dropout']['value']:g}", report["dropout_model"], report["dropout"]["provenance"]
    )
    console.print(table)
    sized = report["sized_phase"]
    result = Table(title=f"Computed size beside the target of the phase it sizes ({sized['phase']})")
    result.add_column("quantity")
    result.add_column("value", justify="right")
    verdict = "[green]matches[/]" if report["matches_target"] else f"{report['difference']:+d}"
    run_in = report["run_in"]
    total = report["total"]
    rows = [
        ("events", f"{report['events']:.1f} -> {report['events_ceiling']}"),
        (f"computed n (phase {sized['phase']})", f"{report['n']:.2f} -> {report['n_ceiling']}"),
        (f"phase {sized['phase']} target", _range(sized)),
        ("difference", verdict),
    ]
    if run_in is not None:
        rows.append((f"run-in {run_in['phase']} (not in the calculation)", _range(run_in)))
    rows += [
        ("total: computed n + run-in", _range({"min": total["computed_min"], "max": total["computed_max"]})),
        ("target enrolment (whole trial)", str(report["target_enrolment"])),
    ]
    for name, value in rows:
        result.add_row(name, value)
    console.print(result)


def _range(target: dict[str, Any]) -> str:
    return str(target["min"]) if target["min"] == target["max"] else f"{target['min']}-{target['max']}"
