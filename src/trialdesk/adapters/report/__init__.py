"""Trial report rendering: matplotlib figures, tables, PDF (matplotlib PdfPages) and HTML (Jinja2)."""

from trialdesk.adapters.report.render import ReportFormat, render_report, report_content

__all__ = ["ReportFormat", "render_report", "report_content"]
