"""The DSMB safety report (:func:`trialdesk.services.safety_report.safety_report`) as a
:class:`~trialdesk.adapters.report.content.Document`, rendered by the trial report's PDF and HTML engine
(one table engine for both reports): A4 landscape pages, tables filling the page width, wrapped cells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from trialdesk.adapters.report.content import Document, NoteBlock, Section
from trialdesk.adapters.report.html import render_html
from trialdesk.adapters.report.pdf import render_pdf
from trialdesk.adapters.report.safety import safety_report_tables
from trialdesk.adapters.report.style import report_style
from trialdesk.analysis.safety_tables import TABLE_TITLES, TOTAL
from trialdesk.domain.protocol import Protocol


def safety_document(report: Mapping[str, Any], protocol: Protocol) -> Document:
    """The DSMB safety report (:func:`trialdesk.services.safety_report.safety_report`) as a document
    for the report engine: landscape A4 pages, tables filling the page width."""
    cutoff = dt.date.fromisoformat(str(report["cutoff"]))
    tables = safety_report_tables(report["tables"], protocol, report.get("components"))
    sections = [
        Section(
            "Methods",
            [
                NoteBlock(
                    f"Data cut-off {cutoff.isoformat()}: a subject counts when enrolled on or before the "
                    "cut-off, an adverse event when its onset is on or before it, a death when its date is "
                    "on or before it. AE counts are subjects by their maximum CTCAE v5.0 grade; "
                    "treatment-related means an attribution of possible, probable or definite to any "
                    "component. Stopping-rule probabilities are exact binomial P(X >= threshold)."
                )
            ],
        ),
        Section("Exposure and adverse events", [t for t in tables if not _later(t.title)]),
        Section("Deaths, stopping rules and toxicity monitoring", [t for t in tables if _later(t.title)]),
    ]
    return Document(
        kind_line="Safety report to the data and safety monitoring board",
        title=f"Safety report: {report['title']}",
        subtitle=protocol.title,
        facts=[
            ("Data cut-off", cutoff.isoformat()),
            ("Protocol", f"{report['protocol_id']}, version {report['protocol_version']}"),
            ("Generated", str(report["generated_at"])),
            *([("Data lock", str(report["data_lock"]))] if report.get("data_lock") else []),
            ("Trial state", f"{report['phase_state']} ({report['state_reason']})"),
            ("Grading", str(report["ctcae_version"])),
            (
                "Groups",
                ", ".join(f"{report['group_labels'].get(g, g)}" for g in report["groups"] if g != TOTAL),
            ),
        ],
        sections=sections,
        header_left=protocol.short_title,
        header_right=f"Data cut-off: {cutoff.isoformat()}",
        footer_left=f"Protocol {report['protocol_id']} version {report['protocol_version']} · safety report",
        landscape=True,
        metadata_title=f"{protocol.short_title}: safety report, cut-off {cutoff.isoformat()}",
    )


LATER_KEYS = (
    "deaths",
    "stopping_rules",
    "stopping_rule_probabilities",
    "toxicity_monitoring",
    "toxicity_boundary",
)


def _later(title: str) -> bool:
    return any(title == TABLE_TITLES[k] for k in LATER_KEYS)


def render_safety_report(report: Mapping[str, Any], protocol: Protocol, fmt: str) -> bytes:
    """The safety report as PDF or HTML bytes (``ValueError`` for another format)."""
    if fmt not in ("html", "pdf"):
        raise ValueError(f"unknown safety report format {fmt!r}: expected 'html' or 'pdf'")
    document = safety_document(report, protocol)
    with report_style():
        return render_pdf(document) if fmt == "pdf" else render_html(document)
