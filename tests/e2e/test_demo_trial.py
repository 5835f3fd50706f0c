"""The demo: a SYNTHETIC trial of each protocol run end to end through the API (screening,
attestation, signed enrolment, run-in gate and randomization for SCR-ESCC-01, tumour assessments,
adverse events, follow-up), whose PDF report is generated and checked."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.main import app
from trialdesk.entrypoints.demo import run_demo
from trialdesk.protocols import load_registry

SECTIONS = (
    "CONSORT flow diagram",
    "Baseline characteristics",
    "Progression-free survival",
    "Overall survival",
    "(waterfall)",
    "(spider)",
    "(swimmer)",
    "Duration of response",
    "Safety",
)


def _text(pdf: bytes) -> tuple[int, str, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    return len(pages), "\n".join(pages), pages


@pytest.mark.parametrize(("protocol_id", "subjects"), [("ivo-shfrt-2l", 16), ("scr-escc-01", 48)])
def test_synthetic_trial_through_the_api_produces_a_checked_report(
    protocol_id: str, subjects: int, tmp_path: Path
) -> None:
    protocol = load_registry().get(protocol_id)
    result = run_demo(protocol, subjects=subjects, seed=7, workdir=tmp_path)
    assert result.enrolled == subjects and result.screened > subjects  # screen failures too
    assert result.assessments > subjects and result.adverse_events > 0
    assert result.audit_ok and result.audit_rows > 500
    if protocol_id == "scr-escc-01":
        assert result.randomized > 0 and set(result.arms) == {"A", "B"}
    else:
        assert result.randomized == 0 and set(result.arms) == {"ivo-shfrt"}
    count, text, pages = _text(result.report)
    assert result.report.startswith(b"%PDF") and count >= 8
    assert all("SYNTHETIC DATA" in page for page in pages)
    assert f"Data cut-off {result.cutoff.isoformat()}" in pages[0]
    assert f"Protocol {protocol_id}, version {protocol.version}" in pages[0]
    for section in SECTIONS:
        assert section in text, section
    figures = [line for line in text.splitlines() if line.startswith("Figure ")]
    assert len(figures) >= 6
    if protocol_id == "scr-escc-01":
        assert "stratified log-rank" in text and "Hazard ratio" in text


def test_demo_command_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "demo.html"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "ivo-shfrt-2l",
            "--subjects",
            "8",
            "--format",
            "html",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path / "db"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "SYNTHETIC" in html and "<svg" in html


def test_demo_command_refuses_bad_options() -> None:
    result = CliRunner().invoke(app, ["demo", "ivo-shfrt-2l", "--subjects", "1"])
    assert result.exit_code == 2 and "--subjects" in result.stderr
