"""The trial report's in-field / out-of-field (abscopal) response table: placed in the tumour-response
section (not with the treatment tables), with the protocol's rule and its source in the footnote."""

from __future__ import annotations

from tests.unit.endpoints.helpers import protocol
from trialdesk.adapters.report import render_report, report_content
from trialdesk.adapters.report.content import FIELD_RESPONSE_TITLE
from trialdesk.adapters.report.tables import Table
from trialdesk.analysis.synthetic import synthetic_snapshot
from trialdesk.services.rt_fields import FIELD_RESPONSE_TITLE as SERVICE_TITLE

ROW = {
    "Arm": "A",
    "Subjects with flagged lesions": "2",
    "Out-of-field responses": "1 of 2 (50%)",
    "In-field responses (CR/PR)": "2 of 2 (100%)",
    "Best change in field, median": "-38.9%",
    "Best change out of field, median": "-27.5%",
}


def _tables(protocol_id: str, rows: list[dict[str, str]]) -> dict[str, list[Table]]:
    snapshot = synthetic_snapshot(protocol(protocol_id), 12, seed=3).model_copy(
        update={"treatment_tables": {FIELD_RESPONSE_TITLE: rows}}
    )
    content = report_content(snapshot)
    return {s.title: [b for b in s.blocks if isinstance(b, Table)] for s in content.sections}


def test_the_table_is_in_the_tumour_response_section_with_the_rule() -> None:
    assert FIELD_RESPONSE_TITLE == SERVICE_TITLE  # the service files it under the title the report reads
    by_section = _tables("scr-escc-01", [ROW])
    table = next(t for t in by_section["Tumour response"] if t.title == FIELD_RESPONSE_TITLE)
    assert table.columns == list(ROW) and table.rows == [list(ROW.values())]
    assert table.footnote is not None and "at least 30% below its baseline" in table.footnote
    assert "PEMBRO-RT" in table.footnote
    assert "confirmed >=" not in table.footnote  # seed 002 does not require confirmation
    assert all(t.title != FIELD_RESPONSE_TITLE for t in by_section["Treatment exposure"])


def test_confirmation_is_stated_when_the_protocol_requires_it_and_no_rows_no_table() -> None:
    confirmed = protocol("ivo-shfrt-2l").tumour_assessment.confirmation_required.value
    by_section = _tables("ivo-shfrt-2l", [ROW | {"Arm": "ivo-shfrt"}])
    table = next(t for t in by_section["Tumour response"] if t.title == FIELD_RESPONSE_TITLE)
    assert table.footnote is not None and ("confirmed >= 28 days later" in table.footnote) == confirmed
    assert all(t.title != FIELD_RESPONSE_TITLE for t in _tables("ivo-shfrt-2l", [])["Tumour response"])


def test_the_html_report_shows_the_table() -> None:
    snapshot = synthetic_snapshot(protocol("scr-escc-01"), 12, seed=3).model_copy(
        update={"treatment_tables": {FIELD_RESPONSE_TITLE: [ROW]}}
    )
    html = render_report(snapshot, "html").decode("utf-8")
    assert FIELD_RESPONSE_TITLE in html and "1 of 2 (50%)" in html
