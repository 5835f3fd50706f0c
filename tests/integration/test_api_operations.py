"""Running both trials through the REST API with real users and roles, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.api_helpers import (
    PASSWORD,
    Api,
    enrolment_moment,
    followed_run_in,
    open_randomized_phase,
)
from trialdesk.services import clock

SCR = "scr-escc-01"
IVO = "ivo-shfrt-2l"


def _state(api: Api) -> dict:  # type: ignore[type-arg]
    response = api.get("monitor", f"/api/trials/{SCR}")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


# ---- authentication ------------------------------------------------------------------------


def test_login_wrong_password_is_401_and_audited(api: Api) -> None:
    response = api.client.post("/api/auth/token", data={"username": "inv1", "password": "wrong password"})
    assert response.status_code == 401
    audit = api.get("monitor", "/api/audit", params={"username": "inv1"}).json()["items"]
    assert [row["action"] for row in audit] == ["login_failure"]
    api.headers("inv1")
    audit = api.get("monitor", "/api/audit", params={"username": "inv1"}).json()["items"]
    assert [row["action"] for row in audit] == ["login_failure", "login_success"]


def test_request_without_or_with_bad_token_is_401(api: Api) -> None:
    assert api.client.get(f"/api/trials/{SCR}/subjects").status_code == 401
    bad = api.client.get(f"/api/trials/{SCR}/subjects", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and bad.json()["detail"] == "invalid token"


def test_me_reports_role_and_sites(api: Api) -> None:
    me = api.get("inv2", "/api/auth/me").json()
    assert me["role"] == "investigator" and me["site_ids"] == [api.site_ids[(SCR, "S02")]]


# ---- screening, attestation, enrolment ----------------------------------------------------


def test_screening_stores_criterion_by_criterion_evaluation(api: Api) -> None:
    response = api.screen(SCR, "SCR-0001")
    assert response.status_code == 201, response.text
    subject = response.json()
    assert subject["status"] == "screening"
    assert subject["eligibility"]["verdict"] == "incomplete"
    pending = {c["id"] for c in subject["eligibility"]["criteria"] if c["status"] == "needs_attestation"}
    assert pending == {"inc-5-organ-function", "exc-2-curable-by-surgery", "exc-5-bleeding-fistula-risk"}
    attested = api.attest_all(SCR, subject["id"]).json()
    assert attested["eligibility"]["verdict"] == "eligible"


def test_only_investigators_attest(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0002").json()["id"]
    body = {"criterion_id": "exc-2-curable-by-surgery", "answer": False}
    refused = api.post("coord1", f"/api/trials/{SCR}/subjects/{subject_id}/attestations", body)
    assert refused.status_code == 403 and refused.json()["rule"] == "attest"


def test_attesting_a_computed_criterion_is_refused(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0003").json()["id"]
    body = {"criterion_id": "inc-1-age", "answer": True}
    refused = api.post("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/attestations", body)
    assert refused.status_code == 422 and refused.json()["field"] == "criterion_id"


def test_enrolment_needs_eligible_verdict(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0004").json()["id"]
    refused = api.enrol(SCR, subject_id)
    assert refused.status_code == 409 and refused.json()["rule"] == "IneligibleSubject"
    assert "incomplete" in refused.json()["detail"]


def test_enrolment_signature_needs_the_right_password(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0005").json()["id"]
    api.attest_all(SCR, subject_id)
    body = {"consent_date": "2026-04-13", "password": "not my password"}
    with clock.pinned_at(enrolment_moment(SCR)):
        refused = api.post("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/enrol", body)
    assert refused.status_code == 401
    actions = [
        r["action"] for r in api.get("monitor", "/api/audit", params={"username": "inv1"}).json()["items"]
    ]
    assert "signature_failure" in actions


def test_run_in_enrolment_assigns_the_experimental_arm(api: Api) -> None:
    subject_id = api.enrolled_subject(SCR, "SCR-0006")
    subject = api.get("inv1", f"/api/trials/{SCR}/subjects/{subject_id}").json()
    assert (subject["status"], subject["phase_id"], subject["arm_id"]) == ("enrolled", "iia", "A")
    assert subject["consent_date"] == "2026-04-13"
    assert _state(api)["enrolled_by_phase"] == {"iia": 1, "iib": 0}


def test_wrong_lifecycle_transition_is_409_naming_the_rule(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0007").json()["id"]
    refused = api.post(
        "coord1", f"/api/trials/{SCR}/subjects/{subject_id}/status", {"status": "completed", "reason": "test"}
    )
    assert refused.status_code == 409
    assert "can move only to" in refused.json()["detail"]
    ok = api.post(
        "coord1",
        f"/api/trials/{SCR}/subjects/{subject_id}/status",
        {"status": "screen_failed", "reason": "declined"},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "screen_failed"


def test_other_sites_subject_is_404_not_403(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0008").json()["id"]
    for user in ("inv2", "coord2"):
        assert api.get(user, f"/api/trials/{SCR}/subjects/{subject_id}").status_code == 404
        assert (
            api.post(
                user,
                f"/api/trials/{SCR}/subjects/{subject_id}/status",
                {"status": "screen_failed", "reason": "x y"},
            ).status_code
            == 404
        )
    assert api.get("inv2", f"/api/trials/{SCR}/subjects").json() == []
    assert api.get("monitor", f"/api/trials/{SCR}/subjects/{subject_id}").status_code == 200


def test_screening_log_lists_failures_by_criterion(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-0009").json()["id"]
    record = api.get("inv1", f"/api/trials/{SCR}/subjects/{subject_id}").json()
    assert record["eligibility"]["verdict"] == "incomplete"
    from tests.integration.api_helpers import patient

    older = patient(SCR, "SCR-0009")
    older["ecog"] = 2
    changed = api.put(
        "coord1",
        f"/api/trials/{SCR}/subjects/{subject_id}/record",
        {"patient": older, "reason": "ECOG re-assessed"},
    )
    assert changed.status_code == 200 and changed.json()["eligibility"]["verdict"] == "ineligible"
    log = api.get("coord1", f"/api/trials/{SCR}/screening-log").json()
    assert log["screen_failures_by_criterion"] == {"inc-3-ecog": 1}
    assert log["subjects"][0]["failed_criteria"][0]["source"] == "inclusion 3"


# ---- the run-in gate (seed 002) ------------------------------------------------------------


def test_two_related_grade5_aes_terminate_the_trial_and_close_everything(api: Api) -> None:
    first = api.enrolled_subject(SCR, "SCR-0101")
    second = api.enrolled_subject(SCR, "SCR-0102")
    assert api.ae(SCR, first, 5, related=True).json()["stopping_rules"][0] == {
        "rule_id": "runin-grade5-trae",
        "count": 1,
        "threshold": 2,
        "met": False,
    }
    assert _state(api)["phase_state"] == "run_in_open"
    third = api.screen(SCR, "SCR-0103").json()["id"]  # screened before the trial terminates
    api.attest_all(SCR, third)
    result = api.ae(SCR, second, 5, related=True).json()
    assert result["stopping_rules"][0]["met"] is True
    state = _state(api)
    assert state["phase_state"] == "terminated"
    assert "runin-grade5-trae" in state["state_reason"] and "2 subject(s)" in state["state_reason"]
    for user in ("coord1", "inv2", "stat", "safety", "monitor"):  # every role sees why
        assert "stopping rule" in api.get(user, f"/api/trials/{SCR}").json()["state_reason"]
    refused = api.post("coord1", f"/api/trials/{SCR}/subjects/{first}/randomize", {"strata": {"ecog": "1"}})
    assert refused.status_code == 409 and refused.json()["rule"] == "RandomizationClosed"
    closed = api.enrol(SCR, third)
    assert closed.status_code == 409 and closed.json()["rule"] == "enrolment_closed"
    no_screening = api.screen(SCR, "SCR-0104")  # issue 10: no screening in a terminated trial
    assert no_screening.status_code == 409 and no_screening.json()["rule"] == "trial_terminated"
    no_list = api.post("stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 4})
    assert no_list.status_code == 409 and no_list.json()["rule"] == "trial_terminated"
    evidence = api.get("safety", f"/api/trials/{SCR}/gate-evidence").json()
    reopen = api.post(
        "safety",
        f"/api/trials/{SCR}/phase",
        {
            "target": "randomized_open",
            "reason": "try to open",
            "password": PASSWORD,
            "meaning": "I approve phase IIb",
            "evidence_sha256": evidence["evidence_sha256"],
        },
    )
    assert reopen.status_code == 409 and reopen.json()["rule"] == "phase_gate"


def test_one_related_and_one_unrelated_grade5_gate_opens_only_with_signature(api: Api) -> None:
    first = api.enrolled_subject(SCR, "SCR-0201")
    second = api.enrolled_subject(SCR, "SCR-0202")
    api.ae(SCR, first, 5, related=True)
    assert api.ae(SCR, second, 5, related=False).json()["stopping_rules"][0]["count"] == 1
    assert _state(api)["phase_state"] == "run_in_open"
    followed_run_in(api)  # the minimum run-in, followed for the observation window
    assert (
        api.post(
            "safety", f"/api/trials/{SCR}/phase", {"target": "run_in_review", "reason": "run-in done"}
        ).status_code
        == 200
    )
    unsigned = api.post(
        "safety", f"/api/trials/{SCR}/phase", {"target": "randomized_open", "reason": "no signature"}
    )
    assert unsigned.status_code == 422 and unsigned.json()["field"] == "signature"
    evidence = api.get("safety", f"/api/trials/{SCR}/gate-evidence").json()
    stale = api.post(
        "safety",
        f"/api/trials/{SCR}/phase",
        {
            "target": "randomized_open",
            "reason": "signed on stale evidence",
            "password": PASSWORD,
            "meaning": "I approve phase IIb",
            "evidence_sha256": "0" * 64,
        },
    )
    assert stale.status_code == 409 and stale.json()["rule"] == "signature_bound_to_evidence"
    not_reviewer = api.post(
        "stat", f"/api/trials/{SCR}/phase", {"target": "randomized_open", "reason": "not mine"}
    )
    assert not_reviewer.status_code == 403
    opened = api.post(
        "safety",
        f"/api/trials/{SCR}/phase",
        {
            "target": "randomized_open",
            "reason": "1 related death < 2",
            "password": PASSWORD,
            "meaning": "I approve opening phase IIb",
            "evidence_sha256": evidence["evidence_sha256"],
        },
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["phase_state"] == "randomized_open"
    assert opened.json()["history"][-1]["by"] == "safety"


def test_randomization_flow_in_phase_iib(api: Api) -> None:
    assert open_randomized_phase(api).status_code == 200
    refused = api.post("coord1", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 8})
    assert refused.status_code == 403
    created = api.post(
        "stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 8, "seed_hex": "ab" * 32}
    )
    assert created.status_code == 201, created.text
    assert set(created.json()["strata"]) == {
        "site=S01|ecog=0",
        "site=S01|ecog=1",
        "site=S02|ecog=0",
        "site=S02|ecog=1",
    }
    subject_id = api.enrolled_subject(SCR, "SCR-0301")
    assert api.get("inv1", f"/api/trials/{SCR}/subjects/{subject_id}").json()["phase_id"] == "iib"
    done = api.post("coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {"strata": {"ecog": "1"}})
    assert done.status_code == 200, done.text
    assert done.json()["stratum"] == "site=S01|ecog=1" and done.json()["arm"] in ("A", "B")
    again = api.post(
        "coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {"strata": {"ecog": "1"}}
    )
    assert again.status_code == 409 and again.json()["rule"] == "AlreadyRandomized"
    lists = api.get("stat", f"/api/trials/{SCR}/randomization-lists").json()
    used = [s for s in lists[0]["slots"] if s["subject_id"] == subject_id]
    assert len(used) == 1 and used[0]["arm"] == done.json()["arm"] and used[0]["sequence"] == 1
    for user in ("coord1", "inv1", "safety", "monitor", "admin"):
        assert api.get(user, f"/api/trials/{SCR}/randomization-lists").status_code == 403
        assert api.get(user, f"/api/trials/{SCR}/allocations").status_code == 403
    allocations = api.get("stat", f"/api/trials/{SCR}/allocations").json()
    assert allocations[0]["strata_values"] == {"site": "S01", "ecog": "1"}
    exports = [
        r["table"]
        for r in api.get("monitor", "/api/audit", params={"username": "stat"}).json()["items"]
        if r["action"] == "export"
    ]
    assert exports == ["randomization_lists", "allocations"]  # viewing the list is audited


def test_randomizing_with_a_claimed_stratum_that_disagrees_with_the_record_is_409(api: Api) -> None:
    """Issue 10: the server derives the stratum from the record (ECOG 1 here); a client's other
    claim is a 409 naming the factor and both values."""
    assert open_randomized_phase(api).status_code == 200
    api.post("stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 4})
    subject_id = api.enrolled_subject(SCR, "SCR-0401")
    response = api.post(
        "coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {"strata": {"ecog": "3"}}
    )
    assert response.status_code == 409 and response.json()["rule"] == "stratum_from_record"
    assert "'ecog'" in response.json()["detail"] and "'3'" in response.json()["detail"]


# ---- seed 000: single arm, 37 places ------------------------------------------------------


def test_single_arm_enrolment_assigns_the_arm_and_refuses_the_38th(api: Api) -> None:
    from tests.integration.api_helpers import fill_enrolment

    subject_id = api.enrolled_subject(IVO, "IVO-0001")
    assert api.get("inv1", f"/api/trials/{IVO}/subjects/{subject_id}").json()["arm_id"] == "ivo-shfrt"
    fill_enrolment(api, IVO, "main", "ivo-shfrt", 36)
    extra = api.screen(IVO, "IVO-0038").json()["id"]
    api.attest_all(IVO, extra)
    refused = api.enrol(IVO, extra)
    assert refused.status_code == 409 and refused.json()["rule"] == "enrolment_limit"
    assert "37 of 37" in refused.json()["detail"]
    no_reason = api.post("admin", f"/api/trials/{IVO}/enrolment-override", {"additional": 1, "reason": ""})
    assert no_reason.status_code == 422
    assert (
        api.post(
            "inv1", f"/api/trials/{IVO}/enrolment-override", {"additional": 1, "reason": "DSMB ok"}
        ).status_code
        == 403
    )
    granted = api.post(
        "admin",
        f"/api/trials/{IVO}/enrolment-override",
        {"additional": 1, "reason": "replaces a non-evaluable patient"},
    )
    assert granted.status_code == 200 and granted.json()["enrolment_override"] == 1
    assert api.enrol(IVO, extra).status_code == 200


# ---- adverse-event input errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"grade": 5, "death_date": None}, "death_date"),
        ({"grade": 6}, "grade"),
        ({"attributions": {"paclitaxel": "possible"}}, "attributions.paclitaxel"),
        ({"attributions": {"ivonescimab": "maybe"}}, "attributions.ivonescimab"),
        ({"grade": 5, "death_date": "2026-04-01"}, "death_date"),
    ],
)
def test_bad_adverse_event_is_422_naming_the_field(api: Api, change: dict, field: str) -> None:  # type: ignore[type-arg]
    subject_id = api.enrolled_subject(IVO, "IVO-0100")
    body = {
        "term": "Pneumonitis",
        "grade": 3,
        "onset_date": "2026-05-01",
        "death_date": None,
        "attributions": {"ivonescimab": "possible", "shfrt": "probable"},
        **change,
    }
    response = api.post("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/adverse-events", body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
