"""Report tables as plain data (:class:`Table`): the PDF and HTML renderers draw the same cells.

Formats: times in months with one decimal, ``NR`` for not reached; rates in % with one decimal;
confidence intervals in parentheses with an en dash; p-values with three decimals (``<0.001``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trialdesk.analysis.efficacy import PhaseAnalysis, RateSummary, SurvivalSummary, TrialAnalysis
from trialdesk.analysis.snapshot import SafetyCell, arm_label, group_label
from trialdesk.domain.endpoints import AnalysisDataset, SubjectEndpointData
from trialdesk.domain.protocol import Protocol
from trialdesk.domain.protocol.parameters import Parameter

PARAM_NAMES = {
    "PFS": "Progression-free survival",
    "OS": "Overall survival",
    "DOR": "Duration of response",
    "TTR": "Time to response",
}
__all__ = ["PARAM_NAMES", "Table", "arm_label", "group_label"]


@dataclass(frozen=True)
class Table:
    """A titled table: header ``columns``, body ``rows`` (strings), ``section_rows`` (indices of rows
    that label a block, drawn bold) and an optional ``footnote``."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    footnote: str | None = None
    section_rows: frozenset[int] = field(default_factory=frozenset)


def months(value: float | None) -> str:
    """Months with one decimal, ``NR`` when not reached."""
    return "NR" if value is None else f"{value:.1f}"


def percent(value: float) -> str:
    """A proportion in [0, 1] as a percentage with one decimal."""
    return f"{100 * value:.1f}"


def pvalue(p: float) -> str:
    """A p-value with three decimals, ``<0.001`` below that."""
    if p != p:  # NaN
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def ci(lower: float | None, upper: float | None, fmt: str = "months") -> str:
    """``(lower–upper)`` in months (``NR`` for not reached) or percent (``NA`` if undefined)."""
    if fmt == "months":
        return f"({months(lower)}–{months(upper)})"
    low = "NA" if lower is None or lower != lower else percent(lower)
    high = "NA" if upper is None or upper != upper else percent(upper)
    return f"({low}–{high})"


def groups_of(protocol: Protocol, subjects: Sequence[SubjectEndpointData]) -> list[tuple[str, str]]:
    """(phase id, arm) pairs that have subjects, in protocol order."""
    present = {(s.phase_id, s.arm) for s in subjects}
    return [(p.id, a) for p in protocol.design.phases for a in p.arms if (p.id, a) in present]


def baseline_table(protocol: Protocol, subjects: Sequence[SubjectEndpointData]) -> Table:
    """Baseline characteristics by group and in total: numbers as median (range), categories as
    n (%), and missing values counted."""
    groups = groups_of(protocol, subjects)
    members = [[s for s in subjects if (s.phase_id, s.arm) == g] for g in groups]
    columns = ["Characteristic"]
    columns += [f"{group_label(protocol, *g)} (n={len(m)})" for g, m in zip(groups, members, strict=True)]
    columns.append(f"Total (n={len(subjects)})")
    keys = list(dict.fromkeys(k for s in subjects for k in s.baseline_characteristics))
    rows: list[list[str]] = []
    sections: set[int] = set()
    for key in keys:
        values = [s.baseline_characteristics.get(key) for s in subjects]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None)
        if numeric:
            rows.append(
                [f"{key}, median (range)"] + [_median_range(m, key) for m in [*members, list(subjects)]]
            )
        else:
            sections.add(len(rows))
            rows.append([f"{key}, n (%)"] + [""] * (len(members) + 1))
            levels = sorted({str(v) for v in values if v is not None})
            for level in levels:
                rows.append([f"  {level}"] + [_count_pct(m, key, level) for m in [*members, list(subjects)]])
        missing = [
            sum(1 for s in m if s.baseline_characteristics.get(key) is None)
            for m in [*members, list(subjects)]
        ]
        if any(missing):
            rows.append(["  Missing"] + [str(n) for n in missing])
    return Table("Baseline characteristics by arm", columns, rows, section_rows=frozenset(sections))


def _median_range(members: Sequence[SubjectEndpointData], key: str) -> str:
    values = sorted(
        float(v) for s in members if isinstance(v := s.baseline_characteristics.get(key), int | float)
    )
    if not values:
        return "–"
    n = len(values)
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return f"{median:g} ({values[0]:g}–{values[-1]:g})"


def _count_pct(members: Sequence[SubjectEndpointData], key: str, level: str) -> str:
    if not members:
        return "–"
    count = sum(1 for s in members if str(s.baseline_characteristics.get(key)) == level)
    return f"{count} ({100 * count / len(members):.1f})"


