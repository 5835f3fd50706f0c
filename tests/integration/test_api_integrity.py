"""Issue 10, "the server decides": every rule on SQLite and PostgreSQL, each refusal asserting the status,
that the message names the field or rule, and that nothing was written (row counts and audit unchanged).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from tests.integration.api_helpers import (
    EXAMPLES,
    PASSWORD,
    ROLES_AT_SITE,
    Api,
    enrolled_in_phase,
    enrolment_moment,
    followed_run_in,
    open_randomized_phase,
    patient,
)
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AdverseEvent, Subject
from trialdesk.services import clock

SCR = "scr-escc-01"
IVO = "ivo-shfrt-2l"
TABLES = (
    "subjects",
    "attestations",
    "eligibility_evaluations",
    "signatures",
    "allocations",
    "adverse_events",
    "lab_results",
    "tumour_baselines",
    "tumour_assessments",
    "response_overrides",
    "randomization_lists",
    "phase_transitions",
    "audit_log",
)


def _counts(api: Api) -> dict[str, int]:
    for user in ROLES_AT_SITE:
        api.headers(user)  # log everyone in first: a login is an audited event of its own
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


@contextmanager
def nothing_written(api: Api) -> Iterator[None]:
    """Assert that the block changed no row of any clinical table and added no audit row."""
    before = _counts(api)
    yield
    assert _counts(api) == before


def refused(
    response: Any, status: int, *, field: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    """Assert the status and that the body names the field or rule; return the body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if field is not None:
        assert body["field"] == field, body
    if rule is not None:
        assert body["rule"] == rule, body
    assert len(body["detail"]) > 15, body  # a sentence saying why, not a bare code
    return body


def _orm(api: Api, change: Callable[[Any], None]) -> None:
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap", reason="test set-up") as session:
        change(session)


def _subject(api: Api, protocol_id: str, subject_id: int, user: str = "inv1") -> dict[str, Any]:
    body: dict[str, Any] = api.get(user, f"/api/trials/{protocol_id}/subjects/{subject_id}").json()
    return body


# ---- who may say what: attestations ------------------------------------------------------------


def test_attestations_inside_a_submitted_record_are_proposals_never_counted(api: Api) -> None:
    """A coordinator's patient JSON carrying "investigator attestations" is stored as proposals: the
    verdict counts only the answers an investigator of the site records through the attestation service."""
    record = patient(SCR, "SCR-ATT-1", keep_attestations=True)
    screened = api.post("coord1", f"/api/trials/{SCR}/subjects", {"site_code": "S01", "patient": record})
    assert screened.status_code == 201, screened.text
    body = screened.json()
    assert body["eligibility"]["verdict"] == "incomplete"
    attestation_criteria = set(record["attestations"])
    statuses = {c["id"]: c["status"] for c in body["eligibility"]["criteria"]}
    assert {statuses[c] for c in attestation_criteria} == {"needs_attestation"}
    assert set(body["proposed_attestations"]) == attestation_criteria
    some = sorted(attestation_criteria)[0]
    assert body["proposed_attestations"][some]["submitted_by"] == "coord1"
    subject_id = body["id"]
    assert api.attest_all(SCR, subject_id).json()["eligibility"]["verdict"] == "eligible"
    assert _subject(api, SCR, subject_id)["proposed_attestations"] == {}  # settled by the investigator
    assert api.enrol(SCR, subject_id).status_code == 200
    signed = api.get("monitor", f"/api/trials/{SCR}/subjects/{subject_id}/enrolment-signature").json()
    assert signed["signed_by"] == "inv1"
    attesters = {a["criterion"]: a["by"] for a in signed["evidence"]["attestations"]}
    assert set(attesters) == attestation_criteria
    assert set(attesters.values()) == {"Inv1 (inv1)"}  # the real user, not the JSON's claim


def test_attestations_in_a_fhir_bundle_are_proposals_too(api: Api) -> None:
    bundle = json.loads((EXAMPLES / f"{SCR}-eligible.fhir.json").read_text(encoding="utf-8"))
    screened = api.post("coord1", f"/api/trials/{SCR}/subjects", {"site_code": "S01", "patient": bundle})
    assert screened.status_code == 201, screened.text
    assert screened.json()["eligibility"]["verdict"] != "eligible"
    assert screened.json()["proposed_attestations"]


