"""The report's outline: sections of tables, figures and notes, built from a :class:`ReportSnapshot`.

The PDF and HTML renderers walk the same outline, so both formats have the same sections, tables and
numbered figures. Endpoints are derived and analysed here, from the snapshot alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from trialdesk.adapters.report import figures, tables
from trialdesk.adapters.report.design_notes import one_sample_test_note
from trialdesk.adapters.report.disposition import disposition_table
from trialdesk.adapters.report.safety import safety_report_tables
from trialdesk.adapters.report.style import ARM_COLOURS
from trialdesk.adapters.report.tables import PARAM_NAMES, Table, group_label
from trialdesk.analysis.efficacy import PhaseAnalysis, TrialAnalysis, analyse
from trialdesk.analysis.snapshot import ReportSnapshot, TargetSumSeries
from trialdesk.domain.endpoints import DAYS_PER_MONTH, AnalysisDataset, derive_endpoints
from trialdesk.domain.protocol import Protocol

MAX_SWIMMER_LANES = 80
FigureBuilder = Callable[[tuple[float, float], figures.Rect, Figure | None], Figure]


@dataclass(frozen=True)
class FigureBlock:
    """A numbered figure: ``build(figsize, rect, fig)`` draws it; ``height_in`` is its height on an A4
    page (inches) and ``size`` its size as a stand-alone image (inches)."""

    number: int
    caption: str
    build: FigureBuilder
    height_in: float
    size: tuple[float, float]


@dataclass(frozen=True)
class NoteBlock:
    """A paragraph of text."""

    text: str


Block = Table | FigureBlock | NoteBlock


@dataclass(frozen=True)
class Section:
    """A numbered report section."""

    title: str
    blocks: list[Block]


@dataclass(frozen=True)
class Document:
    """What the PDF and HTML engines draw: a title page (``kind_line``, ``title``, ``subtitle``, the
    ``facts`` as label/value pairs, the contents, ``note``), then each section from a new page, with a
    running header (``header_left`` / ``header_right``) and footer (``footer_left``, page n of N).
    ``landscape``: A4 landscape pages (wide tables); ``synthetic``: "SYNTHETIC DATA" on every page."""

    kind_line: str
    title: str
    subtitle: str
    facts: list[tuple[str, str]]
    sections: list[Section]
    header_left: str
    header_right: str
    footer_left: str
    metadata_title: str
    metadata_subject: str = ""
    creator: str = "trialdesk"
    note: str = ""
    synthetic: bool = False
    landscape: bool = False


CUTOFF_RULE = (
    "Data cut-off rule: a record counts only if its clinical date is on or before the cut-off - screening, "
    "consent / enrolment, randomization, treatment start and end, adverse-event onset, death, withdrawal or "
    "loss to follow-up, and each scan. A subject enrolled after the cut-off is not in the report; an adverse "
    "event with onset after it is not counted; a death after it is not a death (the subject is known alive "
    "at the cut-off)."
)


@dataclass(frozen=True)
class ReportContent:
    """A snapshot with its derived dataset, its analyses and the report outline."""

    snapshot: ReportSnapshot
    dataset: AnalysisDataset
    analysis: TrialAnalysis
    sections: list[Section]

    @property
    def figure_count(self) -> int:
        """Number of figures in the report."""
        return sum(isinstance(b, FigureBlock) for s in self.sections for b in s.blocks)

    def document(self) -> Document:
        """The trial report as a :class:`Document` (A4 portrait)."""
        snapshot, protocol = self.snapshot, self.snapshot.protocol
        synthetic = " - SYNTHETIC DATA" if snapshot.synthetic else ""
        facts = [
            ("Data cut-off", snapshot.cutoff.isoformat()),
            ("Protocol", f"{protocol.id}, version {protocol.version}"),
            ("Software", f"trialdesk {snapshot.software_version}"),
            ("Registry", ", ".join(protocol.registry_ids) or "not registered"),
            (
                "Design",
                f"{protocol.design.type.replace('_', ' ')}, {protocol.design.centres}-centre, "
                f"target {protocol.design.target_enrolment.value} patients",
            ),
            ("Subjects in this report", f"{len(self.dataset.subjects)} (enrolled on or before the cut-off)"),
            (
                "Data",
                "SYNTHETIC DATA - simulated subjects, not patients"
                if snapshot.synthetic
                else "Trial database",
            ),
        ]
        if snapshot.data_issues:
            facts.append(("Data issues", f"{len(snapshot.data_issues)} record(s), listed in the appendix"))
        return Document(
            kind_line="Trial report to the steering committee",
            title=snapshot.title or protocol.short_title,
            subtitle=protocol.title,
            facts=facts,
            sections=self.sections,
            header_left=protocol.short_title,
            header_right=f"Data cut-off: {snapshot.cutoff.isoformat()}",
            footer_left=(
                f"Protocol {protocol.id} version {protocol.version} · trialdesk {snapshot.software_version}"
            ),
            metadata_title=f"{protocol.short_title}: trial report, cut-off {snapshot.cutoff.isoformat()}",
            metadata_subject=f"Protocol {protocol.id} version {protocol.version}{synthetic}",
            creator=f"trialdesk {snapshot.software_version}",
            note=CUTOFF_RULE
            + " Endpoints are derived from the snapshot by the rules of the protocol's analysis section (see "
            "'Endpoint derivation'); figures and tables are reproducible from the same snapshot.",
            synthetic=snapshot.synthetic,
        )


class _Numbering:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> int:
        self.count += 1
        return self.count


def build_content(snapshot: ReportSnapshot) -> ReportContent:
    """Derive, analyse and lay out the report of ``snapshot``."""
    protocol = snapshot.protocol
    dataset = derive_endpoints(protocol, snapshot.subjects, snapshot.cutoff)
    analysis = analyse(protocol, dataset)
    numbers = _Numbering()
    colour = {arm.id: ARM_COLOURS[i % len(ARM_COLOURS)] for i, arm in enumerate(protocol.design.arms)}
    sections = [
        Section("CONSORT flow diagram", [_consort_block(snapshot, numbers), *_disposition_blocks(snapshot)]),
        Section("Baseline characteristics", [tables.baseline_table(protocol, dataset.subjects)]),
        _survival_section(snapshot, dataset, analysis, "PFS", numbers, colour),
        _survival_section(snapshot, dataset, analysis, "OS", numbers, colour),
        _response_section(snapshot, analysis, numbers),
        _survival_section(snapshot, dataset, analysis, "DOR", numbers, colour),
        Section(
            "Treatment exposure",
            [*_swimmer_blocks(snapshot, dataset, analysis, numbers, colour), *_treatment_blocks(snapshot)],
        ),
        _safety_section(snapshot),
        *_design_section(protocol),
        *_deviation_section(snapshot),
        Section(
            "Endpoint derivation",
            [
                NoteBlock(CUTOFF_RULE),
                tables.derivation_table(protocol, dataset),
                tables.analysis_parameters_table(protocol),
            ],
        ),
        _data_issues_section(snapshot),
    ]
    return ReportContent(snapshot, dataset, analysis, sections)


def _disposition_blocks(snapshot: ReportSnapshot) -> list[Block]:
    """The subject-disposition table beside the CONSORT diagram (none before any allocation)."""
    table = disposition_table(snapshot.protocol, snapshot.consort)
    return [table] if table is not None else []


def _consort_block(snapshot: ReportSnapshot, numbers: _Numbering) -> FigureBlock:
    protocol = snapshot.protocol
    number = numbers.next()

    def build(size: tuple[float, float], rect: figures.Rect, fig: Figure | None) -> Figure:
        return figures.consort_figure(
            snapshot.consort,
            phase_names={p.id: p.name for p in protocol.design.phases},
            phase_kinds={p.id: p.kind for p in protocol.design.phases},
            arm_labels={a.id: tables.arm_label(protocol, a.id) for a in protocol.design.arms},
            title=f"Figure {number}. CONSORT flow diagram (data cut-off {snapshot.cutoff.isoformat()})",
            figsize=size,
            rect=rect,
            fig=fig,
        )

    return FigureBlock(number, "CONSORT flow diagram", build, 9.3, (8.0, 9.0))


def _survival_section(
    snapshot: ReportSnapshot,
    dataset: AnalysisDataset,
    analysis: TrialAnalysis,
    param: str,
    numbers: _Numbering,
    colour: dict[str, str],
) -> Section:
    protocol = snapshot.protocol
    blocks: list[Block] = []
    for phase in analysis.phases:
        summaries = phase.survival.get(param)
        if not summaries:
            continue
        number = numbers.next()
        where = f" — {phase.name}" if len(analysis.phases) > 1 else ""
        caption = f"Figure {number}. Kaplan-Meier estimate of {PARAM_NAMES[param].lower()}{where}"
        curves = [
            figures.KmCurve(tables.arm_label(protocol, arm), s.km, colour[arm])
            for arm, s in summaries.items()
        ]
        note = _km_annotation(protocol_arm_labels(snapshot), phase, param)
        ylabel = {
            "PFS": "Progression-free survival",
            "OS": "Overall survival",
            "DOR": "Remaining in response",
        }[param]
        xlabel = "Months since first response" if param == "DOR" else "Months since " + _origin_word(phase)
        blocks.append(_km_block(number, caption, curves, ylabel, xlabel, note))
    blocks.append(tables.survival_table(protocol, analysis, [param] if param != "DOR" else ["DOR"]))
    if param == "PFS":
        comparison = tables.comparison_table(protocol, analysis)
        historical = tables.historical_table(analysis)
        blocks += [t for t in (comparison, historical) if t is not None]
    if param == "OS":
        blocks.append(tables.follow_up_table(protocol, analysis))
    if param == "DOR":
        blocks.append(tables.time_to_response_table(protocol, dataset))
    if param == "DOR" and not any(phase.survival.get("DOR") for phase in analysis.phases):
        blocks.insert(
            0, NoteBlock("No responders at the data cut-off: duration of response is not estimable.")
        )
    return Section(PARAM_NAMES[param], blocks)


def protocol_arm_labels(snapshot: ReportSnapshot) -> dict[str, str]:
    """Arm id -> short label."""
    return {a.id: tables.arm_label(snapshot.protocol, a.id) for a in snapshot.protocol.design.arms}


def _origin_word(phase: PhaseAnalysis) -> str:
    return "randomization" if phase.kind == "randomized" else "enrolment"


def _km_block(
    number: int, caption: str, curves: list[figures.KmCurve], ylabel: str, xlabel: str, note: str
) -> FigureBlock:
    def build(size: tuple[float, float], rect: figures.Rect, fig: Figure | None) -> Figure:
        return figures.km_figure(
            curves,
            title=caption,
            ylabel=ylabel,
            xlabel=xlabel,
            annotation=note,
            figsize=size,
            rect=rect,
            fig=fig,
        )

    return FigureBlock(number, caption, build, 5.4 + 0.2 * len(curves), (7.0, 5.2 + 0.2 * len(curves)))


def _km_annotation(labels: dict[str, str], phase: PhaseAnalysis, param: str) -> str:
    lines = [
        f"Median {labels[arm]}: {tables.months(s.median.time)} mo {tables.ci(s.median.lower, s.median.upper)}"
        for arm, s in phase.survival[param].items()
    ]
    comparison = phase.comparisons.get(param)
    if comparison is not None:
        hr = comparison.hazard_ratio
        if hr is not None:
            lines.append(
                f"HR {labels[comparison.comparison_arm]} vs {labels[comparison.reference_arm]}: "
                f"{hr[0]:.2f} ({hr[1]:.2f}–{hr[2]:.2f})"
            )
        strat = "stratified " if comparison.strata else ""
        lines.append(f"{strat}log-rank p = {tables.pvalue(comparison.logrank.p)}")
    if param == "PFS" and phase.historical is not None:
        h = phase.historical
        lines.append(
            f"One-sample log-rank vs historical median {h.historical_median_months:g} mo: "
            f"O/E = {h.result.ratio:.2f}, one-sided p = {tables.pvalue(h.result.p_one_sided)}"
        )
    return "\n".join(lines)


def _series_groups(snapshot: ReportSnapshot) -> dict[str, list[TargetSumSeries]]:
    out: dict[str, list[TargetSumSeries]] = {}
    for phase in snapshot.protocol.design.phases:
        for arm in phase.arms:
            chosen = [s for s in snapshot.target_sums if s.phase_id == phase.id and s.arm == arm]
            if chosen:
                out[group_label(snapshot.protocol, phase.id, arm)] = chosen
    return out


FIELD_RESPONSE_TITLE = "In-field and out-of-field (abscopal) response"
"""The title :func:`trialdesk.services.rt_fields.field_response_rows` files its table under."""


def _field_blocks(snapshot: ReportSnapshot) -> list[Block]:
    """The in-field / out-of-field response by arm, when lesions have RT-field flags."""
    rows = (snapshot.treatment_tables or {}).get(FIELD_RESPONSE_TITLE, [])
    if not rows:
        return []
    assessment = snapshot.protocol.tumour_assessment
    rule = assessment.abscopal
    confirm = rule.confirmation.value if rule.confirmation else assessment.confirmation_required.value
    confirmed = f", confirmed >= {assessment.confirmation_min_days.value} days later" if confirm else ""
    footnote = (
        "Out-of-field response: the sum of the non-irradiated target lesions at least "
        f"{rule.min_decrease.value * 100:g}% below its baseline before progression{confirmed} "
        f"({rule.min_decrease.rationale}); percentages among subjects with non-irradiated (out-of-field) "
        "or irradiated (in-field) target lesions. In-field response: the best RECIST 1.1 target response "
        "of the irradiated lesions, unconfirmed."
    )
    return [_rows_table(FIELD_RESPONSE_TITLE, rows, footnote)]


def _response_section(snapshot: ReportSnapshot, analysis: TrialAnalysis, numbers: _Numbering) -> Section:
    groups = _series_groups(snapshot)
    blocks: list[Block] = [tables.response_table(snapshot.protocol, analysis), *_field_blocks(snapshot)]
    if not groups:
        blocks.append(
            NoteBlock("No target-lesion measurements: waterfall and spider plots are not available.")
        )
        return Section("Tumour response", blocks)
    waterfall_number = numbers.next()
    waterfall_caption = (
        f"Figure {waterfall_number}. Best percentage change in the target-lesion sum (waterfall)"
    )
    spider_number = numbers.next()
    spider_caption = f"Figure {spider_number}. Percentage change in the target-lesion sum over time (spider)"

    def waterfall(size: tuple[float, float], rect: figures.Rect, fig: Figure | None) -> Figure:
        return figures.waterfall_figure(groups, title=waterfall_caption, figsize=size, rect=rect, fig=fig)

    def spider(size: tuple[float, float], rect: figures.Rect, fig: Figure | None) -> Figure:
        return figures.spider_figure(groups, title=spider_caption, figsize=size, rect=rect, fig=fig)

    blocks.append(FigureBlock(waterfall_number, waterfall_caption, waterfall, 4.3, (7.5, 4.3)))
    blocks.append(FigureBlock(spider_number, spider_caption, spider, 4.3, (7.5, 4.3)))
    return Section("Tumour response", blocks)


def _swimmer_blocks(
    snapshot: ReportSnapshot,
    dataset: AnalysisDataset,
    analysis: TrialAnalysis,
    numbers: _Numbering,
    colour: dict[str, str],
) -> list[Block]:
    responses = {r.subject_id: r for r in dataset.responses}
    blocks: list[Block] = []
    for phase in analysis.phases:
        rows = swimmer_rows(snapshot, dataset, phase.phase_id, colour)
        label = ""
        if len(rows) > MAX_SWIMMER_LANES:
            rows = [r for r in rows if responses[r.subject_id].responder]
            label = " (responders)"
        if not rows:
            continue
        number = numbers.next()
        where = f" — {phase.name}" if len(analysis.phases) > 1 else ""
        caption = f"Figure {number}. Time on treatment{label}{where} (swimmer)"
        height = min(9.6, 1.6 + 0.11 * len(rows))

        def build(
            size: tuple[float, float],
            rect: figures.Rect,
            fig: Figure | None,
            rows: Sequence[figures.SwimmerRow] = rows,
            caption: str = caption,
        ) -> Figure:
            return figures.swimmer_figure(rows, title=caption, figsize=size, rect=rect, fig=fig)

        blocks.append(FigureBlock(number, caption, build, height, (7.0, height)))
    return blocks


def swimmer_rows(
    snapshot: ReportSnapshot, dataset: AnalysisDataset, phase_id: str, colour: dict[str, str]
) -> list[figures.SwimmerRow]:
    """Swimmer lanes of one phase (months from each subject's origin)."""
    responses = {r.subject_id: r for r in dataset.responses}
    rows = []
    for s in dataset.subjects:
        if s.phase_id != phase_id:
            continue

        response = responses[s.subject_id]
        end = s.treatment_end or (dataset.cutoff if s.treatment_start is not None else s.origin_date)
        rows.append(
            figures.SwimmerRow(
                subject_id=s.subject_id,
                group=group_label(snapshot.protocol, s.phase_id, s.arm),
                colour=colour[s.arm],
                treatment_months=_since(end, s.origin_date) or 0.0,
                ongoing=s.treatment_start is not None and s.treatment_end is None,
                response_months=_since(response.response_start_date, s.origin_date),
                progression_months=_since(response.progression_date, s.origin_date),
                death_months=_since(s.death_date, s.origin_date),
            )
        )
    return rows


def _since(date: dt.date | None, origin: dt.date) -> float | None:
    """Months from ``origin`` to ``date`` (``None`` stays ``None``)."""
    return None if date is None else (date - origin).days / DAYS_PER_MONTH


def _safety_section(snapshot: ReportSnapshot) -> Section:
    if snapshot.safety_tables is None:
        return Section(
            "Safety",
            [
                NoteBlock(
                    "Safety tables not available: the safety module has not provided them for this snapshot."
                )
            ],
        )
    found = safety_report_tables(snapshot.safety_tables, snapshot.protocol)
    blocks: list[Block] = list(found) or [NoteBlock("The safety module returned no tables.")]
    return Section("Safety", blocks)


def _design_section(protocol: Protocol) -> list[Section]:
    """Design operating characteristics: for a single-arm protocol, the one-sample log-rank test's
    simulated type I error under the protocol's assessment schedule beside the calibrated test
    (``trialdesk design check`` prints the same figures; docs/simulation.md explains them)."""
    note = one_sample_test_note(protocol)
    if note is None:
        return []
    text = (
        "Progression is seen only at the scheduled tumour assessments, so observed progression times "
        "are later than the true ones and the standard one-sample log-rank test against the historical "
        "control rejects more often than its nominal alpha. The table gives its simulated type I error "
        "under this protocol's schedule, accrual, dropout and cut-off, beside the test whose critical "
        "value is calibrated by simulation under H0 with the same schedule; the calibrated test is the "
        "corrected analysis. Its critical value holds for the simulated design only: recompute it if "
        "the accrual, dropout or cut-off differ."
    )
    return [Section("Design operating characteristics", [NoteBlock(text), note])]


DEVIATION_TITLE = "Protocol deviations"


def _rows_table(title: str, rows: list[dict[str, str]], footnote: str | None = None) -> Table:
    columns = list(rows[0]) if rows else []
    return Table(title, columns, [[row[c] for c in columns] for row in rows], footnote=footnote)


TREATMENT_FOOTNOTES = {
    "Investigational product reconciliation": (
        "Units in the protocol's dispensing unit. On hand = received - dispensed + returned (returned units "
        "are quarantined, never dispensed again); expired on hand: units of lots past their expiry at the "
        "cut-off. A subject disagrees when the units dispensed minus returned differ from the units the "
        "doses given needed (ceil(dose / strength) per administration)."
    )
}
"""Footnotes of the treatment tables that need one, by title."""


def _treatment_blocks(snapshot: ReportSnapshot) -> list[Block]:
    """Drug exposure (RDI), radiotherapy delivered, visit compliance by arm and the investigational-product
    reconciliation by site, when recorded."""
    tables = snapshot.treatment_tables or {}
    blocks: list[Block] = [
        _rows_table(title, rows, TREATMENT_FOOTNOTES.get(title))
        for title, rows in tables.items()
        if title not in (DEVIATION_TITLE, FIELD_RESPONSE_TITLE) and rows
    ]
    if not blocks:
        return [NoteBlock("No drug administrations or radiotherapy fractions are recorded at the cut-off.")]
    return blocks


def _deviation_section(snapshot: ReportSnapshot) -> list[Section]:
    """The protocol-deviation listing (derived from the data and recorded by staff)."""
    if snapshot.treatment_tables is None:
        return []
    rows = snapshot.treatment_tables.get(DEVIATION_TITLE, [])
    if not rows:
        return [Section(DEVIATION_TITLE, [NoteBlock("No protocol deviations at the cut-off.")])]
    note = (
        "Derived deviations (visit out of window or missed, dose outside tolerance, radiotherapy minor or "
        "major deviation, stratum no longer matching the record, over-enrolment) are computed from the data "
        "at the cut-off; the others were recorded by site staff or monitors."
    )
    return [Section(DEVIATION_TITLE, [NoteBlock(note), _rows_table("Deviations by site and subject", rows)])]


def _data_issues_section(snapshot: ReportSnapshot) -> Section:
    """Appendix: every record the report could not derive, with the subject and the reason."""
    if not snapshot.data_issues:
        return Section("Data issues", [NoteBlock("None: every record was derived.")])
    protocol = snapshot.protocol
    rows = [
        [
            issue.subject_id,
            group_label(protocol, issue.phase_id, issue.arm) if issue.phase_id and issue.arm else "",
            issue.reason,
        ]
        for issue in snapshot.data_issues
    ]
    table = Table(
        "Records that could not be derived",
        ["Subject", "Group", "Reason"],
        rows,
        footnote="These subjects count in the CONSORT diagram as allocated (records not derivable) and are "
        "left out of the analyses until the data are corrected.",
    )
    return Section("Data issues", [table])