def survival_table(protocol: Protocol, analysis: TrialAnalysis, params: Sequence[str]) -> Table:
    """N, events, median (95% CI) and landmark rates (95% CI) per phase, arm and parameter."""
    marks = analysis.landmarks_months
    columns = ["Endpoint", "Group", "N", "Events (%)", "Median, months (95% CI)"]
    columns += [f"{m:g}-month rate, % (95% CI)" for m in marks]
    rows: list[list[str]] = []
    for phase in analysis.phases:
        for param in params:
            for arm, summary in phase.survival.get(param, {}).items():
                rows.append(_survival_row(protocol, phase, param, arm, summary))
    note = (
        f"Kaplan-Meier estimates; median CI by Brookmeyer-Crowley ({analysis.conf_type} scale); landmark "
        "CIs pointwise (Greenwood). DOR among responders only. NR: not reached; NE: landmark beyond the "
        "longest follow-up."
    )
    return Table("Time-to-event endpoints", columns, rows, footnote=note)


def _survival_row(
    protocol: Protocol, phase: PhaseAnalysis, param: str, arm: str, s: SurvivalSummary
) -> list[str]:
    row = [
        param,
        group_label(protocol, phase.phase_id, arm),
        str(s.n),
        f"{s.events} ({100 * s.events / s.n:.0f})" if s.n else "0",
        f"{months(s.median.time)} {ci(s.median.lower, s.median.upper)}",
    ]
    row += [
        f"{percent(m.surv)} {ci(m.lower, m.upper, 'percent')}" if m.estimable else "NE" for m in s.landmarks
    ]
    return row


def follow_up_table(protocol: Protocol, analysis: TrialAnalysis) -> Table:
    """Median follow-up (reverse Kaplan-Meier of OS) per group."""
    rows = [
        [group_label(protocol, phase.phase_id, arm), f"{months(q.time)} {ci(q.lower, q.upper)}"]
        for phase in analysis.phases
        for arm, q in phase.follow_up.items()
    ]
    return Table(
        "Median follow-up",
        ["Group", "Median follow-up, months (95% CI)"],
        rows,
        footnote="Reverse Kaplan-Meier method (Schemper & Smith 1996): censoring taken as the event.",
    )


def comparison_table(protocol: Protocol, analysis: TrialAnalysis) -> Table | None:
    """Hazard ratio (Cox, Efron ties) and log-rank p-values of each randomized comparison."""
    rows: list[list[str]] = []
    strata: list[str] = []
    for phase in analysis.phases:
        for param, c in phase.comparisons.items():
            hr = c.hazard_ratio
            strata = c.strata
            rows.append(
                [
                    param,
                    f"{arm_label(protocol, c.comparison_arm)} vs {arm_label(protocol, c.reference_arm)}",
                    f"{hr[0]:.2f} ({hr[1]:.2f}–{hr[2]:.2f})" if hr else (c.note or "not estimable"),
                    pvalue(float(c.cox.p[0])) if c.cox is not None else "NA",
                    pvalue(c.logrank.p),
                    pvalue(c.logrank_unstratified.p),
                ]
            )
    if not rows:
        return None
    label = ", ".join(strata) if strata else "none"
    return Table(
        "Comparison of arms",
        [
            "Endpoint",
            "Comparison",
            "Hazard ratio (95% CI)",
            "Wald p",
            "Stratified log-rank p",
            "Unstratified log-rank p",
        ],
        rows,
        footnote=f"Cox proportional hazards (Efron ties) stratified by: {label}; two-sided p-values.",
    )


def historical_table(analysis: TrialAnalysis) -> Table | None:
    """One-sample log-rank test against the historical-control PFS."""
    rows = []
    for phase in analysis.phases:
        h = phase.historical
        if h is None:
            continue
        r = h.result
        rows.append(
            [
                h.param,
                f"{h.historical_median_months:g} (Weibull shape {h.shape:g})",
                str(r.observed),
                f"{r.expected:.2f}",
                f"{r.ratio:.2f}",
                f"{r.z:.3f}",
                pvalue(r.p_one_sided),
            ]
        )
    if not rows:
        return None
    return Table(
        "One-sample log-rank test against the historical control",
        [
            "Endpoint",
            "Historical median, months",
            "Observed events O",
            "Expected E",
            "O/E",
            "Z",
            "One-sided p",
        ],
        rows,
        footnote="Finkelstein, Muzikansky & Schoenfeld (2003); Wu (2015). Z = (E - O)/sqrt(E); "
        "small p: fewer events than the historical curve predicts.",
    )