def test_only_an_investigator_of_the_subjects_site_attests(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-ATT-2").json()["id"]
    body = {"criterion_id": "inc-5-organ-function", "answer": True}
    url = f"/api/trials/{SCR}/subjects/{subject_id}/attestations"
    with nothing_written(api):
        assert api.post("coord1", url, body).status_code == 403
        assert api.post("inv2", url, body).status_code == 404  # another site's investigator


def test_enrolment_before_signing_has_no_signature(api: Api) -> None:
    subject_id = api.screen(SCR, "SCR-ATT-3").json()["id"]
    missing = api.get("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/enrolment-signature")
    assert missing.status_code == 404


# ---- who may say what: strata --------------------------------------------------------------------


def _randomizable(api: Api, n: int = 2) -> list[tuple[int, str]]:
    assert open_randomized_phase(api).status_code == 200
    assert (
        api.post("stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": 8}).status_code
        == 201
    )
    return enrolled_in_phase(api, SCR, "iib", n)


def test_strata_are_derived_from_the_record_when_the_client_sends_none(api: Api) -> None:
    (subject_id, site), (other_id, _) = _randomizable(api)
    done = api.post("coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {})
    assert done.status_code == 200, done.text
    assert done.json()["strata_values"] == {"site": site, "ecog": "0"}
    agreeing = api.post(
        "coord2", f"/api/trials/{SCR}/subjects/{other_id}/randomize", {"strata": {"ecog": "0", "site": "S02"}}
    )
    assert agreeing.status_code == 200, agreeing.text


def test_a_claimed_site_that_is_not_the_subjects_is_409(api: Api) -> None:
    (subject_id, _), _ = _randomizable(api)
    with nothing_written(api):
        body = refused(
            api.post(
                "coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {"strata": {"site": "S02"}}
            ),
            409,
            rule="stratum_from_record",
        )
    assert "'S02'" in body["detail"] and "'S01'" in body["detail"]


def test_a_stratification_factor_missing_from_the_record_is_422_naming_it(api: Api) -> None:
    (subject_id, _), _ = _randomizable(api)

    def drop_ecog(session: Any) -> None:
        subject = session.get(Subject, subject_id)
        subject.patient_record = {k: v for k, v in subject.patient_record.items() if k != "ecog"}

    _orm(api, drop_ecog)
    with nothing_written(api):
        refused(
            api.post(
                "coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {"strata": {"ecog": "0"}}
            ),
            422,
            field="strata.ecog",
        )


def test_a_record_level_outside_the_factor_levels_is_422(api: Api) -> None:
    (subject_id, _), _ = _randomizable(api)

    def ecog_3(session: Any) -> None:
        subject = session.get(Subject, subject_id)
        subject.patient_record = {**subject.patient_record, "ecog": 3}

    _orm(api, ecog_3)
    with nothing_written(api):
        refused(
            api.post("coord1", f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {}), 422, field="strata"
        )


# ---- enrolment currency ----------------------------------------------------------------------------


def _screened_and_attested(api: Api, number: str) -> int:
    subject_id: int = api.screen(SCR, number).json()["id"]
    api.attest_all(SCR, subject_id)
    return subject_id


def _enrol_at(api: Api, subject_id: int, moment: dt.datetime, consent: str = "2026-04-13") -> Any:
    with clock.pinned_at(moment):
        return api.post(
            "inv1",
            f"/api/trials/{SCR}/subjects/{subject_id}/enrol",
            {"consent_date": consent, "password": PASSWORD},
        )


def test_a_screening_older_than_the_protocol_window_cannot_enrol(api: Api) -> None:
    """Screened 2026-04-15; the window is 28 days: enrolment on 2026-05-14 (29 days) is refused."""
    subject_id = _screened_and_attested(api, "SCR-CUR-1")
    with nothing_written(api):
        body = refused(
            _enrol_at(api, subject_id, dt.datetime(2026, 5, 14, 9, tzinfo=dt.UTC)),
            409,
            rule="screening_window",
        )
    assert "2026-04-15" in body["detail"] and "28 days" in body["detail"] and "2026-05-14" in body["detail"]
    on_the_last_day = _enrol_at(api, subject_id, dt.datetime(2026, 5, 13, 9, tzinfo=dt.UTC))
    assert on_the_last_day.status_code == 200, on_the_last_day.text


def test_the_consent_date_must_be_the_signed_consent_on_the_record(api: Api) -> None:
    subject_id = _screened_and_attested(api, "SCR-CUR-2")
    with nothing_written(api):
        body = refused(
            _enrol_at(api, subject_id, enrolment_moment(SCR), "2026-04-12"), 409, rule="consent_on_record"
        )
    assert "2026-04-12" in body["detail"] and "2026-04-13" in body["detail"]


def test_a_consent_date_in_the_future_is_422(api: Api) -> None:
    subject_id = _screened_and_attested(api, "SCR-CUR-3")
    with nothing_written(api):
        refused(
            _enrol_at(api, subject_id, dt.datetime(2026, 4, 14, 9, tzinfo=dt.UTC), "2026-04-15"),
            422,
            field="consent_date",
        )


# ---- the run-in gate -----------------------------------------------------------------------------


def _review(api: Api) -> None:
    moved = api.post(
        "safety", f"/api/trials/{SCR}/phase", {"target": "run_in_review", "reason": "early look"}
    )
    assert moved.status_code == 200, moved.text  # moving to review early is allowed


def _sign_open(api: Api) -> Any:
    evidence = api.get("safety", f"/api/trials/{SCR}/gate-evidence").json()
    return api.post(
        "safety",
        f"/api/trials/{SCR}/phase",
        {
            "target": "randomized_open",
            "reason": "run-in reviewed",
            "password": PASSWORD,
            "meaning": "I approve opening phase IIb",
            "evidence_sha256": evidence["evidence_sha256"],
        },
    )


def test_the_gate_is_not_signed_open_before_the_minimum_run_in_is_followed(api: Api) -> None:
    """Three subjects enrolled on 2026-04-17; on 2026-05-01 none has completed the 90-day window."""
    for n in range(3):
        api.enrolled_subject(SCR, f"SCR-GATE-{n}")
    with clock.pinned_at(dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)):
        _review(api)
        gate = api.get("safety", f"/api/trials/{SCR}/gate-evidence").json()["evidence"]["gates"][0]
        assert (gate["minimum_size"], gate["enrolled"], gate["observation_window_days"]) == (20, 3, 90)
        assert gate["size_met"] is False and len(gate["not_yet_followed"]) == 3
        assert gate["not_yet_followed"][0]["window_complete_on"] == "2026-07-16"
        with nothing_written(api):
            body = refused(_sign_open(api), 409, rule="gate_run_in_size")
        assert "0 of the minimum 20" in body["detail"] and "90-day" in body["detail"]
    followed_run_in(api)  # 17 more, treated from 2026-04-20; today all 20 are past the window
    assert _sign_open(api).status_code == 200


