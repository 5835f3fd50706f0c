"""Data queries API (issue 14): the monitor opens a query on a form value, the coordinator corrects the
value through the forms API with a reason and answers, the monitor closes; re-open and cancel; every
move audited; site isolation (404), role refusals (403), transition refusals naming the rule (409) and
bad targets naming the field (422); aging and counts per site and form. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.integration.api_helpers import Api
from tests.integration.test_api_forms import DEMOGRAPHICS
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, DataQuery
from trialdesk.services import queries
from trialdesk.services.actors import SYSTEM_ACTOR

IVO = "ivo-shfrt-2l"
SCR = "scr-escc-01"


def _form_url(protocol_id: str, subject_id: int, form_id: str = "demographics") -> str:
    return f"/api/trials/{protocol_id}/subjects/{subject_id}/forms/{form_id}?visit=SCR&repeat=1"


def _queries(protocol_id: str) -> str:
    return f"/api/trials/{protocol_id}/queries"


def _subject_with_demographics(api: Api) -> tuple[int, int]:
    """An enrolled IVO subject with demographics saved at screening: (subject id, record id)."""
    subject_id = api.enrolled_subject(IVO, "IVO-Q-1")
    saved = api.put("coord1", _form_url(IVO, subject_id), {"values": DEMOGRAPHICS})
    assert saved.status_code == 200, saved.text
    return subject_id, saved.json()["id"]


def _open(api: Api, record_id: int, field: str = "weight", user: str = "monitor", **kw: Any) -> Any:
    body = {"target_table": "form_records", "target_id": str(record_id), "field": field, "text": "Weight?"}
    return api.post(user, _queries(IVO), {**body, **kw})


def _audit(api: Api, table: str) -> list[Any]:
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        query = (
            select(
                AuditRecord.username,
                AuditRecord.action,
                AuditRecord.field,
                AuditRecord.new_value,
                AuditRecord.reason,
            )
            .where(AuditRecord.table_name == table)
            .order_by(AuditRecord.seq)
        )
        return list(connection.execute(query).all())


def test_monitor_opens_site_answers_with_a_data_change_monitor_closes(api: Api) -> None:
    subject_id, record_id = _subject_with_demographics(api)
    opened = _open(api, record_id)
    assert opened.status_code == 201, opened.text
    query = opened.json()
    # the server derived the target value, subject, form and visit; the opener is the signed-in monitor
    assert query["target_table"] == "form_values" and query["field"] == "weight"
    assert (query["subject_id"], query["form_id"], query["visit_id"]) == (subject_id, "demographics", "SCR")
    assert (query["status"], query["opened_by"], query["origin"], query["days_open"]) == (
        "open",
        "monitor",
        "manual",
        0,
    )
    url = f"{_queries(IVO)}/{query['id']}"
    # saying the data were changed when they were not is refused, naming the field
    claimed = api.post("coord1", f"{url}/answer", {"text": "corrected", "data_changed": True})
    assert claimed.status_code == 422 and claimed.json()["field"] == "data_changed"
    # the coordinator corrects the value through the forms API (a reason is needed), then answers
    changed = {**DEMOGRAPHICS, "weight": 66}
    assert api.put("coord1", _form_url(IVO, subject_id), {"values": changed}).status_code == 422
    fixed = api.put(
        "coord1", _form_url(IVO, subject_id), {"values": changed, "reason": "transcription error"}
    )
    assert fixed.status_code == 200, fixed.text
    answered = api.post(
        "coord1", f"{url}/answer", {"text": "Corrected from the source", "data_changed": True}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    closed = api.post("monitor", f"{url}/close", {"text": "Verified against the source"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_by"] == "monitor"
    thread = api.get("coord1", url).json()
    assert [(m["kind"], m["author"]) for m in thread["messages"]] == [
        ("question", "monitor"),
        ("answer_changed", "coord1"),
        ("close", "monitor"),
    ]
    # every transition is in the audit trail with the move's text as the reason
    status_changes = [r for r in _audit(api, "data_queries") if r.field == "status"]
    assert [(r.username, r.new_value) for r in status_changes] == [
        ("coord1", "answered"),
        ("monitor", "closed"),
    ]
    assert status_changes[0].reason == "query answer: Corrected from the source"
    assert len([r for r in _audit(api, "query_messages") if r.action == "insert"]) == 3
    # answering a closed query is refused naming the rule; nothing was written
    again = api.post("coord1", f"{url}/answer", {"text": "more"})
    assert again.status_code == 409 and again.json()["rule"] == "answer_only_open_query"
    assert len(api.get("monitor", url).json()["messages"]) == 3


def test_reopen_and_cancel(api: Api) -> None:
    _, record_id = _subject_with_demographics(api)
    query_id = _open(api, record_id, user="dm").json()["id"]
    url = f"{_queries(IVO)}/{query_id}"
    assert api.post("coord1", f"{url}/answer", {"text": "value is right"}).json()["status"] == "answered"
    reopened = api.post("dm", f"{url}/reopen", {"text": "Source says 66 kg"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert (
        api.post("dm", f"{url}/reopen", {"text": "x"}).json()["rule"]
        == "reopen_only_answered_or_closed_query"
    )
    assert api.post("monitor", f"{url}/close", {"text": "x"}).json()["rule"] == "close_only_answered_query"
    assert api.post("dm", f"{url}/cancel", {"text": "  "}).json()["field"] == "reason"
    cancelled = api.post("dm", f"{url}/cancel", {"text": "raised on the wrong visit"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    final = api.post("dm", f"{url}/reopen", {"text": "again"})
    assert final.status_code == 409 and final.json()["rule"] == "reopen_only_answered_or_closed_query"
    kinds = [m["kind"] for m in api.get("dm", url).json()["messages"]]
    assert kinds == ["question", "answer", "reopen", "cancel"]
    # a closed query may be re-opened
    other = _open(api, record_id, field="height").json()["id"]
    api.post("coord1", f"{_queries(IVO)}/{other}/answer", {"text": "ok"})
    api.post("monitor", f"{_queries(IVO)}/{other}/close", {"text": "ok"})
    assert api.post("monitor", f"{_queries(IVO)}/{other}/reopen", {"text": "no"}).json()["status"] == "open"


def test_refusals_name_the_field_rule_or_role(api: Api) -> None:
    _, record_id = _subject_with_demographics(api)
    assert _open(api, record_id, field="nickname").json()["field"] == "field"
    assert _open(api, record_id, user="coord1").status_code == 403
    assert _open(api, record_id, target_table="audit_log").json()["field"] == "target_table"
    assert _open(api, record_id, target_table="adverse_events", target_id="9999").status_code == 404
    assert _open(api, record_id, target_id="abc").json()["field"] == "target_id"
    assert _open(api, record_id, target_id="99999999999999").status_code == 404
    assert _open(api, record_id, text="").json()["field"] == "text"
    long = _open(api, record_id, text="x" * 3000)
    assert long.status_code == 422 and long.json()["field"] == "text"
    # the row must belong to a subject of this trial
    scr_subject = api.screen(SCR, "SCR-Q-X").json()["id"]
    other_trial = api.post(
        "monitor", _queries(IVO), {"target_table": "subjects", "target_id": str(scr_subject), "text": "?"}
    )
    assert other_trial.status_code == 404 and other_trial.json()["field"] == "target_id"
    unknown_column = api.post(
        "monitor",
        _queries(SCR),
        {"target_table": "subjects", "target_id": str(scr_subject), "field": "colour", "text": "?"},
    )
    assert unknown_column.status_code == 422 and unknown_column.json()["field"] == "field"
    query_id = _open(api, record_id).json()["id"]
    url = f"{_queries(IVO)}/{query_id}"
    assert api.post("monitor", f"{url}/answer", {"text": "x"}).status_code == 403
    assert api.post("dm", f"{url}/answer", {"text": "x"}).status_code == 403
    assert api.post("coord1", f"{url}/close", {"text": "x"}).status_code == 403
    assert api.post("coord1", f"{url}/answer", {"text": ""}).json()["field"] == "text"
    assert api.get("monitor", f"{_queries(IVO)}?status=bogus").status_code == 422
    assert api.get("monitor", f"{_queries(IVO)}/999999").status_code == 404
    assert api.get("monitor", f"{_queries(IVO)}/99999999999999").status_code == 404  # beyond an INTEGER id
    assert api.get("monitor", f"{_queries(IVO)}?subject=99999999999999").status_code == 422


def test_site_staff_see_only_their_sites_queries(api: Api) -> None:
    first = api.screen(SCR, "SCR-Q-1", "coord1", "S01").json()["id"]
    second = api.screen(SCR, "SCR-Q-2", "coord2", "S02").json()["id"]
    opened = [
        api.post(
            "dm",
            _queries(SCR),
            {"target_table": "subjects", "target_id": str(s), "field": "screening_date", "text": "Date?"},
        )
        for s in (first, second)
    ]
    assert [o.status_code for o in opened] == [201, 201]
    s1_query, s2_query = (o.json()["id"] for o in opened)
    assert [q["id"] for q in api.get("coord1", _queries(SCR)).json()] == [s1_query]
    assert [q["id"] for q in api.get("inv2", _queries(SCR)).json()] == [s2_query]
    assert {q["id"] for q in api.get("dm", _queries(SCR)).json()} == {s1_query, s2_query}
    assert api.get("coord1", f"{_queries(SCR)}/{s2_query}").status_code == 404
    refused = api.post("coord1", f"{_queries(SCR)}/{s2_query}/answer", {"text": "x"})
    assert refused.status_code == 404
    assert [q["site_code"] for q in api.get("dm", f"{_queries(SCR)}?site=S02").json()] == ["S02"]
    api.post("coord1", f"{_queries(SCR)}/{s1_query}/answer", {"text": "checked"})
    summary = api.get("monitor", f"{_queries(SCR)}/summary").json()
    by_site = {c["key"]: c for c in summary["by_site"]}
    assert by_site["S01"]["counts"]["answered"] == 1 and by_site["S02"]["counts"]["open"] == 1
    assert summary["by_form"][0]["key"] == "subjects" and summary["total"]["counts"]["open"] == 1
    assert summary["total"]["median_days_open"] == 0.0 and summary["total"]["max_days_open"] == 0
    only_mine = api.get("coord2", f"{_queries(SCR)}/summary").json()
    assert [c["key"] for c in only_mine["by_site"]] == ["S02"]
    # the data manager reads every site but never enters clinical values
    assert api.get("dm", f"/api/trials/{SCR}/subjects/{second}").status_code == 200
    assert api.put("dm", _form_url(SCR, second), {"values": DEMOGRAPHICS}).status_code == 403


def test_system_queries_are_opened_once_and_closed_by_the_check(api: Api) -> None:
    _, record_id = _subject_with_demographics(api)
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    protocol = api.client.app.state.registry.get(IVO)  # type: ignore[attr-defined]
    kwargs: dict[str, Any] = {
        "target_table": "form_records",
        "target_id": str(record_id),
        "field_name": "weight",
        "system_key": f"wt-range:form_records:{record_id}",
        "check_id": "wt-range",
        "check_version": "1",
        "text": "Weight outside the expected range",
    }
    with unit_of_work(engine, SYSTEM_ACTOR, reason="edit checks") as session:
        first = queries.open_system_query(session, protocol, **kwargs).id
        assert queries.open_system_query(session, protocol, **kwargs).id == first
    with unit_of_work(engine, SYSTEM_ACTOR, reason="edit checks") as session:
        query = session.get(DataQuery, first)
        assert query is not None and query.origin == "system" and query.opened_by == SYSTEM_ACTOR
        assert queries.close_system_query(session, query, "condition no longer holds")
        assert not queries.close_system_query(session, query, "again")
    with unit_of_work(engine, SYSTEM_ACTOR, reason="edit checks") as session:
        reopened = queries.open_system_query(session, protocol, **kwargs)
        assert reopened.id == first and reopened.status == "open"
    listed = api.get("dm", f"{_queries(IVO)}?origin=system").json()
    assert [(q["id"], q["check_id"], q["status"]) for q in listed] == [(first, "wt-range", "open")]
    kinds = [m["kind"] for m in api.get("dm", f"{_queries(IVO)}/{first}").json()["messages"]]
    assert kinds == ["question", "close", "reopen"]


def test_a_query_on_a_missing_value_is_answered_by_entering_it(api: Api) -> None:
    subject_id, record_id = _subject_with_demographics(api)
    opened = _open(api, record_id, field="stage", text="The stage group is missing.")
    assert opened.status_code == 201, opened.text
    query = opened.json()
    assert (query["target_table"], query["target_id"], query["field"]) == (
        "form_records",
        str(record_id),
        "stage",
    )
    url = f"{_queries(IVO)}/{query['id']}/answer"
    # another value of the record changing is not the questioned one
    other = api.put(
        "coord1",
        _form_url(IVO, subject_id),
        {"values": {**DEMOGRAPHICS, "height": 171}, "reason": "re-measured"},
    )
    assert other.status_code == 200, other.text
    assert (
        api.post("coord1", url, {"text": "entered", "data_changed": True}).json()["field"] == "data_changed"
    )
    entered = api.put(
        "coord1", _form_url(IVO, subject_id), {"values": {**DEMOGRAPHICS, "height": 171, "stage": "IVB"}}
    )
    assert entered.status_code == 200, entered.text
    answered = api.post(
        "coord1", url, {"text": "Stage IVB entered from the staging CT", "data_changed": True}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
