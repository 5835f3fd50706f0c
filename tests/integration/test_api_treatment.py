"""Treatment calendar API (issue 13): drug administrations with the planned dose derived by the
server, dose deviations that need a reason, exposure and RDI, the subject's calendar, visit outcomes
and the due/overdue list. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.api_helpers import Api
from trialdesk.adapters.db.models import AuditRecord

IVO = "ivo-shfrt-2l"
BASE = f"/api/trials/{IVO}/subjects"


def _treated(api: Api, number: str = "IVO-TX-1") -> int:
    subject_id = api.enrolled_subject(IVO, number)
    start = {"treatment_start_date": "2026-03-09"}
    assert api.put("inv1", f"{BASE}/{subject_id}/follow-up", start).status_code == 200
    return subject_id


def _dose(api: Api, subject_id: int, **changes: Any) -> Any:
    body = {"agent": "ivonescimab", "cycle": 1, "date": "2026-03-09", "given_dose_mg": 1200, "weight_kg": 60}
    body.update(changes)
    return api.post("coord1", f"{BASE}/{subject_id}/administrations", body)


def test_planned_dose_is_derived_by_the_server_from_weight(api: Api) -> None:
    subject_id = _treated(api)
    response = _dose(api, subject_id, planned_dose_mg=1)  # a client's planned dose is ignored
    assert response.status_code == 201, response.text
    assert response.json()["planned_dose_mg"] == 1200.0  # 20 mg/kg x 60 kg
    assert response.json()["entered_by"] == "coord1"


BAD_DOSES: list[tuple[dict[str, Any], str, str]] = [
    ({"given_dose_mg": 1000}, "deviation_reason", "tolerance 10%"),
    ({"given_dose_mg": 12000}, "given_dose_mg", "check the unit"),
    ({"weight_kg": None}, "weight_kg", "weight"),
    ({"weight_kg": 600}, "weight_kg", "outside"),
    ({"agent": "pd1"}, "agent", "not a drug of arm"),
    ({"date": "2099-01-01"}, "date", "future"),
    ({"date": "2026-03-01"}, "date", "treatment start"),
    ({"cycle": 0}, "cycle", ""),
    ({"given_dose_mg": -5}, "given_dose_mg", ""),
    ({"deviation_reason": "toxicity", "given_dose_mg": 900}, "adverse_event_id", "adverse event"),
    ({"deviation_reason": "because"}, "deviation_reason", ""),
    ({"adverse_event_id": 999999}, "adverse_event_id", "not one of this subject's"),
]


def test_bad_doses_are_refused_naming_the_field_and_nothing_is_written(api: Api) -> None:
    subject_id = _treated(api)
    for changes, field, words in BAD_DOSES:
        response = _dose(api, subject_id, **changes)
        assert response.status_code == 422, (changes, response.text)
        assert response.json()["field"] == field, (changes, response.json())
        assert words in response.json()["detail"], (changes, response.json())
    assert api.get("coord1", f"{BASE}/{subject_id}/administrations").json()["administrations"] == []


def test_a_reduced_dose_with_a_reason_and_the_exposure(api: Api) -> None:
    subject_id = _treated(api)
    assert _dose(api, subject_id).status_code == 201
    reduced = _dose(
        api, subject_id, cycle=2, date="2026-04-06", given_dose_mg=900, deviation_reason="reduction"
    )
    assert reduced.status_code == 201, reduced.text
    data = api.get("monitor", f"{BASE}/{subject_id}/administrations").json()
    assert [a["cycle"] for a in data["administrations"]] == [1, 2]
    summary = data["exposure"]["ivonescimab"]
    assert summary["cycles"] == 2 and summary["cumulative_mg"] == 2100
    # 2100 mg over (28 + 21) days = 7 weeks vs 1200 mg per 3 weeks planned -> RDI 0.75
    assert summary["relative_dose_intensity"] == pytest.approx((2100 / 7) / (1200 / 3))
    assert api.get("coord2", f"{BASE}/{subject_id}/administrations").status_code == 404
    assert _dose(api, subject_id, cycle=3, date="2026-04-27").status_code == 201
    correction = api.post(
        "coord1",
        f"{BASE}/{subject_id}/administrations",
        {"agent": "ivonescimab", "cycle": 3, "date": "2026-04-28", "given_dose_mg": 1200, "weight_kg": 60},
    )
    assert (
        correction.status_code == 422 and correction.json()["field"] == "reason"
    )  # corrections need a reason


def test_calendar_follows_doses_and_visit_outcomes(api: Api) -> None:
    subject_id = _treated(api)
    assert _dose(api, subject_id, cycle=1).status_code == 201
    assert _dose(api, subject_id, cycle=2, date="2026-04-06").status_code == 201  # one week late
    fraction = {"intervention": "shfrt", "fraction_number": 1, "date": "2026-03-11", "dose_gy": 5.0}
    assert api.post("coord1", f"{BASE}/{subject_id}/rt-fractions", fraction).status_code == 201
    visits = {v["visit_id"]: v for v in api.get("coord1", f"{BASE}/{subject_id}/calendar").json()}
    assert visits["RT-shfrt"]["status"] == "done" and visits["RT-shfrt"]["done_on"] == "2026-03-11"
    assert visits["C1"]["status"] == "done"
    assert visits["C2"]["status"] == "done" and visits["C2"]["out_of_window"]
    assert visits["C3"]["planned"] == "2026-04-27"  # shifted by the late cycle 2
    assert visits["TA1"]["planned"] == "2026-04-20" and visits["TA1"]["status"] == "overdue"

    late = api.put("coord1", f"{BASE}/{subject_id}/visits/TA1", {"status": "done", "date": "2026-05-20"})
    assert late.status_code == 422 and late.json()["field"] == "reason"
    missed = api.put("coord1", f"{BASE}/{subject_id}/visits/TA1", {"status": "missed"})
    assert missed.status_code == 422 and missed.json()["field"] == "reason"
    unknown = api.put("coord1", f"{BASE}/{subject_id}/visits/XX9", {"status": "missed", "reason": "x"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "visit_id"
    ok = api.put(
        "coord1", f"{BASE}/{subject_id}/visits/TA1", {"status": "missed", "reason": "CT scanner down"}
    )
    assert ok.status_code == 200, ok.text
    visits = {v["visit_id"]: v for v in api.get("coord1", f"{BASE}/{subject_id}/calendar").json()}
    assert visits["TA1"]["status"] == "missed"

    due = api.get("coord1", f"/api/trials/{IVO}/visits/due").json()
    assert {d["visit_id"] for d in due if d["subject_id"] == subject_id} >= {"C3", "TA2"}
    assert all(d["status"] in ("overdue", "planned") for d in due)
    assert api.get("coord2", f"/api/trials/{IVO}/visits/due").json() == []  # other site sees none


def test_every_dose_is_audited_with_its_user(api: Api) -> None:
    subject_id = _treated(api)
    assert _dose(api, subject_id).status_code == 201
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditRecord.username, AuditRecord.action).where(
                AuditRecord.table_name == "drug_administrations"
            )
        ).all()
    assert rows and {r.username for r in rows} == {"coord1"}


def test_deviations_derived_from_the_data_and_recorded_by_staff(api: Api) -> None:
    subject_id = _treated(api)
    assert _dose(api, subject_id).status_code == 201
    late_and_reduced = _dose(
        api, subject_id, cycle=2, date="2026-04-06", given_dose_mg=900, deviation_reason="reduction"
    )
    assert late_and_reduced.status_code == 201
    missed = {"status": "missed", "reason": "CT scanner down"}
    assert api.put("coord1", f"{BASE}/{subject_id}/visits/TA1", missed).status_code == 200
    body = {
        "category": "consent",
        "severity": "major",
        "date": "2026-03-20",
        "description": "Re-consent to protocol v2 signed late",
        "action_taken": "Re-consented on 2026-03-27; site retrained",
    }
    recorded = api.post("monitor", f"{BASE}/{subject_id}/deviations", body)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["source"] == "recorded" and recorded.json()["site_code"] == "S01"

    listing = api.get("coord1", f"/api/trials/{IVO}/deviations").json()
    mine = [d for d in listing if d["subject_id"] == subject_id]
    assert {(d["category"], d["severity"], d["source"]) for d in mine} == {
        ("visit_window", "minor", "derived"),  # cycle 2 a week late
        ("dose", "minor", "derived"),  # 900 of 1200 mg
        ("missed_visit", "minor", "derived"),  # TA1
        ("consent", "major", "recorded"),
    }
    assert any("900 mg given, 1200 mg planned (reduction)" in d["description"] for d in mine)
    assert api.get("coord2", f"/api/trials/{IVO}/deviations").json() == []
    assert api.post("stat", f"{BASE}/{subject_id}/deviations", body).status_code == 403
    bad = api.post("coord1", f"{BASE}/{subject_id}/deviations", {**body, "category": "mood"})
    assert bad.status_code == 422 and bad.json()["field"] == "category"
    future = api.post("coord1", f"{BASE}/{subject_id}/deviations", {**body, "date": "2099-01-01"})
    assert future.status_code == 422 and future.json()["field"] == "date"


def test_the_trial_report_shows_exposure_visit_compliance_and_deviations(api: Api) -> None:
    import datetime as dt

    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.treatment_report import DEVIATIONS, EXPOSURE, VISITS, treatment_tables

    subject_id = _treated(api)
    assert _dose(api, subject_id).status_code == 201
    second = _dose(
        api, subject_id, cycle=2, date="2026-04-06", given_dose_mg=900, deviation_reason="reduction"
    )
    assert second.status_code == 201
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    protocol = api.client.app.state.registry.get(IVO)  # type: ignore[attr-defined]
    with unit_of_work(engine, "stat", write=False) as session:
        tables = treatment_tables(session, protocol, dt.date(2026, 6, 1))
        before = treatment_tables(session, protocol, dt.date(2026, 3, 20))
    exposure_row = tables[EXPOSURE][0]
    assert exposure_row["Treated"] == "1 of 1" and exposure_row["Cycles, median (range)"] == "2 (2-2)"
    assert exposure_row["RDI, median (range)"] == "0.75 (0.75-0.75)"
    visits = tables[VISITS][0]
    assert visits["Done in window"].startswith("1 ") and visits["Done out of window"].startswith("1 ")
    assert {row["Category"] for row in tables[DEVIATIONS]} == {"visit window", "dose"}
    assert before[EXPOSURE][0]["Cycles, median (range)"] == "1 (1-1)"  # the cut-off applies
    assert before[DEVIATIONS] == []
    report = api.get("stat", f"/api/trials/{IVO}/report?cutoff=2026-06-01&format=html")
    assert report.status_code == 200, report.text
    assert "Drug exposure and relative dose intensity" in report.text
    assert "Visit compliance" in report.text and "Protocol deviations" in report.text
