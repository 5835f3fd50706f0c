"""Treatment and follow-up dates through the API: validated, audited, corrections need a reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api_helpers import Api

IVO = "ivo-shfrt-2l"


def _put(api: Api, subject_id: int, body: dict[str, Any], user: str = "coord1") -> Any:
    return api.put(user, f"/api/trials/{IVO}/subjects/{subject_id}/follow-up", body)


def test_follow_up_dates_are_stored_and_corrections_audited(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F01")
    first = _put(
        api, subject_id, {"treatment_start_date": "2026-04-22", "last_known_alive_date": "2026-08-01"}
    )
    assert first.status_code == 200, first.text
    assert first.json()["treatment_start_date"] == "2026-04-22"
    alive = _put(api, subject_id, {"new_anticancer_therapy_date": "2026-07-20"})
    assert alive.status_code == 200 and alive.json()["treatment_start_date"] == "2026-04-22"
    no_reason = _put(api, subject_id, {"treatment_start_date": "2026-04-23"})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    corrected = _put(api, subject_id, {"treatment_start_date": "2026-04-23", "reason": "date misread"})
    assert corrected.status_code == 200
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    assert any(r["field"] == "treatment_start_date" and r["old_value"] == "2026-04-22" for r in audit)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "treatment_start_date": "2026-04-22",
                "treatment_end_date": "2026-04-01",
                "discontinuation_reason": "x",
            },
            "treatment_end_date",
        ),
        (
            {"treatment_start_date": "2026-04-22", "treatment_end_date": "2026-05-01"},
            "treatment_end_date",
        ),
        (
            {"treatment_start_date": "2026-04-22", "discontinuation_reason": "toxicity"},
            "discontinuation_reason",
        ),
        ({"death_date": "2026-05-01", "last_known_alive_date": "2026-06-01"}, "last_known_alive_date"),
        ({"death_date": "2999-01-01"}, "death_date"),
        ({"treatment_start_date": "2020-01-01"}, "treatment_start_date"),
    ],
)
def test_implausible_dates_are_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F02")
    response = _put(api, subject_id, body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_follow_up_needs_an_enrolled_subject(api: Api) -> None:
    subject_id = api.screen(IVO, "IVO-F03").json()["id"]
    assert _put(api, subject_id, {"last_known_alive_date": "2026-05-01"}).status_code == 409


def test_malformed_request_body_is_422_naming_the_field(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F04")
    response = _put(api, subject_id, {"death_date": "not a date"})
    assert response.status_code == 422
    assert response.json()["field"] == "death_date" and response.json()["rule"] == "invalid_input"


def test_the_treatment_end_is_recorded_only_as_the_coded_end_of_treatment(api: Api) -> None:
    """A treatment end entered with the follow-up dates had no coded reason and left the subject on
    treatment: it is refused, naming the field; the end of treatment records it (date, CDISC reason,
    status), and the follow-up form may then send the recorded values back unchanged."""
    subject_id = api.enrolled_subject(IVO, "IVO-F03")
    assert _put(api, subject_id, {"treatment_start_date": "2026-04-22"}).status_code == 200
    bare = _put(
        api, subject_id, {"treatment_end_date": "2026-07-01", "discontinuation_reason": "progression"}
    )
    assert bare.status_code == 422 and bare.json()["field"] == "treatment_end_date"
    assert "end of treatment" in bare.json()["detail"]
    url = f"/api/trials/{IVO}/subjects/{subject_id}/end-of-treatment"
    eot = api.post(
        "coord1", url, {"date": "2026-07-01", "reason": "progressive_disease", "detail": "PD on CT"}
    )
    assert eot.status_code == 200, eot.text
    assert eot.json()["status"] == "off_treatment"
    same = {
        "treatment_end_date": "2026-07-01",
        "discontinuation_reason": "PD on CT",
        "last_known_alive_date": "2026-08-01",
    }
    resent = _put(api, subject_id, same)
    assert resent.status_code == 200, resent.text
    assert resent.json()["treatment_end_date"] == "2026-07-01"
    moved = _put(api, subject_id, {"treatment_end_date": "2026-07-02", "reason": "typo"})
    assert moved.status_code == 422 and moved.json()["field"] == "treatment_end_date"
