"""`trialdesk ip reconcile`: the investigational-product reconciliation of the stored dispensing log
(per site and lot, and per subject against the doses given). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"
BASE = f"/api/trials/{IVO}"
runner = CliRunner()


def test_ip_reconcile_prints_lots_and_flags_a_subject(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(database_url, tmp_path)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "IVO-IP-1")
        start = {"treatment_start_date": "2026-03-09"}
        assert api.put("inv1", f"{BASE}/subjects/{subject_id}/follow-up", start).status_code == 200
        receipt = {
            "site_code": "S01",
            "agent": "ivonescimab",
            "lot_number": "L-26A",
            "expiry_date": "2027-01-31",
            "quantity": 30,
            "received_date": "2026-03-02",
        }
        assert api.post("coord1", f"{BASE}/ip/receipts", receipt).status_code == 201
        dose = {
            "agent": "ivonescimab",
            "cycle": 1,
            "date": "2026-03-09",
            "given_dose_mg": 1200,
            "weight_kg": 60,
        }
        assert api.post("coord1", f"{BASE}/subjects/{subject_id}/administrations", dose).status_code == 201
        out = {"agent": "ivonescimab", "lot_number": "L-26A", "quantity": 7, "dispensed_date": "2026-03-09"}
        assert api.post("coord1", f"{BASE}/subjects/{subject_id}/dispensations", out).status_code == 201
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    result = runner.invoke(app, ["ip", "reconcile", IVO, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    [lot] = data["lots"]
    assert (lot["site_code"], lot["received"], lot["dispensed"], lot["on_hand"]) == ("S01", 30, 7, 23)
    [check] = data["subjects"]
    # 1200 mg = 6 vials of 200 mg given, 7 dispensed and none returned: one vial unaccounted for
    assert (check["units_expected"], check["units_used"], check["difference"], check["flagged"]) == (
        6,
        7,
        1,
        True,
    )
    table = runner.invoke(app, ["ip", "reconcile", IVO, "--site", "S01"])
    assert table.exit_code == 0, table.output
    assert "L-26A" in table.output and "IVO-IP-1" in table.output and "1 subject(s)" in table.output
    earlier = json.loads(
        runner.invoke(app, ["ip", "reconcile", IVO, "--as-of", "2026-03-01", "--json"]).output
    )
    assert earlier["lots"] == [] and earlier["subjects"] == []
    unknown = runner.invoke(app, ["ip", "reconcile", IVO, "--site", "S99"])
    assert unknown.exit_code == 2 and "no site S99" in unknown.output
    bad_date = runner.invoke(app, ["ip", "reconcile", IVO, "--as-of", "yesterday"])
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.output
    none = runner.invoke(app, ["ip", "reconcile", "scr-escc-01"])
    assert none.exit_code == 0 and "no investigational product" in none.output
