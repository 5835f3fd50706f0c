"""PDF rendering of a :class:`~trialdesk.adapters.report.content.Document` (the trial report and the
safety report) with matplotlib's PDF backend (``PdfPages``): A4 portrait or landscape pages with a
running header (title, data cut-off, "SYNTHETIC DATA" when synthetic) and footer (protocol version,
software version, page n of N); tables fill the page width, cells wrap, and long tables continue on
the next pages with their header repeated; figures are vector graphics; text is embedded as TrueType
(``pdf.fonttype`` 42) so it can be searched and extracted.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from trialdesk.adapters.report.content import Document, FigureBlock, NoteBlock, ReportContent
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
MAX_WORD_W = 1.4  # inches: the widest word a table column is widened for


@dataclass
class _Layout:
    """Pages being filled top to bottom; ``y`` is the next free position in inches from the top."""

    page_w: float = PAGE_W
    page_h: float = PAGE_H
    pages: list[Figure] = field(default_factory=list)
    y: float = TOP
    turned_back: bool = False  # the last table was drawn on landscape pages of a portrait document

    @property
    def usable_w(self) -> float:
        return self.page_w - LEFT - RIGHT

    @property
    def fig(self) -> Figure:
        return self.pages[-1]

    def new_page(self, landscape: bool | None = None) -> None:
        """Start a page (``landscape`` True / False switches the orientation; None keeps it)."""
        if landscape is not None:
            short, long = sorted((self.page_w, self.page_h))
            self.page_w, self.page_h = (long, short) if landscape else (short, long)
        self.pages.append(Figure(figsize=(self.page_w, self.page_h)))
        self.y = TOP

    def room(self) -> float:
        return self.page_h - BOTTOM - self.y

    def ensure(self, height: float) -> bool:
        """Start a new page unless ``height`` inches fit; True when a page was started."""
        if height > self.room() and self.y > TOP + 1e-9:
            self.new_page()
            return True
        return False

    def text(self, x: float, y: float, s: str, **kwargs: object) -> None:
        self.fig.text(x / self.page_w, 1 - y / self.page_h, s, va="top", **kwargs)  # type: ignore[arg-type]

    def rule(self, y: float, lw: float) -> None:
        self.fig.add_artist(
            Rectangle(
                (LEFT / self.page_w, 1 - y / self.page_h),
                self.usable_w / self.page_w,
                0,
                lw=lw,
                ec="black",
                transform=self.fig.transFigure,
            )
        )


def pdf_pages(content: ReportContent | Document) -> list[Figure]:
    """The document's A4 pages as matplotlib figures (title page first), headers and footers drawn.

    Call inside :func:`report_style` so the figures carry the report's fonts.
    """
    document = content.document() if isinstance(content, ReportContent) else content
    layout = _Layout(PAGE_H, PAGE_W) if document.landscape else _Layout()
    _title_page(layout, document)
    for number, section in enumerate(document.sections, start=1):
        layout.turned_back = False
        layout.new_page(landscape=document.landscape)
        layout.text(LEFT, layout.y, f"{number}. {section.title}", fontsize=13, fontweight="bold")
        layout.y += 0.45
        for block in section.blocks:
            if layout.turned_back:
                layout.turned_back = False
                layout.new_page(landscape=document.landscape)
            if isinstance(block, Table):
                _table(layout, block)
            elif isinstance(block, FigureBlock):
                _figure(layout, block)
            elif isinstance(block, NoteBlock):
                _note(layout, block.text)
    total = len(layout.pages)
    for index, page in enumerate(layout.pages, start=1):
        _decorate(layout, page, document, index, total)
    return layout.pages


def render_pdf(content: ReportContent | Document) -> bytes:
    """The whole document as PDF bytes: a title page, then each section from a new page."""
    document = content.document() if isinstance(content, ReportContent) else content
    metadata = {
        "Title": document.metadata_title,
        "Author": "trialdesk",
        "Subject": document.metadata_subject,
        "Creator": document.creator,
        "CreationDate": None,
    }
    buffer = io.BytesIO()
    with report_style():
        pages = pdf_pages(document)
        with PdfPages(buffer, metadata=metadata) as pdf:
            for page in pages:
                pdf.savefig(page)
    return buffer.getvalue()


def _title_page(layout: _Layout, document: Document) -> None:
    layout.new_page()
    layout.y = 1.6
    wide = layout.usable_w / CHAR_W
    layout.text(LEFT, layout.y, document.kind_line, fontsize=11, color="0.35")
    layout.y += 0.4
    for line in textwrap.wrap(document.title, int(wide * 0.42)):
        layout.text(LEFT, layout.y, line, fontsize=18, fontweight="bold")
        layout.y += 0.36
    layout.y += 0.1
    for line in textwrap.wrap(document.subtitle, int(wide * 0.9)):
        layout.text(LEFT, layout.y, line, fontsize=8.5, color="0.25")
        layout.y += 0.17
    layout.y += 0.35
    for key, value in document.facts:
        layout.text(LEFT, layout.y, key, fontsize=10, fontweight="bold")
        lines = textwrap.wrap(value, int((layout.usable_w - 2.1) / 0.085)) or [""]
        layout.text(LEFT + 2.1, layout.y, "\n".join(lines), fontsize=10, linespacing=1.3)
        layout.y += 0.27 + 0.17 * (len(lines) - 1)
    layout.y += 0.35
    layout.text(LEFT, layout.y, "Contents", fontsize=11, fontweight="bold")
    layout.y += 0.3
    for number, section in enumerate(document.sections, start=1):
        layout.text(LEFT + 0.2, layout.y, f"{number}. {section.title}", fontsize=9.5)
        layout.y += 0.22
    layout.y += 0.3
    for line in textwrap.wrap(document.note, int(wide * 1.15)):
        layout.text(LEFT, layout.y, line, fontsize=8, color="0.3")
        layout.y += 0.16


def _decorate(layout: _Layout, page: Figure, document: Document, index: int, total: int) -> None:
    page_w, page_h = (float(v) for v in page.get_size_inches())
    usable_w = page_w - LEFT - RIGHT
    top = 1 - 0.45 / page_h
    bottom = 0.4 / page_h
    page.text(LEFT / page_w, top, _clip(document.header_left, 58), fontsize=7, color="0.3", va="bottom")
    page.text(
        1 - RIGHT / page_w, top, document.header_right, fontsize=7, color="0.3", ha="right", va="bottom"
    )
    page.add_artist(
        Rectangle(
            (LEFT / page_w, top - 0.05 / page_h),
            usable_w / page_w,
            0,
            lw=0.5,
            ec="0.5",
            transform=page.transFigure,
        )
    )
    page.text(LEFT / page_w, bottom, document.footer_left, fontsize=7, color="0.3")
    page.text(1 - RIGHT / page_w, bottom, f"Page {index} of {total}", fontsize=7, color="0.3", ha="right")
    if document.synthetic:
        page.text(
            1 - (RIGHT + 1.45) / page_w,
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
    lines = textwrap.wrap(text, int(layout.usable_w / 0.068))
    layout.ensure(0.18 * len(lines) + 0.1)
    for line in lines:
        layout.text(LEFT, layout.y, line, fontsize=9)
        layout.y += 0.18
    layout.y += 0.15


def _figure(layout: _Layout, block: FigureBlock) -> None:
    height = min(block.height_in, layout.page_h - TOP - BOTTOM - 0.1)
    layout.ensure(height + 0.1)
    top = layout.y
    w, h = layout.page_w, layout.page_h
    rect = (LEFT / w, 1 - (top + height) / h, 1 - RIGHT / w, 1 - top / h)
    block.build((w, h), rect, layout.fig)
    layout.y += height + 0.25


def _column_widths(table: Table, usable_w: float) -> list[float]:
    cells = [table.columns, *table.rows]
    natural = [
        max(len(row[i]) if i < len(row) else 0 for row in cells) * CHAR_W + 0.15
        for i in range(len(table.columns))
    ]
    total = sum(natural)
    if total <= usable_w:
        return [w + (usable_w - total) / len(natural) for w in natural]
    # Too wide: give every column at least its longest word (header or cell, at most MAX_WORD_W inches,
    # so words are not broken), shrink the rest proportionally.
    floor = _word_floor(table)
    if sum(floor) > usable_w:  # even the words do not fit: fall back to the headers' words
        floor = [max(len(w) for w in (c.split() or [""])) * CHAR_W + 0.15 for c in table.columns]
    spare = usable_w - sum(floor)
    extra = [max(n - f, 0.0) for n, f in zip(natural, floor, strict=True)]
    scale = spare / sum(extra) if sum(extra) > 0 else 0.0
    return [f + e * max(scale, 0.0) for f, e in zip(floor, extra, strict=True)]


def _word_floor(table: Table) -> list[float]:
    """Each column's width for its longest word (header or cell; at most MAX_WORD_W inches)."""
    cells = [table.columns, *table.rows]
    return [
        min(
            max(len(w) for row in cells if i < len(row) for w in (row[i].split(" ") or [""])) * CHAR_W,
            MAX_WORD_W,
        )
        + 0.15
        for i in range(len(table.columns))
    ]


