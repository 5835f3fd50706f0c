"""End of treatment versus end of study through the API (issue 13), on SQLite and PostgreSQL: coded
reasons, the dates checked against treatment start, last dose, death and today, the status moves, the
implied end of treatment, corrections with a reason, and the refusals naming the field with nothing
written."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.integration.api_helpers import Api
from tests.integration.test_api_integrity import nothing_written, refused
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.analysis.snapshot import consort_arms
from trialdesk.services.trial_data import endpoint_data

IVO = "ivo-shfrt-2l"
BASE = f"/api/trials/{IVO}/subjects"


def _treated(api: Api, number: str, start: str = "2026-03-09") -> int:
    subject_id = api.enrolled_subject(IVO, number)
    assert (
        api.put("inv1", f"{BASE}/{subject_id}/follow-up", {"treatment_start_date": start}).status_code == 200
    )
    return subject_id


def _eot(api: Api, subject_id: int, user: str = "coord1", **body: Any) -> Any:
    return api.post(user, f"{BASE}/{subject_id}/end-of-treatment", {"date": "2026-06-01", **body})


def _eos(api: Api, subject_id: int, user: str = "coord1", **body: Any) -> Any:
    return api.post(user, f"{BASE}/{subject_id}/end-of-study", {"date": "2026-08-01", **body})


def _ae(api: Api, subject_id: int, onset: str = "2026-05-01") -> int:
    body = {
        "term": "Pneumonitis",
        "grade": 3,
        "onset_date": onset,
        "attributions": {"ivonescimab": "probable"},
    }
    response = api.post("inv1", f"{BASE}/{subject_id}/adverse-events", body)
    assert response.status_code == 201, response.text
    return int(response.json()["adverse_event"]["id"])


def test_end_of_treatment_for_toxicity_then_survival_follow_up_then_end_of_study(api: Api) -> None:
    subject_id = _treated(api, "IVO-D01")
    ae_id = _ae(api, subject_id)
    ended = _eot(
        api, subject_id, reason="adverse_event", adverse_event_id=ae_id, detail="grade 3 pneumonitis"
    )
    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert body["end_of_treatment_term"] == "ADVERSE EVENT" and body["end_of_treatment_ae_id"] == ae_id
    assert body["status"] == "off_treatment" and body["in_follow_up"] is True
    subject = api.get("monitor", f"{BASE}/{subject_id}").json()
    assert subject["treatment_end_date"] == "2026-06-01"
    assert subject["discontinuation_reason"] == "grade 3 pneumonitis"
    assert subject["end_of_treatment_reason"] == "adverse_event" and subject["end_of_study_date"] is None
    left = _eos(api, subject_id, reason="lost_to_follow_up")
    assert left.status_code == 200, left.text
    assert (left.json()["status"], left.json()["end_of_study_term"]) == (
        "lost_to_follow_up",
        "LOST TO FOLLOW-UP",
    )
    assert left.json()["in_follow_up"] is False
    read = api.get("monitor", f"{BASE}/{subject_id}/disposition").json()
    assert read["end_of_treatment_date"] == "2026-06-01" and read["end_of_study_date"] == "2026-08-01"
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    reasons = {r["reason"] for r in audit if r["field"] == "status"}
    assert "end of treatment: ADVERSE EVENT" in reasons and "end of study: LOST TO FOLLOW-UP" in reasons


def test_end_of_study_of_a_subject_on_treatment_records_the_end_of_treatment_the_same_day(api: Api) -> None:
    subject_id = _treated(api, "IVO-D02")
    left = _eos(api, subject_id, reason="withdrawal_by_subject", detail="patient withdrew consent")
    assert left.status_code == 200, left.text
    body = left.json()
    assert body["status"] == "withdrawn"
    assert (body["end_of_treatment_date"], body["end_of_treatment_term"]) == (
        "2026-08-01",
        "WITHDRAWAL BY SUBJECT",
    )


def test_the_status_route_records_the_end_of_study(api: Api) -> None:
    subject_id = _treated(api, "IVO-D03")
    url = f"{BASE}/{subject_id}/status"
    done = api.post("inv1", url, {"status": "withdrawn", "reason": "consent withdrawn", "date": "2026-05-02"})
    assert done.status_code == 200, done.text
    assert done.json()["end_of_study_reason"] == "withdrawal_by_subject"
    assert done.json()["end_of_study_date"] == "2026-05-02"
    assert done.json()["end_of_treatment_reason"] == "withdrawal_by_subject"


def test_completed_study_needs_the_end_of_treatment_first(api: Api) -> None:
    subject_id = _treated(api, "IVO-D04")
    with nothing_written(api):
        refused(_eos(api, subject_id, reason="completed"), 422, field="reason")
    assert _eot(api, subject_id, reason="completed").status_code == 200
    completed = _eos(api, subject_id, reason="completed")
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"


def test_refusals_name_the_field_and_write_nothing(api: Api) -> None:
    subject_id = _treated(api, "IVO-D05")
    other = _treated(api, "IVO-D06")
    other_ae = _ae(api, other)
    late_ae = _ae(api, subject_id, onset="2026-07-01")
    cases: list[tuple[Any, str, str]] = [
        (_eot(api, subject_id, reason="progressive_disease", date="2026-03-01"), "date", "treatment start"),
        (_eot(api, subject_id, reason="progressive_disease", date="2099-01-01"), "date", "future"),
        (_eot(api, subject_id, reason="adverse_event"), "adverse_event_id", "names the adverse event"),
        (
            _eot(api, subject_id, reason="adverse_event", adverse_event_id=other_ae),
            "adverse_event_id",
            "not one",
        ),
        (
            _eot(api, subject_id, reason="adverse_event", adverse_event_id=late_ae),
            "adverse_event_id",
            "after",
        ),
        (
            _eot(api, subject_id, reason="physician_decision", adverse_event_id=late_ae),
            "adverse_event_id",
            "only",
        ),
        (_eot(api, subject_id, reason="because"), "reason", ""),
        (_eos(api, subject_id, reason="death"), "death_date", "death date"),
        (_eos(api, subject_id, reason="lost_to_follow_up", date="2099-01-01"), "date", "future"),
        (_eos(api, subject_id, reason="lost_to_follow_up", date="2026-03-06"), "date", "treatment start"),
    ]
    for response, field, words in cases:
        body = refused(response, 422, field=field)
        assert words in body["detail"], body
    assert api.get("monitor", f"{BASE}/{subject_id}/disposition").json()["end_of_treatment_date"] is None
    assert _eot(api, subject_id, reason="progressive_disease").status_code == 200
    with nothing_written(api):
        refused(_eos(api, subject_id, reason="lost_to_follow_up", date="2026-05-01"), 422, field="date")
        refused(_eot(api, subject_id, reason="physician_decision"), 422, field="correction_reason")
        refused(_eot(api, subject_id, reason="progressive_disease", user="coord2"), 404)
        refused(_eot(api, subject_id, reason="progressive_disease", user="monitor"), 403)


def test_end_of_study_for_death_is_the_death_date(api: Api) -> None:
    subject_id = _treated(api, "IVO-D07")
    assert api.put("inv1", f"{BASE}/{subject_id}/follow-up", {"death_date": "2026-07-10"}).status_code == 200
    refused(_eos(api, subject_id, reason="death", date="2026-07-11"), 422, field="date")
    died = _eos(api, subject_id, reason="death", date="2026-07-10")
    assert died.status_code == 200, died.text
    assert (died.json()["status"], died.json()["end_of_treatment_term"]) == ("died", "DEATH")
    refused(_eot(api, subject_id, reason="death", date="2026-07-11"), 422, field="date")


def test_a_correction_with_a_reason_is_audited(api: Api) -> None:
    subject_id = _treated(api, "IVO-D08")
    assert _eot(api, subject_id, reason="progressive_disease").status_code == 200
    fixed = _eot(
        api, subject_id, reason="physician_decision", date="2026-05-30", correction_reason="misfiled"
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["end_of_treatment_reason"] == "physician_decision"
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    assert any(r["field"] == "end_of_treatment_reason" and r["reason"] == "misfiled" for r in audit)


def test_never_treated_subject_leaves_the_study_without_an_end_of_treatment(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-D09")
    refused(_eot(api, subject_id, reason="progressive_disease"), 422, field="treatment_start_date")
    left = _eos(api, subject_id, reason="withdrawal_by_subject")
    assert left.status_code == 200, left.text
    assert left.json()["end_of_treatment_date"] is None and left.json()["status"] == "withdrawn"


def test_consort_counts_treatment_discontinuation_and_study_exit_by_coded_reason(api: Api) -> None:
    """CONSORT 2010 flow diagram (Schulz et al., BMJ 2010;340:c332, figure 1): "discontinued
    intervention (give reasons)" and "lost to follow-up (give reasons)" are separate boxes; here the
    coded EOT and EOS reasons fill them and the subjects off treatment but in the study stay in
    follow-up."""
    progressed, toxic, withdrawn, lost, ongoing = (_treated(api, f"IVO-C0{n}") for n in range(1, 6))
    assert _eot(api, progressed, reason="progressive_disease").status_code == 200
    ae_id = _ae(api, toxic)
    assert _eot(api, toxic, reason="adverse_event", adverse_event_id=ae_id).status_code == 200
    assert _eos(api, withdrawn, reason="withdrawal_by_subject").status_code == 200  # EOT implied
    assert _eot(api, lost, reason="physician_decision").status_code == 200
    assert _eos(api, lost, reason="lost_to_follow_up").status_code == 200
    assert ongoing
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    protocol = api.client.app.state.registry.get(IVO)  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap") as session:
        subjects = endpoint_data(session, protocol)
    (arm,) = consort_arms(protocol, subjects, dt.date(2026, 12, 1))
    assert arm.allocated == arm.treated == 5
    assert arm.discontinued == {
        "progressive disease": 1,
        "adverse event": 1,
        "withdrawal by subject": 1,
        "physician decision": 1,
    }
    assert arm.ongoing == 1
    assert arm.left_study == {"withdrawal of consent": 1, "lost to follow-up": 1}
    assert arm.lost_to_follow_up == 1 and arm.in_follow_up == 3
    (before,) = consort_arms(protocol, subjects, dt.date(2026, 7, 1))  # before the exits (2026-08-01)
    assert before.left_study == {} and before.in_follow_up == 5 and before.ongoing == 2


def test_follow_up_dates_cannot_contradict_the_end_of_study(api: Api) -> None:
    subject_id = _treated(api, "IVO-D10")
    url = f"{BASE}/{subject_id}/follow-up"
    assert _eos(api, subject_id, reason="withdrawal_by_subject").status_code == 200
    with nothing_written(api):
        late = {"treatment_end_date": "2026-08-02", "discontinuation_reason": "x", "reason": "fix"}
        refused(api.put("inv1", url, late), 422, field="treatment_end_date")
    untreated = api.enrolled_subject(IVO, "IVO-D12")
    assert _eos(api, untreated, reason="lost_to_follow_up").status_code == 200
    before = {"death_date": "2026-07-01"}
    body = refused(api.put("inv1", f"{BASE}/{untreated}/follow-up", before), 422, field="death_date")
    assert "end of study" in body["detail"]
    dead = _treated(api, "IVO-D11")
    assert api.put("inv1", f"{BASE}/{dead}/follow-up", {"death_date": "2026-07-10"}).status_code == 200
    assert _eos(api, dead, reason="death", date="2026-07-10").status_code == 200
    moved = {"death_date": "2026-07-11", "reason": "misread"}
    refused(api.put("inv1", f"{BASE}/{dead}/follow-up", moved), 422, field="death_date")


def test_off_treatment_is_reached_by_the_coded_end_of_treatment_never_by_a_bare_status_change(
    api: Api,
) -> None:
    """A status change to off treatment would leave no treatment end date and no reason, which the
    endpoints, CONSORT and the CDISC exports read: it is refused (409 naming the rule, nothing
    written); the coded end of treatment moves the status, and the status change to follow-up works."""
    subject_id = _treated(api, "IVO-D90")
    on = {"status": "on_treatment", "reason": "first dose given", "date": "2026-03-09"}
    assert api.post("inv1", f"{BASE}/{subject_id}/status", on).status_code == 200
    off = {"status": "off_treatment", "reason": "progression on CT", "date": "2026-06-01"}
    with nothing_written(api):
        refused(api.post("inv1", f"{BASE}/{subject_id}/status", off), 409, rule="coded_end_of_treatment")
    subject = api.get("monitor", f"{BASE}/{subject_id}").json()
    assert subject["status"] == "on_treatment" and subject["treatment_end_date"] is None
    assert _eot(api, subject_id, reason="progressive_disease").json()["status"] == "off_treatment"
    follow = {"status": "follow_up", "reason": "survival follow-up", "date": "2026-06-01"}
    moved = api.post("inv1", f"{BASE}/{subject_id}/status", follow)
    assert moved.status_code == 200 and moved.json()["status"] == "follow_up"
