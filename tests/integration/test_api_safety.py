"""Safety through the REST API on SQLite and PostgreSQL: the run-in stopping rule (seed 002), attribution
changes and the signed re-opening, AE input errors, grade episodes, the SAE clock and alerts, lab grade
proposals, the toxicity warning (seed 000) and the safety report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.api_helpers import PASSWORD, Api, fill_enrolment
from trialdesk.services import clock

SCR = "scr-escc-01"
IVO = "ivo-shfrt-2l"


def _state(api: Api, protocol_id: str = SCR) -> str:
    return str(api.get("monitor", f"/api/trials/{protocol_id}").json()["phase_state"])


def _filled_ids(api: Api, protocol_id: str) -> list[int]:
    subjects = api.get("inv1", f"/api/trials/{protocol_id}/subjects").json()
    return [s["id"] for s in subjects if s["screening_number"].startswith("FILL-")]


def _ivo_ae(api: Api, subject_id: int, **fields: Any) -> Any:
    body = {
        "term": "Pneumonitis",
        "grade": 2,
        "onset_date": "2026-05-01",
        "attributions": {"ivonescimab": "possible", "shfrt": "probable"},
        **fields,
    }
    return api.post("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/adverse-events", body)


def _signed_move(api: Api, target: str, reason: str) -> Any:
    evidence = api.get("safety", f"/api/trials/{SCR}/gate-evidence").json()
    return api.post(
        "safety",
        f"/api/trials/{SCR}/phase",
        {
            "target": target,
            "reason": reason,
            "password": PASSWORD,
            "meaning": "I have reviewed the run-in safety data",
            "evidence_sha256": evidence["evidence_sha256"],
        },
    )


# ---- the run-in stopping rule (seed 002) ---------------------------------------------------------


def test_run_in_rule_counts_only_related_grade5_of_run_in_subjects(api: Api) -> None:
    first, second, third = (api.enrolled_subject(SCR, f"SCR-S0{i}") for i in (1, 2, 3))
    fill_enrolment(api, SCR, "iib", "A", 1)
    (iib_subject,) = _filled_ids(api, SCR)

    created = api.ae(SCR, first, 5, related=True)
    assert created.status_code == 201, created.text
    result = created.json()
    assert result["stopping_rules"][0] == {
        "rule_id": "runin-grade5-trae",
        "count": 1,
        "threshold": 2,
        "met": False,
    }
    assert {a["kind"] for a in result["alerts"]} == {
        "grade5_ae",
        "sae_late",
    }  # aware 2026-05-03, recorded now
    event = result["adverse_event"]
    assert (event["serious"], event["sae_criteria"], event["outcome"]) == (True, ["death"], "fatal")
    assert api.get("inv1", f"/api/trials/{SCR}/subjects/{first}").json()["death_date"] == "2026-05-03"

    unrelated = api.ae(SCR, second, 5, related=False).json()
    assert unrelated["stopping_rules"][0]["count"] == 1  # an unrelated grade-5 AE does not count
    in_phase_iib = api.ae(SCR, iib_subject, 5, related=True).json()
    assert in_phase_iib["stopping_rules"][0]["count"] == 1  # a phase IIb subject is not in the run-in
    assert _state(api) == "run_in_open"

    second_related = api.ae(SCR, third, 5, related=True).json()
    assert second_related["stopping_rules"][0] == {
        "rule_id": "runin-grade5-trae",
        "count": 2,
        "threshold": 2,
        "met": True,
    }
    assert "stopping_rule_met" in {a["kind"] for a in second_related["alerts"]}
    assert _state(api) == "terminated"

    alerts = api.get("safety", "/api/alerts", params={"protocol_id": SCR}).json()
    assert [a["kind"] for a in alerts].count("grade5_ae") == 4
    assert all(a["recipients"] == ["safety_reviewer", "statistician"] for a in alerts)
    assert api.get("stat", "/api/alerts").status_code == 200
    assert api.get("monitor", "/api/alerts").status_code == 200
    assert api.get("coord1", "/api/alerts").json()["rule"] == "read_alerts"


def test_attribution_downgrade_is_audited_rechecked_and_reopens_only_by_signed_review(api: Api) -> None:
    first, second = (api.enrolled_subject(SCR, f"SCR-D0{i}") for i in (1, 2))
    ae_id = api.ae(SCR, first, 5, related=True).json()["adverse_event"]["id"]
    api.ae(SCR, second, 5, related=True)
    assert _state(api) == "terminated"
    refused = _signed_move(api, "run_in_review", "re-open while the rule is met")
    assert refused.status_code == 409 and refused.json()["rule"] == "phase_gate"

    url = f"/api/trials/{SCR}/adverse-events/{ae_id}/attributions"
    body = {"attributions": {"pd1": "unlikely", "ldrt": "unrelated"}, "reason": "death due to progression"}
    assert api.patch("coord1", url, body).status_code == 403  # only investigators attribute
    downgraded = api.patch("inv1", url, body)
    assert downgraded.status_code == 200, downgraded.text
    assert downgraded.json()["stopping_rules"][0]["count"] == 1
    assert [a["kind"] for a in downgraded.json()["alerts"]] == ["stopping_rule_no_longer_met"]
    assert _state(api) == "terminated"  # the monitor never re-opens by itself
    audit = api.get("monitor", "/api/audit", params={"subject_id": first}).json()["items"]
    change = [r for r in audit if r["table"] == "adverse_events" and r["field"] == "attributions"]
    assert len(change) == 1 and change[0]["reason"] == "death due to progression"
    assert '"pd1":"probable"' in change[0]["old_value"] and '"pd1":"unlikely"' in change[0]["new_value"]

    unsigned = api.post(
        "safety", f"/api/trials/{SCR}/phase", {"target": "run_in_review", "reason": "re-open"}
    )
    assert unsigned.status_code == 422 and unsigned.json()["field"] == "signature"
    reopened = _signed_move(api, "run_in_review", "attribution corrected: rule no longer met")
    assert reopened.status_code == 200, reopened.text
    assert _state(api) == "run_in_review"


def test_a_signed_termination_is_not_reopened(api: Api) -> None:
    assert _signed_move(api, "terminated", "DSMB recommends stopping").status_code == 200
    refused = _signed_move(api, "run_in_review", "try to re-open")
    assert refused.status_code == 409 and "terminated by a signed decision" in refused.json()["detail"]
    assert _state(api) == "terminated"


# ---- input errors --------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"grade": 5, "term": "Pneumonitis"}, "death_date"),
    ({"resolution_date": "2026-04-30"}, "resolution_date"),
    ({"term": "Radiation esophagitis"}, "term"),
    ({"attributions": {"ivonescimab": "possible", "pd1": "possible"}}, "attributions.pd1"),
    ({"term": "Alopecia", "grade": 3}, "grade"),
    ({"sae_criteria": ["hospitalization"]}, "site_aware_at"),
    ({"sae_criteria": ["hospitalised"]}, "sae_criteria"),
    ({"outcome": "fatal"}, "outcome"),
    ({"action_taken": "stopped"}, "action_taken"),
    ({"term": "Endocrine disorders - Other, specify"}, "verbatim"),
    ({"term": "Colitis", "soc": "Investigations"}, "soc"),
    ({"onset_date": "2099-01-01"}, "onset_date"),
]


def test_bad_adverse_event_input_is_422_naming_the_field(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-B01")
    for change, field in BAD_INPUTS:
        response = _ivo_ae(api, subject_id, **change)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["field"] == field, change
    free = _ivo_ae(
        api, subject_id, term="Radiation esophagitis", free_text=True, soc="Gastrointestinal disorders"
    )
    assert free.status_code == 201, free.text
    assert free.json()["adverse_event"]["needs_coding"] is True
    assert api.get("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/adverse-events").json()[0]["term"] == (
        "Radiation esophagitis"
    )


# ---- episodes, updates, SAE clock, alerts ---------------------------------------------------------


def test_grade_change_episodes_updates_and_derived_maximum_grade(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-E01")
    first = _ivo_ae(api, subject_id).json()["adverse_event"]
    url = f"/api/trials/{IVO}/adverse-events/{first['id']}"
    episode = api.post(
        "inv1", url + "/episodes", {"grade": 3, "change_date": "2026-05-10", "reason": "worse"}
    )
    assert episode.status_code == 201, episode.text
    second = episode.json()["adverse_event"]
    assert (second["grade"], second["previous_episode_id"], second["onset_date"]) == (
        3,
        first["id"],
        "2026-05-10",
    )
    ended = api.get("inv1", url).json()
    assert (ended["resolution_date"], ended["outcome"]) == ("2026-05-10", "not_recovered")
    again = api.post("inv1", url + "/episodes", {"grade": 4, "change_date": "2026-05-11", "reason": "worse"})
    assert again.status_code == 409 and again.json()["rule"] == "episode_continued"

    second_url = f"/api/trials/{IVO}/adverse-events/{second['id']}"
    assert api.patch("inv1", second_url, {"outcome": "recovered"}).status_code == 422  # no reason
    updated = api.patch(
        "inv1", second_url, {"resolution_date": "2026-05-20", "outcome": "recovered", "reason": "resolved"}
    )
    assert updated.status_code == 200, updated.text
    assert api.patch("inv1", second_url, {"resolution_date": "2026-05-01", "reason": "typo"}).json()[
        "field"
    ] == ("resolution_date")
    maximum = api.get("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/adverse-events/max-grades").json()
    assert maximum == [
        {
            "term": "Pneumonitis",
            "soc": "Respiratory, thoracic and mediastinal disorders",
            "max_grade": 3,
            "max_grade_related": 3,
            "episodes": 2,
        }
    ]
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    reasons = {
        (r["field"], r["reason"]) for r in audit if r["table"] == "adverse_events" and r["action"] == "update"
    }
    assert {("resolution_date", "worse"), ("outcome", "resolved")} <= reasons


def test_sae_reporting_clock_and_audited_acknowledgement(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-C01")
    now = dt.datetime.now(dt.UTC)
    on_time = _ivo_ae(
        api,
        subject_id,
        term="Colitis",
        grade=3,
        sae_criteria=["hospitalization"],
        site_aware_at=(now - dt.timedelta(hours=2)).isoformat(),
    )
    assert on_time.status_code == 201, on_time.text
    assert on_time.json()["adverse_event"]["sae_reported_late"] is False and on_time.json()["alerts"] == []
    late = _ivo_ae(
        api,
        subject_id,
        term="Colitis",
        grade=3,
        sae_criteria=["hospitalization"],
        site_aware_at=(now - dt.timedelta(hours=30)).isoformat(),
    ).json()
    assert late["adverse_event"]["sae_reported_late"] is True
    (alert,) = late["alerts"]
    assert alert["kind"] == "sae_late" and "recorded 30.0 h after" in alert["message"]

    ack_url = f"/api/alerts/{alert['id']}/acknowledge"
    assert api.post("monitor", ack_url, {"note": "seen"}).json()["rule"] == "acknowledge_alerts"
    acknowledged = api.post("safety", ack_url, {"note": "site retrained on SAE reporting"})
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_by"] == "safety"
    assert api.post("stat", ack_url, {"note": "again"}).json()["rule"] == "alert_acknowledged"
    assert api.get("safety", "/api/alerts", params={"open_only": True}).json() == []
    audit = api.get("monitor", "/api/audit", params={"username": "safety"}).json()["items"]
    rows = [r for r in audit if r["table"] == "safety_alerts" and r["field"] == "acknowledged_by"]
    assert rows and rows[0]["reason"] == "alert acknowledged: site retrained on SAE reporting"


# ---- lab grade proposals --------------------------------------------------------------------------


def test_lab_proposals_with_abnormal_baseline_units_and_confirmation(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-L01")
    labs_url = f"/api/trials/{IVO}/subjects/{subject_id}/labs"
    results = [
        {
            "test": "alt",
            "value": 80,
            "unit": "U/L",
            "uln": 40,
            "collected_date": "2026-04-20",
            "is_baseline": True,
        },
        {"test": "alt", "value": 119, "unit": "U/L", "uln": 40, "collected_date": "2026-05-05"},
        {"test": "alt", "value": 241, "unit": "IU/L", "uln": 40, "collected_date": "2026-05-12"},
        {
            "test": "total_bilirubin",
            "value": 1.8,
            "unit": "mg/dL",
            "uln": 1.2,
            "collected_date": "2026-05-12",
        },
        {"test": "anc", "value": 999, "unit": "/uL", "lln": 2000, "collected_date": "2026-05-12"},
    ]
    stored = api.post("coord1", labs_url, {"results": results, "source": "imported"})
    assert stored.status_code == 201, stored.text
    proposals = {(p["test"], p["value"]): p for p in stored.json()["proposals"]}
    assert (proposals[("alt", 119)]["grade"], proposals[("alt", 119)]["baseline_status"]) == (0, "abnormal")
    assert (proposals[("alt", 241)]["grade"], proposals[("alt", 241)]["baseline_value"]) == (2, 80)
    assert proposals[("total_bilirubin", 1.8)]["grade"] == 1
    assert "baseline not recorded" in proposals[("total_bilirubin", 1.8)]["notes"][0]
    assert proposals[("anc", 999)]["grade"] == 3  # 0.999 x 10^9/L
    for bad, field in (
        ({"test": "hemoglobin", "value": 900, "unit": "g/dL"}, "results[0].value"),
        ({"test": "hemoglobin", "value": 9, "unit": "umol/L"}, "results[0].unit"),
        ({"test": "glucose", "value": 5, "unit": "mmol/L"}, "results[0].test"),
    ):
        response = api.post("coord1", labs_url, {"results": [{**bad, "collected_date": "2026-05-12"}]})
        assert response.status_code == 422 and response.json()["field"] == field

    confirm = f"/api/trials/{IVO}/labs/{proposals[('alt', 241)]['lab_result_id']}/confirm"
    assert api.post("coord1", confirm, {}).status_code == 403  # the investigator confirms
    confirmed = api.post("inv1", confirm, {"attributions": {"ivonescimab": "probable"}})
    assert confirmed.status_code == 201, confirmed.text
    event = confirmed.json()["adverse_event"]
    assert (event["term"], event["grade"], event["onset_date"]) == (
        "Alanine aminotransferase increased",
        2,
        "2026-05-12",
    )
    assert event["lab_result_id"] == proposals[("alt", 241)]["lab_result_id"]
    assert api.post("inv1", confirm, {}).json()["rule"] == "already_confirmed"
    grade0 = f"/api/trials/{IVO}/labs/{proposals[('alt', 119)]['lab_result_id']}/confirm"
    assert api.post("inv1", grade0, {}).json()["rule"] == "no_proposal"
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    assert any(
        r["table"] == "adverse_events" and r["action"] == "insert" and r["user"] == "inv1" for r in audit
    )


def test_lab_proposals_baseline_own_uln_creatinine_and_new_ctcae_terms(api: Api) -> None:
    """Issue 10: the abnormal baseline is judged on the baseline sample's own ULN (admiral BNRIND);
    creatinine "> 1.5 - 3.0 x baseline" grades a value at or below the ULN (CTCAE v5.0, admiral);
    Hb in mmol/L is graded on CTCAE's mmol/L limits; sodium, potassium, magnesium, ALP and GGT are
    graded; Hyponatremia 125-129 mmol/L is not assignable from the value alone."""
    subject_id = api.enrolled_subject(IVO, "IVO-L02")
    labs_url = f"/api/trials/{IVO}/subjects/{subject_id}/labs"
    base = {"collected_date": "2026-04-20", "is_baseline": True}
    later = {"collected_date": "2026-05-12"}
    results = [
        {"test": "alt", "value": 50, "unit": "U/L", "uln": 60, **base},  # normal against its own ULN
        {"test": "alt", "value": 130, "unit": "U/L", "uln": 40, **later},  # > 3 x ULN 40 -> 2
        {"test": "creatinine", "value": 40, "unit": "umol/L", "uln": 100, **base},
        {"test": "creatinine", "value": 65, "unit": "umol/L", "uln": 100, **later},  # > 1.5 x 40 -> 2
        {"test": "hemoglobin", "value": 6.2, "unit": "mmol/L", "lln": 8.0, **later},  # "<LLN - 6.2" -> 1
        {"test": "sodium", "value": 127, "unit": "mmol/L", "lln": 135, "uln": 145, **later},
        {"test": "potassium", "value": 6.1, "unit": "mEq/L", "lln": 3.5, "uln": 5.1, **later},  # -> 3
        {"test": "magnesium", "value": 1.2, "unit": "mg/dL", "lln": 1.7, "uln": 2.6, **later},  # -> 1
        {"test": "alp", "value": 301, "unit": "U/L", "uln": 120, **later},  # > 2.5 x ULN -> 2
        {"test": "ggt", "value": 61, "unit": "U/L", "uln": 60, **later},  # > ULN -> 1
    ]
    stored = api.post("coord1", labs_url, {"results": results})
    assert stored.status_code == 201, stored.text
    proposals = {(p["test"], p["term"]): p for p in stored.json()["proposals"]}
    alt = proposals[("alt", "Alanine aminotransferase increased")]
    assert (alt["grade"], alt["baseline_status"]) == (2, "normal")
    creat = proposals[("creatinine", "Creatinine increased")]
    assert (creat["grade"], creat["criterion"]) == (2, ">1.5 - 3.0 x baseline")
    assert proposals[("hemoglobin", "Anemia")]["grade"] == 1
    hypona = proposals[("sodium", "Hyponatremia")]
    assert (hypona["grade"], hypona["proposable"]) == (None, False)
    assert any("only if symptomatic" in note for note in hypona["notes"])
    assert proposals[("sodium", "Hypernatremia")]["grade"] == 0
    assert proposals[("potassium", "Hyperkalemia")]["grade"] == 3
    assert proposals[("magnesium", "Hypomagnesemia")]["grade"] == 1
    assert proposals[("alp", "Alkaline phosphatase increased")]["grade"] == 2
    assert proposals[("ggt", "GGT increased")]["grade"] == 1

    # potassium has two terms; without "term" the one with a grade is confirmed
    confirm = f"/api/trials/{IVO}/labs/{proposals[('potassium', 'Hyperkalemia')]['lab_result_id']}/confirm"
    confirmed = api.post("inv1", confirm, {})
    assert confirmed.status_code == 201, confirmed.text
    assert (confirmed.json()["adverse_event"]["term"], confirmed.json()["adverse_event"]["grade"]) == (
        "Hyperkalemia",
        3,
    )


# ---- toxicity warning (seed 000) and the safety report -------------------------------------------


def test_toxicity_warning_never_stops_and_the_safety_report(api: Api) -> None:
    fill_enrolment(api, IVO, "main", "ivo-shfrt", 6)
    subjects = _filled_ids(api, IVO)
    for index, subject_id in enumerate(subjects[:4]):
        response = _ivo_ae(api, subject_id, grade=3, action_taken="drug_withdrawn" if index == 0 else None)
        assert response.status_code == 201, response.text
        toxicity = response.json()["toxicity"][0]
        assert (toxicity["events"], toxicity["n"], toxicity["warning"]) == (index + 1, 6, index == 3)
    assert response.json()["alerts"][0]["kind"] == "toxicity_warning"
    assert _state(api, IVO) == "enrolment_open"  # a warning, never an automatic stop

    report = api.get("stat", f"/api/trials/{IVO}/safety-report")
    assert report.status_code == 200, report.text
    tables = report.json()["tables"]
    assert tables["exposure"][-1] == {
        "group": "Total",
        "enrolled": 6,
        "exposed": 4,
        "treatment_started": 0,
        "deaths": 0,
    }
    pneumonitis = next(r for r in tables["ae_by_soc_term_all_cause"] if r["term"] == "Pneumonitis")
    assert (pneumonitis["ivo-shfrt 3-4"], pneumonitis["ivo-shfrt 1-2"], pneumonitis["Total any"]) == (4, 0, 4)
    assert tables["ae_by_soc_term_treatment_related"][0]["Total any"] == 4
    by_grade = next(
        r
        for r in tables["ae_by_term_and_max_grade_all_cause"]
        if (r["term"], r["group"]) == ("Pneumonitis", "Total")
    )
    assert (by_grade["N"], by_grade["grade 2"], by_grade["grade 3"], by_grade["grade >= 3"]) == (6, 0, 4, 4)
    assert len(tables["grade_3_or_higher"]) == 4 and len(tables["leading_to_discontinuation"]) == 1
    assert tables["toxicity_monitoring"][0]["warning"] is True
    assert tables["toxicity_boundary"][0] == {
        "monitor_id": "grade3-trae-rate",
        "n": 6,
        "warn_when_at_least": 4,
    }

    # Cut-off rule (docs/analysis.md): subjects enrolled today and their AEs are not in yesterday's report.
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    earlier = api.get("stat", f"/api/trials/{IVO}/safety-report", params={"cutoff": yesterday}).json()
    assert earlier["cutoff"] == yesterday and earlier["tables"]["exposure"][-1]["enrolled"] == 0
    assert (
        earlier["tables"]["grade_3_or_higher"] == [] and earlier["tables"]["toxicity_monitoring"][0]["n"] == 0
    )
    future = (clock.today() + dt.timedelta(days=1)).isoformat()
    refused = api.get("stat", f"/api/trials/{IVO}/safety-report", params={"cutoff": future})
    assert refused.status_code == 422 and "future" in refused.text

    html = api.get("safety", f"/api/trials/{IVO}/safety-report", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "Toxicity warning boundary" in html.text
    pdf = api.get("monitor", f"/api/trials/{IVO}/safety-report", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert api.get("coord1", f"/api/trials/{IVO}/safety-report").json()["rule"] == "read_safety_report"
    exports = api.get("monitor", "/api/audit", params={"username": "stat"}).json()["items"]
    assert any(r["action"] == "export" and r["table"] == "safety_report" for r in exports)

    scr = api.get("safety", f"/api/trials/{SCR}/safety-report").json()["tables"]
    probabilities = {
        (r["n_basis"], r["true_rate"]): r["probability"] for r in scr["stopping_rule_probabilities"]
    }
    assert probabilities[("planned minimum", 0.05)] == pytest.approx(0.264, abs=5e-4)  # clinical-reference 0
    assert probabilities[("planned maximum", 0.10)] == pytest.approx(0.729, abs=5e-4)
    assert scr["stopping_rules"][0]["count"] == 0 and scr["stopping_rules"][0]["threshold"] == 2
