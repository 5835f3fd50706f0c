"""Case report forms API (issue 14): form definitions from the protocol, saving and reading a
subject's record by visit with server-side validation naming the field, reasons for changes, the
audit trail, site isolation and visit rules. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.integration.api_helpers import Api
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, FormRecord, FormValue
from trialdesk.services.trial_data import endpoint_data

IVO = "ivo-shfrt-2l"
SCR = "scr-escc-01"
BASE = f"/api/trials/{IVO}/subjects"

DEMOGRAPHICS: dict[str, Any] = {
    "sex": "male",
    "birth_date": "1958-07-14",
    "ethnicity": "han",
    "height": 170,
    "weight": {"value": 150, "unit": "[lb_av]"},
    "ecog": 1,
    "smoking": "former",
    "pack_years": 30,
    "alcohol": "never",
    "tumour_location": "middle",
    "histology": "escc",
    "diagnosis_date": "2025-06-02",
    "disease_setting": "metastatic",
    "m_category": "M1",
    "pdl1_known": True,
    "pdl1_cps": 5,
}


def _url(subject_id: int, form_id: str, visit: str | None = "SCR", repeat: int = 1) -> str:
    query = f"?visit={visit}&repeat={repeat}" if visit else f"?repeat={repeat}"
    return f"{BASE}/{subject_id}/forms/{form_id}{query}"


def _save(
    api: Api, subject_id: int, form_id: str, values: dict[str, Any], user: str = "coord1", **kw: Any
) -> Any:
    body = {"values": values, **{k: v for k, v in kw.items() if k in ("reason", "status")}}
    url = _url(subject_id, form_id, kw.get("visit", "SCR"), kw.get("repeat", 1))
    return api.put(user, url, body)


def _audit(api: Api, table: str) -> list[Any]:
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(
                    AuditRecord.username,
                    AuditRecord.action,
                    AuditRecord.field,
                    AuditRecord.old_value,
                    AuditRecord.new_value,
                    AuditRecord.reason,
                )
                .where(AuditRecord.table_name == table)
                .order_by(AuditRecord.seq)
            ).all()
        )


def test_form_definitions_come_from_the_protocol(api: Api) -> None:
    forms = api.client.get(f"/api/protocols/{SCR}/forms")
    assert forms.status_code == 200
    by_id = {f["id"]: f for f in forms.json()}
    assert "pg_sga" in by_id and by_id["demographics"]["visits"] == ["screening"]
    weight = next(f for f in by_id["demographics"]["fields"] if f["id"] == "weight")
    assert weight["unit"] == "kg" and weight["range"] == {"min": 25.0, "max": 250.0}
    assert "pg_sga" not in {f["id"] for f in api.client.get(f"/api/protocols/{IVO}/forms").json()}
    assert api.client.get("/api/protocols/nope/forms").status_code == 404


def test_save_and_read_back_with_the_unit_converted_and_the_actor_derived(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-1")
    saved = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "entered_by": None})
    assert saved.status_code == 422 and saved.json()["field"] == "entered_by"  # not a field of the form
    saved = _save(api, subject_id, "demographics", DEMOGRAPHICS)
    assert saved.status_code == 200, saved.text
    record = api.get("monitor", _url(subject_id, "demographics")).json()
    assert record["entered_by"] == "coord1" and record["status"] == "complete"
    assert record["values"]["weight"] == {"value": 68.0388555, "unit": "kg"}  # 150 lb x 0.45359237
    assert record["values"]["birth_date"]["value"] == "1958-07-14"
    assert record["values"]["pdl1_known"]["value"] is True
    listing = api.get("coord1", f"{BASE}/{subject_id}/forms").json()
    assert [(r["form_id"], r["visit_id"], r["repeat"]) for r in listing] == [("demographics", "SCR", 1)]
    # another site (coord2 has no site of this trial) sees nothing; a monitor reads but never writes
    assert api.get("coord2", _url(subject_id, "demographics")).status_code == 404
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS, user="coord2").status_code == 404
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS, user="monitor").status_code == 403
    inserts = _audit(api, "form_values")
    assert len(inserts) == len(DEMOGRAPHICS) and {r.username for r in inserts} == {"coord1"}


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"weight": {"value": 70, "unit": "cm"}}, "weight", "cannot be converted into 'kg'"),
    ({"weight": 700}, "weight", "outside the plausible range"),
    ({"ecog": "one"}, "ecog", "whole number"),
    ({"sex": "other"}, "sex", "not in the code list"),
    ({"diagnosis_date": "2999-01-01"}, "diagnosis_date", "future"),
    ({"pdl1_known": False}, "pdl1_cps", "hidden"),
    ({"histology": None}, "histology", "required"),
    ({"nickname": "Bob"}, "nickname", "not a field"),
]


def test_refusals_name_the_field_and_write_nothing(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-2")
    for changes, field, words in BAD:
        response = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, **changes})
        assert response.status_code == 422, (changes, response.text)
        assert response.json()["field"] == field, (changes, response.json())
        assert words in response.json()["detail"], (changes, response.json())
    assert api.get("coord1", _url(subject_id, "demographics")).status_code == 404
    assert _audit(api, "form_values") == [] and _audit(api, "form_records") == []
    unknown = _save(api, subject_id, "no_such_form", {})
    assert unknown.status_code == 404 and unknown.json()["field"] == "form_id"


def test_changing_or_removing_a_saved_value_needs_a_reason_and_is_audited(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-3")
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS).status_code == 200
    changed = {**DEMOGRAPHICS, "ecog": 2}
    refused = _save(api, subject_id, "demographics", changed)
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    assert api.get("coord1", _url(subject_id, "demographics")).json()["values"]["ecog"]["value"] == 1
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS).status_code == 200  # same values: no change
    ok = _save(api, subject_id, "demographics", changed, reason="transcription error", user="inv1")
    assert ok.status_code == 200, ok.text
    updates = [r for r in _audit(api, "form_values") if r.action == "update"]
    assert [
        (r.field, r.old_value, r.new_value, r.reason, r.username) for r in updates if r.field == "value_json"
    ] == [("value_json", "1", "2", "transcription error", "inv1")]
    without_cps = {k: v for k, v in changed.items() if k != "pdl1_cps"}
    assert _save(api, subject_id, "demographics", without_cps).json()["field"] == "reason"
    removed = _save(api, subject_id, "demographics", without_cps, reason="CPS was not measured")
    assert removed.status_code == 200 and "pdl1_cps" not in removed.json()["values"]
    assert any(
        r.action == "delete" and r.reason == "CPS was not measured" for r in _audit(api, "form_values")
    )


def test_a_draft_may_lack_required_values_and_completing_it_is_audited(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-4")
    draft = _save(api, subject_id, "demographics", {"sex": "female"}, status="incomplete")
    assert draft.status_code == 200 and draft.json()["status"] == "incomplete"
    done = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "sex": "female"})
    assert done.status_code == 200 and done.json()["status"] == "complete"
    status_rows = [r for r in _audit(api, "form_records") if r.field == "status"]
    assert [(r.old_value, r.new_value, r.reason) for r in status_rows] == [
        ("incomplete", "complete", "record completed")
    ]


VITALS = {"measured_on": "2026-03-09", "weight": 61.5, "systolic_bp": 128, "heart_rate": 76}


def test_visit_forms_follow_the_subjects_calendar(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-5")
    before = _save(api, subject_id, "vital_signs", VITALS, visit="C1")
    assert before.status_code == 409 and before.json()["rule"] == "calendar_needs_treatment_start"
    assert _save(api, subject_id, "vital_signs", VITALS, visit="SCR").status_code == 200
    start = {"treatment_start_date": "2026-03-09"}
    assert api.put("inv1", f"{BASE}/{subject_id}/follow-up", start).status_code == 200
    assert _save(api, subject_id, "vital_signs", VITALS, visit="C1").status_code == 200
    for visit, words in (
        ("TA1", "not filled at Tumour assessment 1"),
        ("C999", "not a visit of this subject"),
    ):
        response = _save(api, subject_id, "vital_signs", VITALS, visit=visit)
        assert response.status_code == 422 and response.json()["field"] == "visit_id", response.text
        assert words in response.json()["detail"]
    assert (
        _save(
            api, subject_id, "medical_history", {"condition": "Hypertension", "ongoing": True}, visit="C1"
        ).json()["field"]
        == "visit_id"
    )
    assert (
        _save(api, subject_id, "ecog", {"assessed_on": "2026-03-09", "ecog": 1}, repeat=2).json()["field"]
        == "repeat"
    )


def test_log_forms_repeat_without_a_visit_and_without_gaps(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-6")
    med = {
        "name": "Omeprazole",
        "atc_code": "A02BC01",
        "indication": "Reflux",
        "start_date": "2026-01-05",
        "ongoing": True,
    }
    assert _save(api, subject_id, "concomitant_medications", med, visit="SCR").json()["field"] == "visit_id"
    assert _save(api, subject_id, "concomitant_medications", med, visit=None).status_code == 200
    gap = _save(api, subject_id, "concomitant_medications", med, visit=None, repeat=3)
    assert (
        gap.status_code == 422
        and gap.json()["field"] == "repeat"
        and "next new record is 2" in gap.json()["detail"]
    )
    second = {**med, "name": "Metformin", "atc_code": "A10BA2"}
    bad_atc = _save(api, subject_id, "concomitant_medications", second, visit=None, repeat=2)
    assert bad_atc.status_code == 422 and bad_atc.json()["field"] == "atc_code"
    second["atc_code"] = "A10BA02"
    assert _save(api, subject_id, "concomitant_medications", second, visit=None, repeat=2).status_code == 200
    listing = api.get("coord1", f"{BASE}/{subject_id}/forms").json()
    assert [(r["visit_id"], r["repeat"]) for r in listing] == [(None, 1), (None, 2)]
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        assert (
            connection.execute(select(FormRecord.id)).all()
            and len(connection.execute(select(FormValue.id)).all()) == 10
        )


def test_marked_screening_fields_feed_the_reports_baseline_characteristics(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-7")
    api.enrolled_subject(IVO, "IVO-F-8")  # no forms: counted missing
    assert _save(api, subject_id, "demographics", DEMOGRAPHICS).status_code == 200
    app = api.client.app  # type: ignore[attr-defined]
    with unit_of_work(app.state.engine, None, write=False) as session:
        subjects = {s.subject_id: s for s in endpoint_data(session, app.state.registry.get(IVO))}
    filled = subjects["IVO-F-7"].baseline_characteristics
    assert filled["Weight (kg)"] == 68.0388555 and filled["Height (cm)"] == 170
    assert filled["Location of the primary tumour in the oesophagus"] == "Middle thoracic"
    assert filled["Smoking"] == "Former smoker" and filled["PD-L1 combined positive score (CPS)"] == 5
    empty = subjects["IVO-F-8"].baseline_characteristics
    assert empty["Weight (kg)"] is None and "Sex" in empty  # the screening record's characteristics stay


def test_one_record_per_subject_form_visit_and_repeat_even_for_log_forms(api: Api) -> None:
    """The database itself refuses a second record with the same key (visit NULL included)."""

    subject_id = api.enrolled_subject(IVO, "IVO-F-9")
    now = dt.datetime.now(dt.UTC)
    key = {
        "subject_id": subject_id,
        "form_id": "concomitant_medications",
        "visit_id": None,
        "repeat_index": 1,
    }
    row = {**key, "status": "complete", "entered_by": "coord1", "created_at": now, "updated_at": now}
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "coord1") as session:
        session.add(FormRecord(**row))
    with pytest.raises(IntegrityError), unit_of_work(engine, "coord1") as session:
        session.add(FormRecord(**row))
        session.flush()


def test_no_form_date_after_the_subjects_death(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-F-10")
    dates = {"treatment_start_date": "2026-03-09", "death_date": "2026-04-01"}
    assert api.put("inv1", f"{BASE}/{subject_id}/follow-up", dates).status_code == 200, "follow-up"
    late = _save(api, subject_id, "vital_signs", {**VITALS, "measured_on": "2026-04-10"}, visit="C1")
    assert late.status_code == 422 and late.json()["field"] == "measured_on"
    assert "after the subject's recorded death (2026-04-01)" in late.json()["detail"]
    assert _save(api, subject_id, "vital_signs", VITALS, visit="C1").status_code == 200
