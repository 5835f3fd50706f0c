"""Design notes for reports: the one-sample log-rank test's type I error under the scan schedule.

For a single-arm protocol (seed 000, IVO-SHFRT-2L) the standard one-sample log-rank test, applied to
progression seen only at scheduled scans, rejects more often than its nominal alpha; the report
states the simulated type I error beside that of the test with the critical value calibrated under
H0 with the protocol's scan schedule (:mod:`trialdesk.stats.simulation.calibration`,
``docs/simulation.md``). This module turns those figures into a :class:`~trialdesk.adapters.report.
tables.Table` (the renderers draw it); ``trialdesk design check`` prints the same rows.
"""

from __future__ import annotations

from trialdesk.adapters.report.tables import Table
from trialdesk.domain.protocol import Protocol
from trialdesk.stats.simulation.calibration import (
    DEFAULT_SEED,
    DEFAULT_SIMS,
    SINGLE_ARM_METHODS,
    OneSampleTypeOneError,
    design_from_protocol,
    one_sample_type_one_error,
)
from trialdesk.stats.simulation.results import Estimate

ONE_SAMPLE_COLUMNS = [
    "analysis",
    "rejects when",
    "nominal alpha",
    "type I error (MC SE)",
    "power (MC SE)",
]


def _estimate(value: Estimate) -> str:
    return f"{value.value:.4f} ({value.mc_se:.4f})"


def one_sample_test_rows(result: OneSampleTypeOneError) -> list[list[str]]:
    """Rows of :data:`ONE_SAMPLE_COLUMNS`: the standard test, then the calibrated test."""
    rows = []
    for figures, sign in ((result.standard, ">="), (result.calibrated, ">")):
        critical = f"Z {sign} {figures.critical_value:.3f}"
        if figures.critical_value_mc_se is not None:
            critical += f" (MC SE {figures.critical_value_mc_se:.3f})"
        rows.append(
            [
                figures.analysis,
                critical,
                f"{result.nominal_alpha:g}",
                _estimate(figures.type_one_error),
                _estimate(figures.power),
            ]
        )
    return rows


def one_sample_test_footnote(result: OneSampleTypeOneError) -> str:
    """What was simulated: design numbers, number of trials and seeds."""
    d = result.design
    schedule = (
        "events seen when they happen"
        if d.imaging_interval_weeks is None
        else f"progression seen at scans every {d.imaging_interval_weeks:g} weeks"
    )
    return (
        f"{d.n} patients entering uniformly over {d.accrual_months:g} months, cut-off "
        f"{d.followup_months:g} months after the last; {schedule}; {d.dropout:g} lost by "
        f"{d.dropout_by_months:g} months. H0: median {d.median0:g} months (historical control, Weibull shape "
        f"{d.shape:g}); power at median {d.median1:g} months. {result.n_sims:,} simulated trials per run; "
        f"c calibrated on seed {result.seed}, type I error on an independent run (seed {result.seed + 1}), "
        f"power on seed {result.seed + 2}. Reject when Z = (E - O)/sqrt(E) exceeds the critical value."
    )


def one_sample_test_table(result: OneSampleTypeOneError) -> Table:
    """The standard and the calibrated one-sample log-rank test side by side, as a report table."""
    return Table(
        title="One-sample log-rank test under the assessment schedule: simulated type I error and power",
        columns=list(ONE_SAMPLE_COLUMNS),
        rows=one_sample_test_rows(result),
        footnote=one_sample_test_footnote(result),
    )


def one_sample_test_note(
    protocol: Protocol, *, n_sims: int = DEFAULT_SIMS, seed: int = DEFAULT_SEED
) -> Table | None:
    """The table for a single-arm protocol (None for a protocol without a single-arm sample size)."""
    if protocol.sample_size is None or protocol.sample_size.method not in SINGLE_ARM_METHODS:
        return None
    return one_sample_test_table(
        one_sample_type_one_error(design_from_protocol(protocol), n_sims=n_sims, seed=seed)
    )