def response_table(protocol: Protocol, analysis: TrialAnalysis) -> Table:
    """Best overall response n (%) and ORR / DCR with Clopper-Pearson exact 95% CI per group."""
    groups = [(phase, arm) for phase in analysis.phases for arm in phase.arms]
    columns = ["Response"] + [
        f"{group_label(protocol, phase.phase_id, arm)} (n={phase.n_by_arm[arm]})" for phase, arm in groups
    ]
    categories = list(
        dict.fromkeys(bor for phase, arm in groups for bor, n in phase.bor_counts[arm].items() if n)
    )
    rows: list[list[str]] = [["Best overall response, n (%)"] + [""] * len(groups)]
    for bor in categories:
        rows.append(
            [f"  {bor}"]
            + [_n_pct(phase.bor_counts[arm].get(bor, 0), phase.n_by_arm[arm]) for phase, arm in groups]
        )
    rows.append(
        ["Objective response rate (CR + PR), % (95% CI)"] + [_rate(phase.orr[arm]) for phase, arm in groups]
    )
    rows.append(
        ["Disease control rate (CR + PR + SD), % (95% CI)"] + [_rate(phase.dcr[arm]) for phase, arm in groups]
    )
    confirmation = protocol.tumour_assessment.confirmation_required.value
    kind = "confirmed (>= 4 weeks)" if confirmation else "unconfirmed (confirmation not required)"
    note = (
        f"RECIST 1.1; responses {kind}; "
        f"SD at least {protocol.tumour_assessment.sd_min_days.value} days after baseline. Denominator: all "
        "subjects in the analysis population. Clopper-Pearson exact 95% CI."
    )
    return Table("Tumour response", columns, rows, footnote=note, section_rows=frozenset({0}))


def _n_pct(count: int, n: int) -> str:
    return f"{count} ({100 * count / n:.1f})" if n else "0"


def _rate(rate: RateSummary) -> str:
    if rate.ci is None:
        return "–"
    return (
        f"{rate.count}/{rate.n} = {percent(rate.ci.estimate)} {ci(rate.ci.lower, rate.ci.upper, 'percent')}"
    )


def time_to_response_table(protocol: Protocol, dataset: AnalysisDataset) -> Table:
    """Time to first response among responders: n, median and range (months) per group."""
    rows = []
    for phase_id, arm in groups_of(protocol, dataset.subjects):
        values = sorted(
            r.aval_months for r in dataset.records("TTR") if (r.phase_id, r.arm) == (phase_id, arm)
        )
        if values:
            n = len(values)
            median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
            rows.append(
                [
                    group_label(protocol, phase_id, arm),
                    str(n),
                    f"{median:.1f} ({values[0]:.1f}–{values[-1]:.1f})",
                ]
            )
        else:
            rows.append([group_label(protocol, phase_id, arm), "0", "–"])
    return Table(
        "Time to response (responders)",
        ["Group", "Responders", "Months to first response, median (range)"],
        rows,
        footnote="From enrolment / randomization to the first documented CR or PR.",
    )


def derivation_table(protocol: Protocol, dataset: AnalysisDataset) -> Table:
    """How each record's date was produced: counts of each rule per parameter and group."""
    groups = groups_of(protocol, dataset.subjects)
    counts = Counter((r.param, r.rule, r.phase_id, r.arm) for r in dataset.time_to_event)
    rules = sorted(
        {(param, rule) for param, rule, _, _ in counts},
        key=lambda pr: (list(PARAM_NAMES).index(pr[0]), pr[1]),
    )
    rows = [[param, rule] + [str(counts.get((param, rule, *g), 0)) for g in groups] for param, rule in rules]
    return Table(
        "Event and censoring rules applied",
        ["Parameter", "Rule"] + [group_label(protocol, *g) for g in groups],
        rows,
        footnote="Censoring rules after FDA (2018) Clinical Trial Endpoints for the Approval of Cancer Drugs "
        "and Biologics; parameters in the protocol's analysis section.",
    )


def analysis_parameters_table(protocol: Protocol) -> Table:
    """The protocol's analysis parameters with their value and provenance."""
    rows: list[list[str]] = []
    for name in type(protocol.analysis).model_fields:
        param = getattr(protocol.analysis, name)
        if isinstance(param, Parameter):
            value = param.value
            shown = (
                ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
                if isinstance(value, list)
                else str(value)
            )
            unit = f" {param.unit}" if param.unit else ""
            rows.append([name, f"{shown or '(none)'}{unit}", param.provenance])
    return Table(
        "Analysis parameters (protocol analysis section)",
        ["Parameter", "Value", "Provenance"],
        rows,
        footnote=f"Imaging every {protocol.tumour_assessment.imaging_interval_weeks.value} weeks; "
        "'default' values are documented defaults for the trial team to confirm.",
    )


def safety_tables(tables: Mapping[str, Sequence[Mapping[str, SafetyCell]]]) -> list[Table]:
    """The safety module's tables: columns in first-seen order, empty cells for missing keys."""
    out = []
    for title, rows in tables.items():
        columns = list(dict.fromkeys(k for row in rows for k in row))
        body = [["" if row.get(c) is None else _cell(row.get(c)) for c in columns] for row in rows]
        out.append(Table(title, columns or ["(no rows)"], body))
    return out


def _cell(value: SafetyCell) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