def test_the_gate_is_not_signed_open_with_an_unattributed_grade5_event(api: Api) -> None:
    followed_run_in(api)
    subject_id = api.enrolled_subject(SCR, "SCR-GATE-9")
    body = {
        "term": "Death NOS",
        "grade": 5,
        "onset_date": "2026-05-01",
        "death_date": "2026-05-03",
        "site_aware_at": "2026-05-03T09:00:00+00:00",
        "attributions": {"pd1": "unlikely", "ldrt": "unlikely"},
    }
    assert (
        api.post("inv1", f"/api/trials/{SCR}/subjects/{subject_id}/adverse-events", body).status_code == 201
    )
    _review(api)
    gate = api.get("safety", f"/api/trials/{SCR}/gate-evidence").json()["evidence"]["gates"][0]
    (listed,) = gate["unattributed_grade5_events"]
    assert listed["subject"] == "SCR-GATE-9"
    assert listed["missing_components"] == ["paclitaxel", "platinum", "cfrt"]
    with nothing_written(api):
        detail = refused(_sign_open(api), 409, rule="gate_unattributed_grade5")["detail"]
    assert "SCR-GATE-9" in detail and "cfrt" in detail


# ---- screening numbers ---------------------------------------------------------------------------


def test_a_screening_number_used_at_another_site_answers_as_at_ones_own_site(api: Api) -> None:
    assert api.screen(SCR, "SCR-DUP-1", "coord1", "S01").status_code == 201
    assert api.screen(SCR, "SCR-DUP-2", "coord2", "S02").status_code == 201
    with nothing_written(api):
        own = refused(api.screen(SCR, "SCR-DUP-2", "coord2", "S02"), 409, rule="unique_screening_number")
        other = refused(api.screen(SCR, "SCR-DUP-1", "coord2", "S02"), 409, rule="unique_screening_number")
    assert own["detail"].replace("SCR-DUP-2", "N") == other["detail"].replace("SCR-DUP-1", "N")
    assert "S01" not in other["detail"]


