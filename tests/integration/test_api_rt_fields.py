"""Lesions' radiotherapy fields through the API (issue 13): flags set per baseline lesion (course and
target of the subject's arm), refused naming the field, fixed once the subject has had RT and a
follow-up assessment (then a correction needs a reason, audited), and the in-field / out-of-field
(abscopal) response in the response view. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.integration.api_helpers import Api

SCR = "scr-escc-01"
CFRT_TARGET = "Primary tumour and involved regional lymph nodes"
LESIONS = [
    {"id": "P1", "site": "oesophagus", "nodal": False, "role": "target", "diameter_mm": 40},
    {"id": "N1", "site": "lymph node", "nodal": True, "role": "target", "diameter_mm": 20},
    {"id": "L1", "site": "liver", "nodal": False, "role": "target", "diameter_mm": 30},
    {"id": "U1", "site": "lung", "nodal": False, "role": "target", "diameter_mm": 20},
    {"id": "B1", "site": "bone", "nodal": False, "role": "non_target", "diameter_mm": None},
]
FLAGS: list[dict[str, Any]] = [
    {"lesion_id": "P1", "in_field": True, "intervention": "cfrt"},
    {"lesion_id": "N1", "in_field": True, "intervention": "cfrt", "target": CFRT_TARGET},
    {"lesion_id": "L1", "in_field": True, "intervention": "ldrt"},
    {"lesion_id": "U1", "in_field": False},
]


def _url(subject_id: int, path: str) -> str:
    return f"/api/trials/{SCR}/subjects/{subject_id}/{path}"


def _subject_with_baseline(api: Api, number: str) -> int:
    subject_id = api.enrolled_subject(SCR, number)  # run-in: arm A (LDRT + CFRT)
    baseline = api.put(
        "inv1", _url(subject_id, "tumour-baseline"), {"date": "2026-04-20", "lesions": LESIONS}
    )
    assert baseline.status_code == 200, baseline.text
    return subject_id


def _flags(
    api: Api, subject_id: int, fields: list[dict[str, Any]], user: str = "coord1", **extra: Any
) -> Any:
    return api.put(user, _url(subject_id, "lesion-rt-fields"), {"fields": fields, **extra})


def test_flags_set_then_fixed_after_rt_and_an_assessment(api: Api) -> None:
    subject_id = _subject_with_baseline(api, "SCR-F1")
    made = _flags(api, subject_id, FLAGS)
    assert made.status_code == 200, made.text
    lesions = {row["lesion_id"]: row for row in made.json()["lesions"]}
    assert lesions["P1"]["target"] == CFRT_TARGET and lesions["P1"]["entered_by"] == "coord1"
    assert lesions["L1"]["intervention"] == "ldrt" and lesions["U1"]["in_field"] is False
    assert lesions["B1"]["in_field"] is None  # not flagged
    assert made.json()["locked"] is False
    moved = _flags(api, subject_id, [{"lesion_id": "L1", "in_field": False}])  # re-planned: no reason yet
    assert moved.status_code == 200, moved.text

    fraction = {"intervention": "cfrt", "fraction_number": 1, "date": "2026-04-27", "dose_gy": 2.0}
    assert api.post("coord1", _url(subject_id, "rt-fractions"), fraction).status_code == 201
    # out of field L1 + U1: 50 -> 35 mm (-30 %); in field P1 + N1: 60 -> 36 mm (-40 %)
    visit = {"date": "2026-06-01", "measurements": {"P1": 24, "N1": 12, "L1": 20, "U1": 15}}
    assert api.put("inv1", _url(subject_id, "tumour-assessments/C3"), visit).status_code == 200
    view = api.get("monitor", _url(subject_id, "lesion-rt-fields")).json()
    assert view["locked"] is True

    late = _flags(api, subject_id, [{"lesion_id": "L1", "in_field": True, "intervention": "ldrt"}])
    assert late.status_code == 422 and late.json()["field"] == "reason"
    unchanged = _flags(api, subject_id, [{"lesion_id": "U1", "in_field": False}])  # same value: no change
    assert unchanged.status_code == 200
    fixed = _flags(
        api,
        subject_id,
        [{"lesion_id": "L1", "in_field": True, "intervention": "ldrt"}],
        reason="LDRT plan included the liver lesion",
    )
    assert fixed.status_code == 200, fixed.text
    response = fixed.json()["field_response"]
    assert response["in_field"]["lesions"] == ["P1", "N1", "L1"]
    assert response["out_of_field"]["time_points"][0]["pct_from_baseline"] == -25.0  # U1 20 -> 15
    assert response["abscopal"] == "no"
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    updates = [r for r in audit if r["table"] == "lesion_rt_fields" and r["action"] == "update"]
    assert any(r["reason"] == "LDRT plan included the liver lesion" for r in updates)
    assert any(r["reason"] and "planning" in r["reason"] for r in updates)


def test_response_view_gains_the_subset_table(api: Api) -> None:
    subject_id = _subject_with_baseline(api, "SCR-F2")
    assert api.get("inv1", _url(subject_id, "tumour-response")).json()["field_response"] is None
    flags = [*FLAGS[:2], {"lesion_id": "L1", "in_field": False}, FLAGS[3]]
    assert _flags(api, subject_id, flags).status_code == 200
    visit = {"date": "2026-06-01", "measurements": {"P1": 24, "N1": 12, "L1": 20, "U1": 15}}
    api.put("inv1", _url(subject_id, "tumour-assessments/C3"), visit)
    field = api.get("monitor", _url(subject_id, "tumour-response")).json()["field_response"]
    assert field["out_of_field"]["baseline_sum_mm"] == 50
    assert field["out_of_field"]["time_points"][0]["sum_mm"] == 35
    assert field["abscopal"] == "yes"  # -30 %; the protocol does not require confirmation
    assert field["in_field"]["time_points"][0]["pct_from_baseline"] == -40.0


def test_refusals_name_the_field(api: Api) -> None:
    subject_id = _subject_with_baseline(api, "SCR-F3")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"lesion_id": "X9", "in_field": False}, "fields[0].lesion_id", "not a baseline lesion"),
        ({"lesion_id": "P1", "in_field": True, "intervention": "pd1"}, "fields[0].intervention", "pd1"),
        ({"lesion_id": "P1", "in_field": True, "intervention": "shfrt"}, "fields[0].intervention", "shfrt"),
        ({"lesion_id": "P1", "in_field": True}, "fields[0].intervention", "not a radiotherapy course"),
        (
            {"lesion_id": "P1", "in_field": True, "intervention": "cfrt", "target": "brain"},
            "fields[0].target",
            CFRT_TARGET,
        ),
        (
            {"lesion_id": "U1", "in_field": False, "intervention": "ldrt"},
            "fields[0].intervention",
            "no course",
        ),
    ]
    for entry, field, words in cases:
        response = _flags(api, subject_id, [entry])
        assert response.status_code == 422, (entry, response.text)
        assert response.json()["field"] == field, (entry, response.json())
        assert words in response.json()["detail"], (entry, response.json())
    twice = _flags(api, subject_id, [FLAGS[3], FLAGS[3]])
    assert twice.status_code == 422 and twice.json()["field"] == "fields"
    half = _flags(api, subject_id, [FLAGS[0], {"lesion_id": "X9", "in_field": False}])
    assert half.status_code == 422
    assert all(
        row["in_field"] is None
        for row in api.get("inv1", _url(subject_id, "lesion-rt-fields")).json()["lesions"]
    )
    assert _flags(api, subject_id, FLAGS, user="coord2").status_code == 404  # another site
    assert api.get("coord2", _url(subject_id, "lesion-rt-fields")).status_code == 404
    assert _flags(api, subject_id, FLAGS, user="monitor").status_code == 403  # monitors read
    no_baseline = api.enrolled_subject(SCR, "SCR-F4")
    refused = _flags(api, no_baseline, FLAGS)
    assert refused.status_code == 409 and refused.json()["rule"] == "baseline_first"


def test_the_trial_report_tabulates_both_subsets_by_arm(api: Api) -> None:
    import datetime as dt

    from trialdesk.adapters.db.engine import unit_of_work
    from trialdesk.services.rt_fields import FIELD_RESPONSE_TITLE
    from trialdesk.services.treatment_report import treatment_tables

    visit = {"date": "2026-06-01", "measurements": {"P1": 24, "N1": 12, "L1": 20, "U1": 15}}
    plans = (
        [*FLAGS[:2], {"lesion_id": "L1", "in_field": False}, FLAGS[3]],  # out 50 -> 35 (-30 %): abscopal
        FLAGS,  # out U1 20 -> 15 (-25 %): no; in field 90 -> 56 (-37.78 %)
    )
    for number, flags in enumerate(plans):
        subject_id = _subject_with_baseline(api, f"SCR-FR{number}")
        assert _flags(api, subject_id, flags).status_code == 200
        assert api.put("inv1", _url(subject_id, "tumour-assessments/C3"), visit).status_code == 200
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    protocol = api.client.app.state.registry.get(SCR)  # type: ignore[attr-defined]
    with unit_of_work(engine, "stat", write=False) as session:
        row = treatment_tables(session, protocol, dt.date(2026, 6, 30))[FIELD_RESPONSE_TITLE][0]
        before = treatment_tables(session, protocol, dt.date(2026, 5, 15))[FIELD_RESPONSE_TITLE][0]
    assert row == {
        "Arm": "A",
        "Subjects with flagged lesions": "2",
        "Out-of-field responses": "1 of 2 (50%)",
        "In-field responses (CR/PR)": "2 of 2 (100%)",
        "Best change in field, median": "-38.9%",  # median of -40 and -37.78
        "Best change out of field, median": "-27.5%",  # median of -30 and -25
    }
    assert before["Out-of-field responses"] == "0 of 2 (0%)"  # the cut-off applies
    report = api.get("stat", f"/api/trials/{SCR}/report?cutoff=2026-06-30&format=html")
    assert report.status_code == 200, report.text
    assert FIELD_RESPONSE_TITLE in report.text and "1 of 2 (50%)" in report.text
