"""Radiotherapy delivery API (issue 13): fractions delivered per course, implausible fractions
refused naming the field, courses ended, and the delivered dose, BED/EQD2 and deviation class.
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.api_helpers import Api

SCR = "scr-escc-01"
BASE = f"/api/trials/{SCR}/subjects"
MONDAY = dt.date(2026, 4, 20)


def _fraction(api: Api, subject_id: int, number: int, day: dt.date, **changes: Any) -> Any:
    body = {"intervention": "cfrt", "fraction_number": number, "date": day.isoformat(), "dose_gy": 2.0}
    body.update(changes)
    return api.post("coord1", f"{BASE}/{subject_id}/rt-fractions", body)


def _weekdays(start: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _rt_report_rows(api: Api, protocol_id: str = SCR) -> list[dict[str, str]]:
    """The trial report's radiotherapy table (all arms) at a cut-off after every fraction here."""
    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.treatment_report import RADIOTHERAPY, treatment_tables

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    protocol = api.client.app.state.registry.get(protocol_id)  # type: ignore[attr-defined]
    with unit_of_work(engine, "stat", write=False) as session:
        return treatment_tables(session, protocol, dt.date(2026, 7, 1))[RADIOTHERAPY]


def test_a_course_delivered_as_prescribed_and_one_stopped_early(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "SCR-RT-1")  # run-in: arm A (LDRT + CFRT)
    for number, day in enumerate(_weekdays(MONDAY, 25), start=1):
        response = _fraction(api, subject_id, number, day)
        assert response.status_code == 201, response.text
    courses = api.get("monitor", f"{BASE}/{subject_id}/rt-courses").json()
    cfrt = courses["cfrt"]
    assert (cfrt["fractions"], cfrt["dose_gy"], cfrt["overall_time_days"]) == (25, 50.0, 33)
    assert cfrt["eqd2_10_gy"] == pytest.approx(50.0) and cfrt["bed10_gy"] == pytest.approx(60.0)
    assert cfrt["classification"] == "per_protocol"
    # Seed 002 enables the time correction (Fowler 1989: alpha 0.3, Tk 21 d, Tpot 3 d): T = 32 days
    # elapsed, BED10 60 - 11 x ln 2 / 0.9 = 51.528 Gy, EQD2(10) 42.940 Gy, beside the uncorrected 60.
    assert cfrt["bed10_time_corrected_gy"] == pytest.approx(51.528, abs=1e-3)
    assert cfrt["eqd2_10_time_corrected_gy"] == pytest.approx(42.940, abs=1e-3)
    assert courses["ldrt"]["bed10_time_corrected_gy"] is None  # nothing delivered
    (row,) = _rt_report_rows(api)
    assert row["EQD2(10) Gy, median"] == "50.0"
    assert row["EQD2(10) corrected for overall time Gy, median"] == "42.9"
    assert cfrt["delivered"][0]["target"] == "Primary tumour and involved regional lymph nodes"
    assert courses["ldrt"]["fractions"] == 0 and courses["ldrt"]["classification"] == "not_assessable"

    no_reason = api.put(
        "coord1",
        f"{BASE}/{subject_id}/rt-courses/ldrt/end",
        {"outcome": "stopped_early", "date": "2026-04-24"},
    )
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    stopped = api.put(
        "coord1",
        f"{BASE}/{subject_id}/rt-courses/ldrt/end",
        {"outcome": "stopped_early", "date": "2026-04-24", "reason": "grade 3 esophagitis"},
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["classification"] == "major" and stopped.json()["outcome"] == "stopped_early"
    assert api.get("coord2", f"{BASE}/{subject_id}/rt-courses").status_code == 404


def test_implausible_fractions_are_refused_naming_the_field(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "SCR-RT-2")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"dose_gy": 200}, "dose_gy", "not cGy"),
        ({"dose_gy": 0}, "dose_gy", ""),
        ({"intervention": "shfrt"}, "intervention", "not a radiotherapy course"),
        ({"intervention": "pd1"}, "intervention", ""),
        ({"fraction_number": 40}, "fraction_number", "outside 1-30"),
        ({"date": "2099-01-05"}, "date", "future"),
        ({"date": "2026-01-05"}, "date", "before the enrolment"),
        ({"target": "x" * 300}, "target", ""),
    ]
    for changes, field, words in cases:
        response = _fraction(api, subject_id, 1, MONDAY, **changes)
        assert response.status_code == 422, (changes, response.text)
        assert response.json()["field"] == field, (changes, response.json())
        assert words in response.json()["detail"], (changes, response.json())
    assert api.get("coord1", f"{BASE}/{subject_id}/rt-courses").json()["cfrt"]["fractions"] == 0
    assert _fraction(api, subject_id, 1, MONDAY).status_code == 201
    correction = _fraction(api, subject_id, 1, MONDAY, dose_gy=1.8)
    assert correction.status_code == 422 and correction.json()["field"] == "reason"
    death = api.put("inv1", f"{BASE}/{subject_id}/follow-up", {"death_date": "2026-04-19"})
    assert death.status_code == 422 and "fraction 1" in death.json()["detail"]  # a fraction after death


def test_no_time_corrected_bed_when_the_protocol_leaves_it_off(api: Api) -> None:
    """Seed 000 states the time correction off (SHFRT ends before any kick-off): no corrected values."""
    subject_id = api.enrolled_subject("ivo-shfrt-2l", "IVO-RT-1")
    base = "/api/trials/ivo-shfrt-2l/subjects"
    for number, day in enumerate(_weekdays(MONDAY, 5), start=1):
        body = {"intervention": "shfrt", "fraction_number": number, "date": day.isoformat(), "dose_gy": 5.0}
        assert api.post("coord1", f"{base}/{subject_id}/rt-fractions", body).status_code == 201
    shfrt = api.get("monitor", f"{base}/{subject_id}/rt-courses").json()["shfrt"]
    assert shfrt["bed10_gy"] == pytest.approx(37.5)
    assert (shfrt["bed10_time_corrected_gy"], shfrt["eqd2_10_time_corrected_gy"]) == (None, None)
    (row,) = _rt_report_rows(api, "ivo-shfrt-2l")
    assert "EQD2(10) corrected for overall time Gy, median" not in row