def _wrap(text: str, width: float) -> list[str]:
    return textwrap.wrap(text, max(4, int((width - 0.1) / CHAR_W)), drop_whitespace=False) or [""]


def _table(layout: _Layout, table: Table) -> None:
    portrait = layout.page_h > layout.page_w
    turned = portrait and sum(_word_floor(table)) > layout.usable_w
    if turned:  # too wide for a portrait page without breaking words: landscape pages for this table
        layout.new_page(landscape=True)
    widths = _column_widths(table, layout.usable_w)
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
                    (LEFT / layout.page_w, 1 - (layout.y + height) / layout.page_h),
                    layout.usable_w / layout.page_w,
                    height / layout.page_h,
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
    if turned:
        layout.turned_back = True
    if table.footnote:
        for line in textwrap.wrap(table.footnote, int(layout.usable_w / 0.054)):
            layout.text(LEFT, layout.y, line, fontsize=6.5, style="italic", color="0.25")
            layout.y += 0.13
    layout.y += 0.25


def _table_header(
    layout: _Layout, title: str, header: list[list[str]], widths: list[float], height: float
) -> None:
    for line in textwrap.wrap(title, int(layout.usable_w / 0.085)):
        layout.text(LEFT, layout.y, line, fontsize=9.5, fontweight="bold")
        layout.y += 0.2
    layout.y += 0.08
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
