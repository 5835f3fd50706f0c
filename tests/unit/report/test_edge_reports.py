"""Reports of very early or degenerate data still render, and say what cannot be estimated."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.unit.endpoints.helpers import day, protocol, scan, subject
from trialdesk.adapters.report import render_report, report_content
from trialdesk.analysis.snapshot import build_snapshot


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def test_randomized_report_with_an_arm_without_events_and_no_responders() -> None:
    subjects = [
        subject("A1", arm="A", phase_id="iib", strata={"ecog": "0"}, scans=[scan(42, 70.0)]),
        subject("A2", arm="A", phase_id="iib", strata={"ecog": "1"}, no_baseline=True),
        subject("B1", arm="B", phase_id="iib", strata={"ecog": "0"}, scans=[scan(42, 48.0)]),
    ]
    snapshot = build_snapshot(
        protocol("scr-escc-01"), day(100), subjects, screened=4, screen_failures={"x": 1}
    )
    content = report_content(snapshot)
    comparison = content.analysis.phase("iib").comparisons["PFS"]
    assert comparison.cox is None and comparison.note is not None and "monotone" in comparison.note
    text = _text(render_report(snapshot, "pdf"))
    assert "No responders at the data cut-off" in text
    assert "monotone likelihood" in text
    assert "NO BASELINE" in text


def test_single_arm_report_before_any_follow_up() -> None:
    snapshot = build_snapshot(protocol(), day(10), [subject("S1", scans=[])], screened=1, screen_failures={})
    content = report_content(snapshot)
    assert content.analysis.phase("main").historical is None  # no follow-up: no events expected yet
    assert content.dataset.records("PFS")[0].rule == "censored: no post-baseline assessment"
    assert render_report(snapshot, "pdf").startswith(b"%PDF-")
    assert b"<svg" in render_report(snapshot, "html")


def test_a_long_safety_table_continues_on_the_next_pages() -> None:
    rows: list[dict[str, str | int | float | None]] = [
        {
            "Preferred term": f"Adverse event term {i:03d}",
            "Any grade": i,
            "Grade >= 3": i % 4,
            "Grade 5": None,
        }
        for i in range(150)
    ]
    snapshot = build_snapshot(
        protocol(),
        day(100),
        [subject("S1", scans=[scan(42, 48.0)])],
        screened=1,
        screen_failures={},
        safety_tables={"Adverse events by preferred term": rows},
    )
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(render_report(snapshot, "pdf"))).pages]
    safety = [p for p in pages if "Adverse events by preferred term" in p]
    assert len(safety) >= 2
    assert all("(continued)" in p for p in safety[1:])
    text = "\n".join(safety)
    assert all(f"Adverse event term {i:03d}" in text for i in range(150))
