"""HTML rendering of a :class:`~trialdesk.adapters.report.content.Document` (trial report and safety
report): one self-contained page (Jinja2 template, figures as inline SVG, tables as HTML)."""

from __future__ import annotations

import io

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from trialdesk.adapters.report.content import Document, FigureBlock, NoteBlock, ReportContent
from trialdesk.adapters.report.style import report_style
from trialdesk.adapters.report.tables import Table

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ doc.metadata_title }}</title>
<style>
 body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 13px; margin: 2em auto; max-width: 960px;
        color: #222; }
 h1 { font-size: 22px; margin-bottom: 0.2em; } h2 { font-size: 17px; border-bottom: 1px solid #999;
      margin-top: 2em; }
 .synthetic { background: #B2182B; color: white; font-weight: bold; text-align: center; padding: 4px;
              letter-spacing: 0.1em; }
 table { border-collapse: collapse; margin: 0.8em 0; font-size: 12px; }
 caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
 th, td { padding: 3px 8px; text-align: left; vertical-align: top; }
 thead th { border-top: 1.5px solid #000; border-bottom: 1px solid #000; }
 tbody tr:last-child td { border-bottom: 1.5px solid #000; } tbody tr:nth-child(even) { background: #f4f4f4; }
 tr.section td { font-weight: bold; }
 .footnote { font-size: 11px; font-style: italic; color: #444; margin-top: -0.4em; }
 figure { margin: 1.2em 0; } figure svg { max-width: 100%; height: auto; }
 dl.facts { display: grid; grid-template-columns: 12em auto; row-gap: 2px; }
 dl.facts dt { font-weight: bold; }
</style>
</head>
<body>
{% if synthetic %}<div class="synthetic">SYNTHETIC DATA - simulated subjects, not patients</div>{% endif %}
<p>{{ doc.kind_line }}</p>
<h1>{{ doc.title }}</h1>
<p>{{ doc.subtitle }}</p>
<dl class="facts">{% for key, value in doc.facts %}
 <dt>{{ key }}</dt><dd>{{ value }}</dd>{% endfor %}
</dl>
<p class="footnote">{{ doc.note }}</p>
<nav><ol>{% for section in sections %}
 <li><a href="#s{{ loop.index }}">{{ section.title }}</a></li>{% endfor %}
</ol></nav>
{% for section in sections %}
<section id="s{{ loop.index }}">
<h2>{{ loop.index }}. {{ section.title }}</h2>
{% if synthetic %}<div class="synthetic">SYNTHETIC DATA</div>{% endif %}
{% for block in section.blocks %}
{% if block.kind == "table" %}
<table>
 <caption>{{ block.table.title }}</caption>
 <thead><tr>{% for c in block.table.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
 <tbody>{% for row in block.table.rows %}
  <tr{% if loop.index0 in block.table.section_rows %} class="section"{% endif %}>
   {% for cell in row %}<td>{{ cell }}</td>{% endfor %}
  </tr>{% endfor %}
 </tbody>
</table>
{% if block.table.footnote %}<p class="footnote">{{ block.table.footnote }}</p>{% endif %}
{% elif block.kind == "figure" %}
<figure id="figure-{{ block.number }}" aria-label="{{ block.caption_text }}">{{ block.svg }}</figure>
{% else %}
<p>{{ block.text }}</p>
{% endif %}
{% endfor %}
</section>
{% endfor %}
<footer><p>{{ doc.footer_left }} · {{ doc.header_right }}
{%- if synthetic %} · SYNTHETIC DATA{% endif %}</p></footer>
</body>
</html>
"""


def _svg(block: FigureBlock) -> Markup:
    fig = block.build(block.size, (0.1, 0.1, 0.96, 0.93), None)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])  # matplotlib's own SVG output, not user input


def render_html(content: ReportContent | Document) -> bytes:
    """The document as one UTF-8 HTML page with inline SVG figures (each figure's caption is its title,
    drawn once, inside the figure)."""
    document = content.document() if isinstance(content, ReportContent) else content
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    with report_style():
        sections = []
        for section in document.sections:
            blocks: list[dict[str, object]] = []
            for block in section.blocks:
                if isinstance(block, Table):
                    blocks.append({"kind": "table", "table": block})
                elif isinstance(block, FigureBlock):
                    blocks.append(
                        {
                            "kind": "figure",
                            "number": block.number,
                            "svg": _svg(block),
                            "caption_text": block.caption,
                        }
                    )
                elif isinstance(block, NoteBlock):
                    blocks.append({"kind": "note", "text": block.text})
            sections.append({"title": section.title, "blocks": blocks})
    html = env.from_string(TEMPLATE).render(doc=document, synthetic=document.synthetic, sections=sections)
    return html.encode("utf-8")
