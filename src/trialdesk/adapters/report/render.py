"""Render a trial report from a :class:`~trialdesk.analysis.snapshot.ReportSnapshot`.

``render_report(snapshot, "pdf")`` gives a multi-page A4 PDF (matplotlib's PDF backend);
``render_report(snapshot, "html")`` one self-contained HTML page (Jinja2, inline SVG figures). Both
state the data cut-off, the protocol version and the software version on the first page, and print
"SYNTHETIC DATA" on every page of a synthetic snapshot. Contents: CONSORT flow diagram, baseline
characteristics, PFS and OS (Kaplan-Meier with numbers at risk and censor marks, medians, landmark
rates, follow-up, log-rank / Cox or the one-sample log-rank test), tumour response (ORR / DCR with
exact CIs, waterfall and spider plots), DOR, treatment exposure (swimmer plot), safety tables, and
the endpoint-derivation appendix.
"""

from __future__ import annotations

from typing import Literal

from trialdesk.adapters.report.content import ReportContent, build_content
from trialdesk.adapters.report.html import render_html
from trialdesk.adapters.report.pdf import render_pdf
from trialdesk.analysis.snapshot import ReportSnapshot

ReportFormat = Literal["html", "pdf"]


def render_report(snapshot: ReportSnapshot, fmt: ReportFormat) -> bytes:
    """The report of ``snapshot`` as PDF or HTML bytes (``ValueError`` for another format)."""
    return render_content(build_content(snapshot), fmt)


def render_content(content: ReportContent, fmt: ReportFormat) -> bytes:
    """An already built report outline as PDF or HTML bytes (``ValueError`` for another format)."""
    if fmt not in ("html", "pdf"):
        raise ValueError(f"unknown report format {fmt!r}: expected 'html' or 'pdf'")
    return render_pdf(content) if fmt == "pdf" else render_html(content)


def report_content(snapshot: ReportSnapshot) -> ReportContent:
    """The report outline (sections, tables, figures) with the derived dataset and analyses."""
    return build_content(snapshot)