# ---- dates and values that cannot be true ----------------------------------------------------------


def _ae(api: Api, subject_id: int, **changes: Any) -> Any:
    body = {
        "term": "Pneumonitis",
        "grade": 2,
        "onset_date": "2026-05-01",
        "attributions": {"ivonescimab": "possible", "shfrt": "possible"},
        **changes,
    }
    return api.post("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/adverse-events", body)


def _follow_up(api: Api, subject_id: int, **dates: Any) -> Any:
    return api.put("inv1", f"/api/trials/{IVO}/subjects/{subject_id}/follow-up", dates)


@pytest.fixture
def ivo_subject(api: Api) -> int:
    """An enrolled seed-000 subject (consent 2026-02-27, screened 2026-03-02) who started treatment
    on 2026-03-09."""
    subject_id = api.enrolled_subject(IVO, "IVO-DATE-1")
    assert _follow_up(api, subject_id, treatment_start_date="2026-03-09").status_code == 200
    return subject_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"onset_date": "2099-01-01"}, "onset_date"),
        ({"onset_date": "1899-12-31"}, "onset_date"),
        ({"onset_date": "2026-02-01"}, "onset_date"),  # before consent, not flagged as baseline
        ({"resolution_date": "2099-01-01"}, "resolution_date"),
        ({"verbatim": "x" * 2001}, "verbatim"),
    ],
)
def test_impossible_ae_values_are_422(
    api: Api, ivo_subject: int, changes: dict[str, Any], field: str
) -> None:
    with nothing_written(api):
        refused(_ae(api, ivo_subject, **changes), 422, field=field)


def test_an_ae_before_consent_is_accepted_when_flagged_as_a_baseline_condition(
    api: Api, ivo_subject: int
) -> None:
    created = _ae(api, ivo_subject, onset_date="2026-02-01", baseline_condition=True)
    assert created.status_code == 201, created.text


def test_an_ae_after_the_death_is_422(api: Api, ivo_subject: int) -> None:
    assert _follow_up(api, ivo_subject, death_date="2026-06-01").status_code == 200
    with nothing_written(api):
        body = refused(_ae(api, ivo_subject, onset_date="2026-06-02"), 422, field="onset_date")
    assert "death" in body["detail"]


def test_a_death_before_a_recorded_event_is_422_naming_the_record(api: Api, ivo_subject: int) -> None:
    assert _ae(api, ivo_subject, onset_date="2026-06-10").status_code == 201
    with nothing_written(api):
        body = refused(_follow_up(api, ivo_subject, death_date="2026-06-01"), 422, field="death_date")
    assert "adverse event" in body["detail"] and "2026-06-10" in body["detail"]


