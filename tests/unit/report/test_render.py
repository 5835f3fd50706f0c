"""The rendered report: PDF pages (checked with pypdf), HTML, and what every page must state."""

from __future__ import annotations

import io
import re
from functools import cache

import pytest
from pypdf import PdfReader

from tests.unit.endpoints.helpers import protocol
from trialdesk.adapters.report import render_report, report_content
from trialdesk.analysis.snapshot import ReportSnapshot
from trialdesk.analysis.synthetic import synthetic_snapshot
from trialdesk.domain.endpoints import apply_cutoff

SECTIONS = [
    "CONSORT flow diagram",
    "Baseline characteristics",
    "Progression-free survival",
    "Overall survival",
    "Tumour response",
    "Duration of response",
    "Treatment exposure",
    "Safety",
    "Endpoint derivation",
]


@cache
def _snapshot(protocol_id: str, n: int) -> ReportSnapshot:
    return synthetic_snapshot(protocol(protocol_id), n, seed=11)


@cache
def _pdf(protocol_id: str, n: int) -> bytes:
    return render_report(_snapshot(protocol_id, n), "pdf")


def _squash(text: str) -> str:
    """Text without whitespace (pypdf may split a word where matplotlib kerns, e.g. 'T umour')."""
    return re.sub(r"\s+", "", text)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize(("protocol_id", "n"), [("ivo-shfrt-2l", 24), ("scr-escc-01", 40)])
def test_pdf_has_title_page_facts_sections_and_synthetic_label_on_every_page(
    protocol_id: str, n: int
) -> None:
    snapshot = _snapshot(protocol_id, n)
    pdf = _pdf(protocol_id, n)
    assert pdf.startswith(b"%PDF-")
    pages = _pages(pdf)
    first = _squash(pages[0])
    assert _squash(f"Data cut-off {snapshot.cutoff.isoformat()}") in first
    assert _squash(f"{protocol_id}, version {snapshot.protocol.version}") in first
    assert _squash(f"trialdesk {snapshot.software_version}") in first
    everything = _squash("\n".join(pages))
    sections = list(SECTIONS)
    if snapshot.protocol.design.type == "single_arm":  # issue 10: the one-sample test's type I error
        sections.insert(sections.index("Endpoint derivation"), "Design operating characteristics")
        assert _squash("type I error") in everything and _squash("calibrated") in everything
    for number, title in enumerate(sections, start=1):
        assert _squash(f"{number}. {title}") in everything, title
    assert all("SYNTHETIC DATA" in page for page in pages)
    assert all(snapshot.cutoff.isoformat() in page for page in pages)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title is not None
    assert snapshot.cutoff.isoformat() in reader.metadata.title


@pytest.mark.parametrize(("protocol_id", "n", "figures"), [("ivo-shfrt-2l", 24, 7), ("scr-escc-01", 40, 11)])
def test_pdf_has_every_figure_once_and_the_expected_pages(protocol_id: str, n: int, figures: int) -> None:
    # Seed 000: CONSORT, PFS KM, OS KM, waterfall, spider, DOR KM, swimmer. Seed 002 adds a second KM
    # of PFS, OS and DOR and a second swimmer plot (run-in and randomized phases).
    content = report_content(_snapshot(protocol_id, n))
    assert content.figure_count == figures
    pages = _pages(_pdf(protocol_id, n))
    text = _squash("\n".join(pages))
    for number in range(1, figures + 1):
        assert text.count(_squash(f"Figure {number}.")) == 1, number
    assert _squash(f"Figure {figures + 1}.") not in text
    # A title page plus at least one page per section; each page states its number.
    assert len(pages) >= 1 + len(SECTIONS)
    assert all(f"Page {i} of {len(pages)}" in page for i, page in enumerate(pages, start=1))


def test_pdf_states_the_analysis_results_of_the_protocol() -> None:
    text = _squash("\n".join(_pages(_pdf("ivo-shfrt-2l", 24))))
    assert _squash("One-sample log-rank test against the historical control") in text
    assert _squash("3.4 (Weibull shape 1)") in text
    assert _squash("Time to response (responders)") in text
    assert _squash("Median follow-up") in text
    randomized = _squash("\n".join(_pages(_pdf("scr-escc-01", 40))))
    assert _squash("Cox proportional hazards (Efron ties) stratified by: ecog") in randomized
    assert _squash("Arm A (experimental) vs Arm B (control)") in randomized


def test_safety_tables_are_rendered_when_present_and_announced_when_absent() -> None:
    assert "Safety tables not available" in "\n".join(_pages(_pdf("ivo-shfrt-2l", 24)))
    tables = {
        "Adverse events by worst CTCAE grade": [{"Term": "Pneumonitis", "Grade 3": 2, "Grade 5": 0}],
        "Serious adverse events": [
            {"term": "Sepsis", "serious": True, "treatment_related": False, "grade": 4}
        ],
    }
    snapshot = _snapshot("ivo-shfrt-2l", 24).model_copy(update={"safety_tables": tables, "synthetic": False})
    pages = _pages(render_report(snapshot, "pdf"))
    text = "\n".join(pages)
    assert "Adverse events by worst CTCAE grade" in text and "Pneumonitis" in text
    assert snapshot.safety_tables is not None
    assert snapshot.safety_tables["Serious adverse events"][0]["serious"] is True  # kept as a boolean
    assert re.search(r"Sepsis\s+yes\s+no\s+4", text)
    assert "Safety tables not available" not in text
    assert not any("SYNTHETIC" in page for page in pages)


def test_html_report_has_sections_inline_svg_figures_and_facts() -> None:
    snapshot = _snapshot("scr-escc-01", 40)
    html = render_report(snapshot, "html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for title in SECTIONS:
        assert title in html
    assert html.count("<svg") == report_content(snapshot).figure_count
    assert f"<dd>{snapshot.cutoff.isoformat()}</dd>" in html
    assert "scr-escc-01, version 1.0" in html
    assert f"trialdesk {snapshot.software_version}" in html
    assert html.count("SYNTHETIC DATA") >= len(SECTIONS)


def test_rendering_is_reproducible() -> None:
    snapshot = _snapshot("ivo-shfrt-2l", 24)
    assert render_report(snapshot, "pdf") == _pdf("ivo-shfrt-2l", 24)
    assert render_report(snapshot, "html") == render_report(snapshot, "html")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render_report(_snapshot("ivo-shfrt-2l", 24), "docx")  # type: ignore[arg-type]


def test_data_after_the_cutoff_do_not_change_the_report() -> None:
    full = _snapshot("ivo-shfrt-2l", 24)
    known_then = [
        s for s in (apply_cutoff(subject, full.cutoff) for subject in full.subjects) if s is not None
    ]
    assert known_then != full.subjects  # the synthetic data run past the cut-off
    truncated = full.model_copy(update={"subjects": known_then})
    assert render_report(truncated, "pdf") == _pdf("ivo-shfrt-2l", 24)
