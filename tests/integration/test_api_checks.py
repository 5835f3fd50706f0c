"""Edit checks (issue 14) through the API and the CLI, on SQLite and PostgreSQL: a check opens a system
query; running again never duplicates it; a data change through the forms API (with a reason) that
fixes the value makes the next run close it; a finding that comes back re-opens it; a query a person
closed stays closed until the record changes; only the data manager runs the checks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.integration.api_helpers import PASSWORD, Api
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, DataQuery, QueryMessage
from trialdesk.entrypoints.cli.main import app as cli
from trialdesk.services import admin

IVO = "ivo-shfrt-2l"
BASE = f"/api/trials/{IVO}/subjects"
RUN = f"/api/trials/{IVO}/checks/run"
VITALS = {"measured_on": "2026-03-09", "weight": 61.5, "systolic_bp": 128, "diastolic_bp": 130}
BP_RULE = "vs-diastolic-not-below-systolic"


def _data_manager(api: Api) -> str:
    with unit_of_work(api.client.app.state.engine, "bootstrap") as session:  # type: ignore[attr-defined]
        admin.add_user(session, None, username="dm1", full_name="Dm1", role="data_manager", password=PASSWORD)
    return "dm1"


def _save(api: Api, subject_id: int, form_id: str, values: dict[str, Any], **kw: Any) -> Any:
    body = {"values": values, **({"reason": kw["reason"]} if "reason" in kw else {})}
    return api.put("coord1", f"{BASE}/{subject_id}/forms/{form_id}?visit=SCR&repeat=1", body)


def _rule(summary: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in summary["rules"] if r["rule_id"] == rule_id)


def _queries(api: Api) -> list[DataQuery]:
    with unit_of_work(api.client.app.state.engine, None, write=False) as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(DataQuery).order_by(DataQuery.id)))


def _messages(api: Api, query_id: int) -> list[tuple[str, str, str]]:
    with unit_of_work(api.client.app.state.engine, None, write=False) as session:  # type: ignore[attr-defined]
        rows = session.execute(
            select(QueryMessage.kind, QueryMessage.author, QueryMessage.text)
            .where(QueryMessage.query_id == query_id)
            .order_by(QueryMessage.id)
        )
        return [(r.kind, r.author, r.text) for r in rows]


def test_a_check_opens_a_query_once_and_a_fix_closes_it(api: Api) -> None:
    dm = _data_manager(api)
    subject_id = api.enrolled_subject(IVO, "IVO-CHK-1")
    assert _save(api, subject_id, "vital_signs", VITALS).status_code == 200
    assert api.post("monitor", RUN).status_code == 403  # run_checks: data manager only
    assert api.post("coord1", RUN).status_code == 403
    first = api.post(dm, RUN)
    assert first.status_code == 200, first.text
    assert (
        _rule(first.json(), BP_RULE).items() >= {"findings": 1, "opened": 1, "kept": 0, "closed": 0}.items()
    )
    [query] = [q for q in _queries(api) if q.check_id == BP_RULE]
    assert (query.origin, query.status, query.opened_by, query.subject_id) == (
        "system",
        "open",
        "system",
        subject_id,
    )
    assert query.field == "diastolic_bp" and query.form_id == "vital_signs" and query.visit_id == "SCR"
    assert "130 mmHg" in query.text and "128 mmHg" in query.text and query.check_version == "1"
    assert _messages(api, query.id) == [("question", "system", query.text)]

    again = api.post(dm, RUN).json()
    assert _rule(again, BP_RULE)["opened"] == 0 and _rule(again, BP_RULE)["kept"] == 1
    assert len([q for q in _queries(api) if q.check_id == BP_RULE]) == 1  # never duplicated

    fixed = _save(
        api, subject_id, "vital_signs", {**VITALS, "diastolic_bp": 82}, reason="transcription error"
    )
    assert fixed.status_code == 200, fixed.text
    closing = api.post(dm, RUN).json()
    assert _rule(closing, BP_RULE)["findings"] == 0 and _rule(closing, BP_RULE)["closed"] == 1
    [query] = [q for q in _queries(api) if q.check_id == BP_RULE]
    assert (query.status, query.closed_by) == ("closed", "system")
    assert _messages(api, query.id)[-1] == ("close", "system", "condition no longer holds")

    back = _save(api, subject_id, "vital_signs", VITALS, reason="source re-read: 130 was right")
    assert back.status_code == 200
    reopened = api.post(dm, RUN).json()
    assert _rule(reopened, BP_RULE)["reopened"] == 1
    assert [q.status for q in _queries(api) if q.check_id == BP_RULE] == ["open"]

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        audit = connection.execute(
            select(
                AuditRecord.username, AuditRecord.action, AuditRecord.reason, AuditRecord.table_name
            ).where(AuditRecord.table_name.in_(["data_queries", "query_messages"]))
        ).all()
    writes = [r for r in audit if r.action != "checks_run"]
    assert writes and {(r.username, r.reason) for r in writes} == {("system", "edit checks run")}
    assert {r.username for r in audit if r.action == "checks_run"} == {"dm1"}


def test_a_person_closed_query_stays_closed_until_the_record_changes(api: Api) -> None:
    dm = _data_manager(api)
    subject_id = api.enrolled_subject(IVO, "IVO-CHK-2")
    assert _save(api, subject_id, "vital_signs", VITALS).status_code == 200
    assert _rule(api.post(dm, RUN).json(), BP_RULE)["opened"] == 1
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "monitor", reason="value confirmed against the source") as session:
        query = session.scalars(select(DataQuery).where(DataQuery.check_id == BP_RULE)).one()
        closed_at = dt.datetime.now(dt.UTC)  # after the record was saved
        query.status, query.closed_by, query.closed_at = "closed", "monitor", closed_at
    untouched = api.post(dm, RUN).json()
    assert (
        _rule(untouched, BP_RULE).items() >= {"findings": 1, "opened": 0, "reopened": 0, "closed": 0}.items()
    )
    assert [q.status for q in _queries(api) if q.check_id == BP_RULE] == ["closed"]
    changed = _save(api, subject_id, "vital_signs", {**VITALS, "diastolic_bp": 131}, reason="re-measured")
    assert changed.status_code == 200
    assert _rule(api.post(dm, RUN).json(), BP_RULE)["reopened"] == 1
    assert [q.status for q in _queries(api) if q.check_id == BP_RULE] == ["open"]


DEMOGRAPHICS: dict[str, Any] = {
    "sex": "male",
    "birth_date": "1958-07-14",
    "ethnicity": "han",
    "height": 170,
    "weight": 62,
    "ecog": 1,
    "smoking": "former",
    "alcohol": "never",
    "tumour_location": "middle",
    "histology": "escc_mixed",
    "diagnosis_date": "2025-06-02",
    "disease_setting": "metastatic",
    "m_category": "M1",
    "pdl1_known": False,
}


def test_a_value_that_makes_an_enrolled_subject_ineligible_is_queried(api: Api) -> None:
    dm = _data_manager(api)
    subject_id = api.enrolled_subject(IVO, "IVO-CHK-3")
    saved = _save(api, subject_id, "demographics", DEMOGRAPHICS)
    assert saved.status_code == 200, saved.text
    summary = api.post(dm, RUN).json()
    assert _rule(summary, "enrolled-not-escc")["opened"] == 1
    [query] = [q for q in _queries(api) if q.check_id == "enrolled-not-escc"]
    assert query.field == "histology" and "escc_mixed" in query.text and "inclusion a" in query.text


def test_cli_runs_the_checks_and_a_second_run_keeps_the_queries(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-CHK-4")
    assert _save(api, subject_id, "vital_signs", VITALS).status_code == 200
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    runner = CliRunner()
    first = runner.invoke(cli, ["checks", "run", IVO, "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["records"] == 1 and summary["opened"] == 1 and _rule(summary, BP_RULE)["opened"] == 1
    second = json.loads(runner.invoke(cli, ["checks", "run", IVO, "--json"]).stdout)
    assert second["opened"] == 0 and second["kept"] == 1
    table = runner.invoke(cli, ["checks", "run", IVO])
    assert table.exit_code == 0 and "Edit checks of" in table.stdout and "records/s" in table.stdout
    unknown = runner.invoke(cli, ["checks", "run", "nope"])
    assert unknown.exit_code != 0
