"""PDF rendering with matplotlib's PDF backend (``PdfPages``): A4 portrait pages with a running
header (protocol, data cut-off, "SYNTHETIC DATA" when synthetic) and footer (protocol version,
software version, page n of N); tables are drawn as text with booktabs-style rules, figures are vector
graphics, text is embedded as TrueType (``pdf.fonttype`` 42) so it can be searched and extracted.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from trialdesk.adapters.report.content import FigureBlock, NoteBlock, ReportContent
from trialdesk.adapters.report.style import report_style
from trialdesk.adapters.report.tables import Table

PAGE_W, PAGE_H = 8.27, 11.69  # A4, inches
LEFT, RIGHT = 0.6, 0.55
TOP, BOTTOM = 0.8, 0.75
USABLE_W = PAGE_W - LEFT - RIGHT
FONT = 7.0
CHAR_W = 0.064  # inches per character of DejaVu Sans at 7 pt, bold (average, with some slack)
LINE_H = 0.135  # inches per table text line
SYNTHETIC_LABEL = "SYNTHETIC DATA"


@dataclass
class _Layout:
    """Pages being filled top to bottom; ``y`` is the next free position in inches from the top."""

    pages: list[Figure] = field(default_factory=list)
    y: float = TOP

    @property
    def fig(self) -> Figure:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(Figure(figsize=(PAGE_W, PAGE_H)))
        self.y = TOP

    def room(self) -> float:
        return PAGE_H - BOTTOM - self.y

    def ensure(self, height: float) -> bool:
        """Start a new page unless ``height`` inches fit; True when a page was started."""
        if height > self.room() and self.y > TOP + 1e-9:
            self.new_page()
            return True
        return False

    def text(self, x: float, y: float, s: str, **kwargs: object) -> None:
        self.fig.text(x / PAGE_W, 1 - y / PAGE_H, s, va="top", **kwargs)  # type: ignore[arg-type]

    def rule(self, y: float, lw: float) -> None:
        self.fig.add_artist(
            Rectangle(
                (LEFT / PAGE_W, 1 - y / PAGE_H),
                USABLE_W / PAGE_W,
                0,
                lw=lw,
                ec="black",
                transform=self.fig.transFigure,
            )
        )


def pdf_pages(content: ReportContent) -> list[Figure]:
    """The report's A4 pages as matplotlib figures (title page first), headers and footers drawn.

    Call inside :func:`report_style` so the figures carry the report's fonts.
    """
    layout = _Layout()
    _title_page(layout, content)
    for number, section in enumerate(content.sections, start=1):
        layout.new_page()
        layout.text(LEFT, layout.y, f"{number}. {section.title}", fontsize=13, fontweight="bold")
        layout.y += 0.45
        for block in section.blocks:
            if isinstance(block, Table):
                _table(layout, block)
            elif isinstance(block, FigureBlock):
                _figure(layout, block)
            elif isinstance(block, NoteBlock):
                _note(layout, block.text)
    total = len(layout.pages)
    for index, page in enumerate(layout.pages, start=1):
        _decorate(page, content, index, total)
    return layout.pages


def render_pdf(content: ReportContent) -> bytes:
    """The whole report as PDF bytes: a title page, then each section from a new page."""
    snapshot = content.snapshot
    metadata = {
        "Title": f"{snapshot.protocol.short_title}: trial report, cut-off {snapshot.cutoff.isoformat()}",
        "Author": "trialdesk",
        "Subject": f"Protocol {snapshot.protocol.id} version {snapshot.protocol.version}"
        + (" - SYNTHETIC DATA" if snapshot.synthetic else ""),
        "Creator": f"trialdesk {snapshot.software_version}",
        "CreationDate": None,
    }
    buffer = io.BytesIO()
    with report_style():
        pages = pdf_pages(content)
        with PdfPages(buffer, metadata=metadata) as pdf:
            for page in pages:
                pdf.savefig(page)
    return buffer.getvalue()


def _title_page(layout: _Layout, content: ReportContent) -> None:
    snapshot, protocol = content.snapshot, content.snapshot.protocol
    layout.new_page()
    layout.y = 1.6
    layout.text(LEFT, layout.y, "Trial report to the steering committee", fontsize=11, color="0.35")
    layout.y += 0.4
    for line in textwrap.wrap(snapshot.title or protocol.short_title, 60):
        layout.text(LEFT, layout.y, line, fontsize=18, fontweight="bold")
        layout.y += 0.36
    layout.y += 0.1
    for line in textwrap.wrap(protocol.title, 100):
        layout.text(LEFT, layout.y, line, fontsize=8.5, color="0.25")
        layout.y += 0.17
    layout.y += 0.35
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
        ("Subjects in this report", f"{len(content.dataset.subjects)} (enrolled on or before the cut-off)"),
        (
            "Data",
            "SYNTHETIC DATA - simulated subjects, not patients" if snapshot.synthetic else "Trial database",
        ),
    ]
    for key, value in facts:
        layout.text(LEFT, layout.y, key, fontsize=10, fontweight="bold")
        layout.text(LEFT + 2.1, layout.y, value, fontsize=10)
        layout.y += 0.27
    layout.y += 0.35
    layout.text(LEFT, layout.y, "Contents", fontsize=11, fontweight="bold")
    layout.y += 0.3
    for number, section in enumerate(content.sections, start=1):
        layout.text(LEFT + 0.2, layout.y, f"{number}. {section.title}", fontsize=9.5)
        layout.y += 0.22
    layout.y += 0.3
    note = (
        "All data after the cut-off date are ignored. Endpoints are derived from the snapshot by the rules "
        "of the protocol's analysis section (see 'Endpoint derivation'); figures and tables are "
        "reproducible from the same snapshot."
    )
    for line in textwrap.wrap(note, 110):
        layout.text(LEFT, layout.y, line, fontsize=8, color="0.3")
        layout.y += 0.16


def _decorate(page: Figure, content: ReportContent, index: int, total: int) -> None:
    snapshot, protocol = content.snapshot, content.snapshot.protocol
    top = 1 - 0.45 / PAGE_H
    bottom = 0.4 / PAGE_H
    page.text(LEFT / PAGE_W, top, _clip(protocol.short_title, 58), fontsize=7, color="0.3", va="bottom")
    page.text(
        1 - RIGHT / PAGE_W,
        top,
        f"Data cut-off: {snapshot.cutoff.isoformat()}",
        fontsize=7,
        color="0.3",
        ha="right",
        va="bottom",
    )
    page.add_artist(
        Rectangle(
            (LEFT / PAGE_W, top - 0.05 / PAGE_H),
            USABLE_W / PAGE_W,
            0,
            lw=0.5,
            ec="0.5",
            transform=page.transFigure,
        )
    )
    page.text(
        LEFT / PAGE_W,
        bottom,
        f"Protocol {protocol.id} version {protocol.version} · trialdesk {snapshot.software_version}",
        fontsize=7,
        color="0.3",
    )
    page.text(1 - RIGHT / PAGE_W, bottom, f"Page {index} of {total}", fontsize=7, color="0.3", ha="right")
    if snapshot.synthetic:
        page.text(
            1 - (RIGHT + 1.45) / PAGE_W,
            top,
            SYNTHETIC_LABEL,
            fontsize=8,
            color="#B2182B",
            fontweight="bold",
            ha="right",
            va="bottom",
        )
        page.text(
            0.5, bottom, f"{SYNTHETIC_LABEL} - NOT REAL PATIENTS", fontsize=7, color="#B2182B", ha="center"
        )
        page.text(
            0.5,
            0.5,
            SYNTHETIC_LABEL,
            fontsize=70,
            color="#B2182B",
            alpha=0.06,
            rotation=55,
            ha="center",
            va="center",
            zorder=-1,
        )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _note(layout: _Layout, text: str) -> None:
    lines = textwrap.wrap(text, 105)
    layout.ensure(0.18 * len(lines) + 0.1)
    for line in lines:
        layout.text(LEFT, layout.y, line, fontsize=9)
        layout.y += 0.18
    layout.y += 0.15


def _figure(layout: _Layout, block: FigureBlock) -> None:
    height = min(block.height_in, PAGE_H - TOP - BOTTOM - 0.1)
    layout.ensure(height + 0.1)
    top = layout.y
    rect = (LEFT / PAGE_W, 1 - (top + height) / PAGE_H, 1 - RIGHT / PAGE_W, 1 - top / PAGE_H)
    block.build((PAGE_W, PAGE_H), rect, layout.fig)
    layout.y += height + 0.25


def _column_widths(table: Table) -> list[float]:
    cells = [table.columns, *table.rows]
    natural = [
        max(len(row[i]) if i < len(row) else 0 for row in cells) * CHAR_W + 0.15
        for i in range(len(table.columns))
    ]
    total = sum(natural)
    if total <= USABLE_W:
        return [w + (USABLE_W - total) / len(natural) for w in natural]
    # Too wide: give every column at least its header's longest word, shrink the rest proportionally.
    floor = [max(len(w) for w in (c.split() or [""])) * CHAR_W + 0.15 for c in table.columns]
    spare = USABLE_W - sum(floor)
    extra = [max(n - f, 0.0) for n, f in zip(natural, floor, strict=True)]
    scale = spare / sum(extra) if sum(extra) > 0 else 0.0
    return [f + e * max(scale, 0.0) for f, e in zip(floor, extra, strict=True)]


def _wrap(text: str, width: float) -> list[str]:
    return textwrap.wrap(text, max(4, int((width - 0.1) / CHAR_W)), drop_whitespace=False) or [""]


def _table(layout: _Layout, table: Table) -> None:
    widths = _column_widths(table)
    header = [_wrap(c, w) for c, w in zip(table.columns, widths, strict=True)]
    header_h = LINE_H * max(len(h) for h in header) + 0.08
    rows = [[_wrap(row[i] if i < len(row) else "", w) for i, w in enumerate(widths)] for row in table.rows]
    first_row_h = LINE_H * max((len(c) for c in rows[0]), default=1) + 0.04 if rows else 0.0
    layout.ensure(0.3 + header_h + first_row_h + 0.1)
    _table_header(layout, table.title, header, widths, header_h)
    for index, row in enumerate(rows):
        height = LINE_H * max(len(c) for c in row) + 0.04
        if height > layout.room() - 0.05:
            layout.rule(layout.y, 0.8)
            layout.new_page()
            _table_header(layout, f"{table.title} (continued)", header, widths, header_h)
        if index % 2 == 1:
            layout.fig.add_artist(
                Rectangle(
                    (LEFT / PAGE_W, 1 - (layout.y + height) / PAGE_H),
                    USABLE_W / PAGE_W,
                    height / PAGE_H,
                    fc="0.955",
                    lw=0,
                    transform=layout.fig.transFigure,
                    zorder=0,
                )
            )
        weight = "bold" if index in table.section_rows else "normal"
        _cells(layout, row, widths, weight)
        layout.y += height
    layout.rule(layout.y, 0.8)
    layout.y += 0.08
    if table.footnote:
        for line in textwrap.wrap(table.footnote, 130):
            layout.text(LEFT, layout.y, line, fontsize=6.5, style="italic", color="0.25")
            layout.y += 0.13
    layout.y += 0.25


def _table_header(
    layout: _Layout, title: str, header: list[list[str]], widths: list[float], height: float
) -> None:
    layout.text(LEFT, layout.y, title, fontsize=9.5, fontweight="bold")
    layout.y += 0.28
    layout.rule(layout.y, 0.8)
    layout.y += 0.04
    _cells(layout, header, widths, "bold")
    layout.y += height - 0.04
    layout.rule(layout.y, 0.5)
    layout.y += 0.03


def _cells(layout: _Layout, row: list[list[str]], widths: list[float], weight: str) -> None:
    x = LEFT
    for lines, width in zip(row, widths, strict=True):
        layout.text(
            x + 0.05,
            layout.y + 0.02,
            "\n".join(line.rstrip() for line in lines),
            fontsize=FONT,
            fontweight=weight,
            linespacing=1.25,
        )
        x += width
