"""Tumour-assessment capture through the API: computed responses stored, recomputed, audited, and
overrides kept beside the computed value (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api_helpers import Api

IVO = "ivo-shfrt-2l"
LESIONS = [
    {"id": "T1", "site": "liver", "nodal": False, "role": "target", "diameter_mm": 40},
    {"id": "T2", "site": "lung", "nodal": False, "role": "target", "diameter_mm": 30},
    {
        "id": "N1",
        "site": "lymph node",
        "nodal": True,
        "regional_node": True,
        "station": "paraesophageal",
        "role": "target",
        "diameter_mm": 20,
    },
    {"id": "NT1", "site": "bone", "nodal": False, "role": "non_target", "diameter_mm": None},
]


def _base(subject_id: int) -> str:
    return f"/api/trials/{IVO}/subjects/{subject_id}"


def _visit(
    api: Api, subject_id: int, visit: str, date: str, sizes: tuple[float, float, float], **extra: Any
) -> Any:
    body = {
        "date": date,
        "measurements": dict(zip(("T1", "T2", "N1"), sizes, strict=True)),
        "non_target": {"NT1": "present"},
        **extra,
    }
    return api.put("inv1", f"{_base(subject_id)}/tumour-assessments/{visit}", body)


def test_responses_are_computed_stored_recomputed_and_audited(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-T01")
    baseline = api.put(
        "coord1", f"{_base(subject_id)}/tumour-baseline", {"date": "2026-04-20", "lesions": LESIONS}
    )
    assert baseline.status_code == 200, baseline.text
    first = _visit(api, subject_id, "C3", "2026-06-01", (25, 20, 15))  # 90 -> 60 mm: -33 %
    assert first.status_code == 200, first.text
    assert first.json()["recist1.1"]["time_points"][0]["overall"] == "PR"
    assert first.json()["recist1.1"]["best_overall_response"] != "PR"  # not yet confirmed
    confirmed = _visit(api, subject_id, "C5", "2026-07-13", (24, 19, 14)).json()
    assert confirmed["recist1.1"]["best_overall_response"] == "PR"
    assert set(confirmed) == {"recist1.1", "irecist"}  # the protocol asks for iRECIST too
    no_reason = _visit(api, subject_id, "C5", "2026-07-13", (40, 30, 20))
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    corrected = _visit(api, subject_id, "C5", "2026-07-13", (40, 30, 20), reason="transcription error")
    assert corrected.status_code == 200
    assert corrected.json()["recist1.1"]["best_overall_response"] != "PR"
    audit = api.get("monitor", "/api/audit", params={"subject_id": subject_id}).json()["items"]
    changed = {(r["table"], r["field"]) for r in audit if r["action"] == "update"}
    assert ("tumour_assessments", "measurements") in changed
    assert ("response_evaluations", "best_overall_response") in changed


def test_override_is_shown_beside_the_computed_value(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-T02")
    api.put("coord1", f"{_base(subject_id)}/tumour-baseline", {"date": "2026-04-20", "lesions": LESIONS})
    _visit(api, subject_id, "C3", "2026-06-01", (38, 29, 19))
    body = {"target": "time_point:2026-06-01", "value": "PD", "reason": "clinical progression in bone"}
    assert api.post("coord1", f"{_base(subject_id)}/tumour-response/overrides", body).status_code == 403
    made = api.post("inv1", f"{_base(subject_id)}/tumour-response/overrides", body)
    assert made.status_code == 201 and made.json()["computed_value"] == "SD"
    view = api.get("inv1", f"{_base(subject_id)}/tumour-response").json()["responses"]["recist1.1"]
    assert view["computed"]["time_points"][0]["overall"] == "SD"
    assert view["overrides"][0]["override_value"] == "PD" and view["overrides"][0]["computed_value"] == "SD"


@pytest.mark.parametrize(
    ("lesions", "field_start"),
    [
        ([{**LESIONS[0], "diameter_mm": 8}], "baseline.lesions[0]"),  # non-measurable target
        (
            [
                {"id": f"L{i}", "site": f"organ{i}", "nodal": False, "role": "target", "diameter_mm": 20}
                for i in range(6)
            ],
            "baseline.lesions",
        ),
        (
            [
                {"id": f"L{i}", "site": "liver", "nodal": False, "role": "target", "diameter_mm": 20}
                for i in range(3)
            ],
            "baseline.lesions",
        ),
    ],
)
def test_baseline_rule_violations_are_422_naming_the_field(
    api: Api, lesions: list[dict[str, Any]], field_start: str
) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-T03")
    response = api.put(
        "coord1", f"{_base(subject_id)}/tumour-baseline", {"date": "2026-04-20", "lesions": lesions}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith(field_start)


def test_assessment_errors_are_422_and_nothing_is_written(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-T04")
    assert _visit(api, subject_id, "C3", "2026-06-01", (1, 1, 1)).status_code == 409  # no baseline yet
    api.put("coord1", f"{_base(subject_id)}/tumour-baseline", {"date": "2026-04-20", "lesions": LESIONS})
    before = _visit(api, subject_id, "C0", "2026-04-01", (40, 30, 20))
    assert before.status_code == 422 and before.json()["field"].startswith("assessments[0]")
    unknown = api.put(
        "inv1",
        f"{_base(subject_id)}/tumour-assessments/C3",
        {
            "date": "2026-06-01",
            "measurements": {"T1": 10, "T2": 10, "N1": 10, "T9": 5},
            "non_target": {"NT1": "present"},
        },
    )
    assert unknown.status_code == 422 and "T9" in unknown.json()["detail"]
    view = api.get("inv1", f"{_base(subject_id)}/tumour-response").json()["responses"]["recist1.1"]
    assert view["computed"]["time_points"] == []


def test_other_sites_subject_assessments_are_404(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-T05")
    assert api.get("monitor", f"{_base(subject_id)}/tumour-response").status_code == 200
    response = api.put(
        "coord2", f"{_base(subject_id)}/tumour-baseline", {"date": "2026-04-20", "lesions": LESIONS}
    )
    assert response.status_code == 404