def test_a_grade5_ae_whose_death_precedes_a_recorded_scan_is_422(api: Api, ivo_subject: int) -> None:
    lab = {"test": "alt", "value": 30, "unit": "U/L", "uln": 40, "collected_date": "2026-06-10"}
    assert (
        api.post("inv1", f"/api/trials/{IVO}/subjects/{ivo_subject}/labs", {"results": [lab]}).status_code
        == 201
    )
    with nothing_written(api):
        body = refused(
            _ae(
                api,
                ivo_subject,
                term="Death NOS",
                grade=5,
                onset_date="2026-05-30",
                death_date="2026-06-01",
                site_aware_at="2026-06-01T10:00:00+00:00",
            ),
            422,
            field="death_date",
        )
    assert "lab result" in body["detail"]


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"treatment_end_date": "2026-03-01", "discontinuation_reason": "toxicity"}, "treatment_end_date"),
        ({"last_known_alive_date": "2099-01-01"}, "last_known_alive_date"),
        ({"new_anticancer_therapy_date": "2026-03-05"}, "new_anticancer_therapy_date"),
        ({"death_date": "1800-01-01"}, "death_date"),
        ({"discontinuation_reason": "y" * 2001}, "discontinuation_reason"),
    ],
)
def test_impossible_follow_up_dates_are_422(
    api: Api, ivo_subject: int, dates: dict[str, Any], field: str
) -> None:
    with nothing_written(api):
        refused(_follow_up(api, ivo_subject, **dates), 422, field=field)


def test_status_died_without_a_death_date_is_422(api: Api, ivo_subject: int) -> None:
    api.post(
        "inv1",
        f"/api/trials/{IVO}/subjects/{ivo_subject}/status",
        {"status": "on_treatment", "reason": "C1D1"},
    )
    with nothing_written(api):
        refused(
            api.post(
                "inv1",
                f"/api/trials/{IVO}/subjects/{ivo_subject}/status",
                {"status": "died", "reason": "RIP"},
            ),
            422,
            field="death_date",
        )


def _lesions(size: Any = 30) -> list[dict[str, Any]]:
    return [
        {"id": "T1", "site": "liver", "nodal": False, "role": "target", "diameter_mm": size},
        {"id": "T2", "site": "lung", "nodal": False, "role": "target", "diameter_mm": 20},
    ]


