"""The safety reviewer's and the report pages over HTTP: the run-in gate signed through the page (the
same service and refusals as the API), alerts acknowledged with a note, the safety and trial reports
as page previews and PDF downloads, and the roles refused (the browser tests drive the same pages)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.integration.api_helpers import PASSWORD, Api, build_api, followed_run_in
from tests.integration.web_helpers import csrf_token as _csrf

GATE = "/trials/scr-escc-01/gate"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    followed_run_in(built)
    return built


def browser_for(api: Api, username: str) -> TestClient:
    """A signed-in browser session of ``username`` (its own cookie jar)."""
    client = TestClient(api.client.app)
    token = _csrf(client.get("/login").text)
    data = {"username": username, "password": PASSWORD, "next": "/", "csrf_token": token}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return client


def _evidence_hash(html: str) -> str:
    match = re.search(r'name="evidence_sha256" value="([0-9a-f]{64})"', html)
    assert match, "the signature form does not quote the evidence hash"
    return match.group(1)


def test_the_safety_reviewer_closes_the_run_in_and_signs_the_gate_open(api: Api) -> None:
    safety = browser_for(api, "safety")
    page = safety.get(GATE)
    assert page.status_code == 200
    assert "20 of the minimum 20" in page.text and "run-in open" in page.text
    assert "runin-grade5-trae" in page.text and "0.2642" in page.text  # n = 20, k = 2, p = 5 %

    refused = safety.post(f"{GATE}/review", data={"csrf_token": _csrf(page.text), "review_reason": "ok"})
    assert refused.status_code == 422 and "at least 5 characters" in refused.text
    moved = safety.post(
        f"{GATE}/review",
        data={"csrf_token": _csrf(page.text), "review_reason": "run-in complete"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    page = safety.get(GATE)
    assert "run-in under safety review" in page.text

    form = {
        "csrf_token": _csrf(page.text),
        "target": "randomized_open",
        "reason": "no treatment-related death in the run-in",
        "meaning": "I approve opening phase IIb",
        "password": "not my password",
        "evidence_sha256": _evidence_hash(page.text),
    }
    wrong = safety.post(GATE, data=form)
    assert wrong.status_code == 401 and "the password is wrong" in wrong.text
    assert 'id="password-error"' in wrong.text  # beside the password field
    assert "no treatment-related death in the run-in" in wrong.text  # nothing typed is lost

    stale = safety.post(GATE, data={**form, "password": PASSWORD, "evidence_sha256": "0" * 64})
    assert stale.status_code == 409 and "the evidence changed since it was shown" in stale.text
    unchosen = safety.post(GATE, data={**form, "password": PASSWORD, "target": ""})
    assert unchosen.status_code == 422 and 'id="target-error"' in unchosen.text

    signed = safety.post(GATE, data={**form, "password": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    assert api.get("safety", "/api/trials/scr-escc-01").json()["phase_state"] == "randomized_open"
    assert "randomized phase open" in safety.get(GATE).text


def test_a_gate_refusal_names_its_reason(tmp_path: Path) -> None:
    api = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)  # no followed run-in
    safety = browser_for(api, "safety")
    token = _csrf(safety.get(GATE).text)
    safety.post(f"{GATE}/review", data={"csrf_token": token, "review_reason": "early review"})
    page = safety.get(GATE)
    form = {
        "csrf_token": token,
        "target": "randomized_open",
        "reason": "looks safe",
        "meaning": "I approve opening phase IIb",
        "password": PASSWORD,
        "evidence_sha256": _evidence_hash(page.text),
    }
    refused = safety.post(GATE, data=form)
    assert refused.status_code == 409
    assert "cannot be signed open yet: 0 of the minimum 20" in refused.text


def test_the_statistician_reads_the_gate_but_cannot_sign(api: Api) -> None:
    page = browser_for(api, "stat").get(GATE)
    assert page.status_code == 200 and "evidence_sha256" not in page.text
    assert "Only a safety reviewer signs" in page.text


def test_an_alert_is_acknowledged_with_a_note(api: Api) -> None:
    subject = api.enrolled_subject("ivo-shfrt-2l", "ALERT-001")
    assert api.ae("ivo-shfrt-2l", subject, 5, related=True).status_code == 201
    safety = browser_for(api, "safety")
    page = safety.get("/trials/ivo-shfrt-2l/alerts")
    assert page.status_code == 200 and "Grade-5 adverse event" in page.text
    alert_id = api.get("safety", "/api/alerts?protocol_id=ivo-shfrt-2l").json()[0]["id"]
    url = f"/trials/ivo-shfrt-2l/alerts/{alert_id}/acknowledge"
    empty = safety.post(url, data={"csrf_token": _csrf(page.text), "note": "x"})
    assert empty.status_code == 422 and f'id="note-{alert_id}-error"' in empty.text
    done = safety.post(
        url, data={"csrf_token": _csrf(page.text), "note": "DSMB informed"}, follow_redirects=False
    )
    assert done.status_code == 303
    alert = api.get("safety", "/api/alerts?protocol_id=ivo-shfrt-2l").json()[0]
    assert alert["acknowledged_by"] == "safety" and alert["acknowledgement_note"] == "DSMB informed"
    assert "DSMB informed" in safety.get("/trials/ivo-shfrt-2l/alerts?show=all").text
    monitor = browser_for(api, "monitor").get("/trials/ivo-shfrt-2l/alerts?show=all")
    assert monitor.status_code == 200 and "Acknowledge alert" not in monitor.text  # monitors only read


def test_the_reports_preview_and_download(api: Api) -> None:
    stat = browser_for(api, "stat")
    preview = stat.get("/trials/scr-escc-01/report")
    assert preview.status_code == 200
    assert "data:image/png;base64," in preview.text and "Objective response" in preview.text
    pdf = stat.get("/trials/scr-escc-01/report.pdf?cutoff=" + dt.date.today().isoformat())
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert reader.metadata is not None and "trial report" in str(reader.metadata.title)

    safety = browser_for(api, "safety")
    page = safety.get("/trials/scr-escc-01/safety-report")
    assert page.status_code == 200 and "Stopping rules" in page.text
    pdf = safety.get("/trials/scr-escc-01/safety-report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    audit = api.get("monitor", "/api/audit?page_size=1000").json()["items"]
    exports = {(row["user"], row["table"]) for row in audit if row["action"] == "export"}
    assert {("stat", "report"), ("safety", "safety_report")} <= exports  # the page reads are audited


def test_a_wrong_cutoff_is_shown_beside_the_field(api: Api) -> None:
    stat = browser_for(api, "stat")
    wrong = stat.get("/trials/scr-escc-01/safety-report?cutoff=2026-13-01")
    assert (
        wrong.status_code == 422 and 'id="cutoff-error"' in wrong.text and 'value="2026-13-01"' in wrong.text
    )
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    later = stat.get(f"/trials/scr-escc-01/report?cutoff={future}")
    assert later.status_code == 422 and "is in the future" in later.text
    # the same refusals on a Chinese page: the words translated, the dates exactly as typed
    stat.cookies.set("lang", "zh_CN")
    later = stat.get(f"/trials/scr-escc-01/report?cutoff={future}")
    assert later.status_code == 422 and f"数据截止日期 {future} 是将来的日期" in later.text
    assert "is in the future" not in later.text
    wrong = stat.get("/trials/scr-escc-01/safety-report?cutoff=2026-13-01")
    assert wrong.status_code == 422 and 'id="cutoff-error"' in wrong.text


@pytest.mark.parametrize(
    "path",
    [
        GATE,
        "/trials/scr-escc-01/alerts",
        "/trials/scr-escc-01/safety-report",
        "/trials/scr-escc-01/report",
        "/trials/scr-escc-01/report.pdf",
        "/trials/scr-escc-01/safety-report.pdf",
    ],
)
def test_coordinators_are_refused(api: Api, path: str) -> None:
    page = browser_for(api, "coord1").get(path)
    assert page.status_code == 403 and "Not allowed" in page.text


def test_an_unknown_trial_is_a_404_page(api: Api) -> None:
    page = browser_for(api, "safety").get("/trials/no-such-trial/gate")
    assert page.status_code == 404 and "<html" in page.text


def test_a_single_arm_trial_has_no_gate_to_sign(api: Api) -> None:
    safety = browser_for(api, "safety")
    page = safety.get("/trials/ivo-shfrt-2l/gate")
    assert page.status_code == 200 and "This trial has no phase gate" in page.text
    assert 'name="password"' not in page.text
    assert safety.get("/trials/ivo-shfrt-2l/report").status_code == 200
