"""The report's subject-disposition table: the CONSORT arm counts with treatment discontinuation and
study exit by coded reason (CONSORT 2010 flow diagram: "discontinued intervention (give reasons)",
"lost to follow-up (give reasons)"; Schulz et al., BMJ 2010;340:c332)."""

from __future__ import annotations

from trialdesk.adapters.report.disposition import disposition_table
from trialdesk.analysis.snapshot import ConsortArm, ConsortCounts
from trialdesk.protocols.loader import load_registry


def test_disposition_rows_add_up_by_reason() -> None:
    protocol = load_registry().get("ivo-shfrt-2l")
    arm = ConsortArm(
        phase_id="main",
        arm="ivo-shfrt",
        allocated=10,
        treated=9,
        not_treated=1,
        discontinued={"progressive disease": 4, "adverse event": 2},
        ongoing=3,
        left_study={"withdrawal of consent": 1, "lost to follow-up": 1},
        died=3,
        analysed=10,
    )
    consort = ConsortCounts(screened=12, screen_failed=2, arms=[arm])
    assert consort.arithmetic_errors() == []
    table = disposition_table(protocol, consort)
    assert table is not None
    cells = {row[0].strip(): row[1] for row in table.rows}
    assert cells["Discontinued treatment"] == "6" and cells["progressive disease"] == "4"
    assert cells["adverse event"] == "2" and cells["On treatment"] == "3"
    assert cells["Left the study"] == "2" and cells["lost to follow-up"] == "1"
    assert cells["withdrawal of consent"] == "1" and cells["Died"] == "3"
    assert cells["In follow-up"] == "5"  # 10 allocated - 2 left - 3 died
    assert disposition_table(protocol, ConsortCounts(screened=0, screen_failed=0)) is None