def test_tumour_dates_and_sizes_that_cannot_be_true_are_422(api: Api, ivo_subject: int) -> None:
    url = f"/api/trials/{IVO}/subjects/{ivo_subject}"
    with nothing_written(api):
        # baseline more than the protocol's window before treatment start (2026-03-09)
        refused(
            api.put("inv1", f"{url}/tumour-baseline", {"date": "2026-01-02", "lesions": _lesions()}),
            422,
            field="date",
        )
        refused(
            api.put("inv1", f"{url}/tumour-baseline", {"date": "2026-03-10", "lesions": _lesions()}),
            422,
            field="date",
        )
        for bad in (-1, 501):
            response = api.put(
                "inv1", f"{url}/tumour-baseline", {"date": "2026-03-02", "lesions": _lesions(bad)}
            )
            assert response.status_code == 422, response.text
            assert "diameter_mm" in response.json()["detail"]
    nan = (
        '{"date": "2026-03-02", "lesions": [{"id": "T1", "site": "liver", "nodal": false, '
        '"role": "target", "diameter_mm": NaN}]}'
    )
    with nothing_written(api):
        response = api.client.put(
            f"{url}/tumour-baseline",
            content=nan,
            headers={**api.headers("inv1"), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
    assert (
        api.put("inv1", f"{url}/tumour-baseline", {"date": "2026-03-02", "lesions": _lesions()}).status_code
        == 200
    )
    with nothing_written(api):
        visit = {"date": "2026-03-05", "measurements": {"T1": 25, "T2": 18}}
        refused(api.put("inv1", f"{url}/tumour-assessments/W6", visit), 422, field="date")
        future = {"date": "2099-03-05", "measurements": {"T1": 25, "T2": 18}}
        refused(api.put("inv1", f"{url}/tumour-assessments/W6", future), 422, field="date")
        infinite = {"date": "2026-04-20", "measurements": {"T1": 9999, "T2": 18}}
        response = api.put("inv1", f"{url}/tumour-assessments/W6", infinite)
        assert response.status_code == 422 and "plausible maximum" in response.json()["detail"]


def test_an_override_accepts_only_the_rule_sets_response_codes(api: Api, ivo_subject: int) -> None:
    url = f"/api/trials/{IVO}/subjects/{ivo_subject}"
    assert (
        api.put("inv1", f"{url}/tumour-baseline", {"date": "2026-03-02", "lesions": _lesions()}).status_code
        == 200
    )
    body = {
        "rules": "recist1.1",
        "target": "best_overall_response",
        "value": "VGPR",
        "reason": "central read",
    }
    with nothing_written(api):
        detail = refused(api.post("inv1", f"{url}/tumour-response/overrides", body), 422, field="value")[
            "detail"
        ]
    assert "PR" in detail
    irecist = {**body, "rules": "irecist", "value": "PR"}
    with nothing_written(api):
        refused(api.post("inv1", f"{url}/tumour-response/overrides", irecist), 422, field="value")


def test_a_wrongly_cased_unit_is_refused(api: Api, ivo_subject: int) -> None:
    lab = {"test": "hemoglobin", "value": 120, "unit": "G/L", "collected_date": "2026-03-20"}
    with nothing_written(api):
        refused(
            api.post("inv1", f"/api/trials/{IVO}/subjects/{ivo_subject}/labs", {"results": [lab]}),
            422,
            field="results[0].unit",
        )


def test_a_lab_after_the_death_is_refused(api: Api, ivo_subject: int) -> None:
    assert _follow_up(api, ivo_subject, death_date="2026-06-01").status_code == 200
    lab = {"test": "alt", "value": 30, "unit": "U/L", "uln": 40, "collected_date": "2026-06-05"}
    with nothing_written(api):
        refused(
            api.post("inv1", f"/api/trials/{IVO}/subjects/{ivo_subject}/labs", {"results": [lab]}),
            422,
            field="results[0].collected_date",
        )


def test_stored_rows_breaking_the_rules_are_found_by_data_check(api: Api, ivo_subject: int) -> None:
    """Rows written before the rules existed (here straight through the ORM) are reported, not altered."""
    from trialdesk.services.clinical_dates import find_violations

    registry = api.client.app.state.registry  # type: ignore[attr-defined]

    def plant(session: Any) -> None:
        session.execute(
            update(Subject).where(Subject.id == ivo_subject).values(death_date=dt.date(2026, 4, 1))
        )
        session.add(
            AdverseEvent(
                subject_id=ivo_subject,
                term="Fatigue",
                grade=1,
                onset_date=dt.date(2026, 5, 1),
                attributions={},
                created_at=dt.datetime.now(dt.UTC),
            )
        )

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap") as session:
        assert find_violations(session, registry.get(IVO)) == []
    _orm(api, plant)
    with unit_of_work(engine, "bootstrap") as session:
        found = find_violations(session, registry.get(IVO))
        count = session.scalar(select(func.count(AdverseEvent.id)))
    assert [(v.subject, v.field) for v in found] == [("IVO-DATE-1", "death_date")]
    assert "adverse event" in found[0].reason and count == 1


def test_a_status_change_carries_its_clinical_date(api: Api, ivo_subject: int) -> None:
    """Withdrawal is dated by its clinical date (CONSORT at a cut-off), which must be a clinical date."""
    url = f"/api/trials/{IVO}/subjects/{ivo_subject}/status"
    with nothing_written(api):
        refused(
            api.post(
                "inv1", url, {"status": "withdrawn", "reason": "consent withdrawn", "date": "2099-01-01"}
            ),
            422,
            field="date",
        )
        refused(
            api.post(
                "inv1", url, {"status": "withdrawn", "reason": "consent withdrawn", "date": "2026-01-01"}
            ),
            422,
            field="date",
        )
    done = api.post("inv1", url, {"status": "withdrawn", "reason": "consent withdrawn", "date": "2026-05-02"})
    assert done.status_code == 200, done.text
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "bootstrap") as session:
        subject = session.get(Subject, ivo_subject)
        assert subject is not None and subject.status_date == dt.date(2026, 5, 2)
