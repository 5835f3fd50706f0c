"""Render the safety report (:func:`trialdesk.services.safety_report.safety_report`) as HTML or PDF.

HTML: one Jinja2 template (autoescaped), one table per section in report order. PDF: matplotlib's
PDF backend (``PdfPages``), a title page then each table on as many A4-landscape pages as it needs.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from jinja2 import Environment, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages

ROWS_PER_PAGE = 28
A4_LANDSCAPE = (11.69, 8.27)

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Safety report: {{ report.title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; font-size: 0.85em; }
th, td { border: 1px solid #999; padding: 0.2em 0.5em; text-align: left; }
th { background: #eee; }
td.num { text-align: right; }
.met { color: #b00; font-weight: bold; }
</style></head>
<body>
<h1>Safety report: {{ report.title }}</h1>
<p>Protocol {{ report.protocol_id }} version {{ report.protocol_version }};
generated {{ report.generated_at }}; {{ report.ctcae_version }}.</p>
<p>Trial state: <strong>{{ report.phase_state }}</strong> ({{ report.state_reason }})</p>
{% for key, title in report.titles.items() %}
<h2 id="{{ key }}">{{ title }}</h2>
{% set rows = report.tables[key] %}
{% if rows %}
<table>
<thead><tr>{% for column in rows[0].keys() %}<th>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for column, value in row.items() %}
<td class="{% if value is number and value is not boolean %}num{% endif %}
{%- if column in ("met", "warning") and value %} met{% endif %}">
{{- "" if value is none else value }}</td>
{% endfor %}</tr>
{% endfor %}
</tbody></table>
{% else %}
<p>None.</p>
{% endif %}
{% endfor %}
</body></html>
"""


def render_html(report: dict[str, Any]) -> str:
    """The report as a standalone HTML page."""
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(_TEMPLATE).render(report=report)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _table_pages(pdf: PdfPages, title: str, rows: list[dict[str, Any]]) -> None:
    chunks = [rows[i : i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [[]]
    for index, chunk in enumerate(chunks):
        figure = plt.figure(figsize=A4_LANDSCAPE)
        suffix = f" ({index + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        figure.suptitle(title + suffix, fontsize=11, x=0.02, ha="left")
        axes = figure.add_axes((0.02, 0.02, 0.96, 0.88))
        axes.axis("off")
        if chunk:
            columns = list(chunk[0].keys())
            table = axes.table(
                cellText=[[_cell(row.get(c)) for c in columns] for row in chunk],
                colLabels=columns,
                loc="upper left",
                cellLoc="left",
            )
            table.auto_set_font_size(False)
            table.set_fontsize(6)
            table.auto_set_column_width(list(range(len(columns))))
        else:
            axes.text(0.0, 0.95, "None.", fontsize=9)
        pdf.savefig(figure)  # type: ignore[no-untyped-call]
        plt.close(figure)


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as a PDF document (title page, then the tables)."""
    buffer = io.BytesIO()
    with PdfPages(
        buffer, metadata={"Title": f"Safety report: {report['title']}", "Creator": "trialdesk"}
    ) as pdf:
        figure = plt.figure(figsize=A4_LANDSCAPE)
        lines = [
            f"Safety report: {report['title']}",
            f"Protocol {report['protocol_id']} version {report['protocol_version']}",
            f"Generated {report['generated_at']}; {report['ctcae_version']}",
            f"Trial state: {report['phase_state']}",
            str(report["state_reason"]),
        ]
        for offset, line in enumerate(lines):
            figure.text(0.05, 0.9 - 0.06 * offset, line, fontsize=14 if offset == 0 else 10, wrap=True)
        pdf.savefig(figure)
        plt.close(figure)
        for key, title in report["titles"].items():
            _table_pages(pdf, title, report["tables"][key])
    return buffer.getvalue()
