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
