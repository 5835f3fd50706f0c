"""The screening pages at the HTTP level: CSRF, role refusals, another site's 404, screen failures
recorded through the services, live preview fragments, refusals with their reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import EXAMPLES, PASSWORD, Api, build_api, patient
from tests.integration.web_helpers import csrf_token as _csrf


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)


def _browser(api: Api, username: str) -> tuple[TestClient, str]:
    """A second client (own cookies) signed in as ``username``, with its CSRF token."""
    client = TestClient(api.client.app)
    token = _csrf(client.get("/login").text)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return client, _csrf(client.get("/trials/scr-escc-01/screening-log").text)


def _form(number: str, **extra: str) -> dict[str, str]:
    return {"screening_number": number, "site_code": "S01", "screening_date": "2026-04-15", **extra}


def test_forms_without_the_csrf_token_are_refused(api: Api) -> None:
    client, _ = _browser(api, "coord1")
    refused = client.post("/trials/scr-escc-01/screening/new", data=_form("CSRF-1"))
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert api.get("coord1", "/api/trials/scr-escc-01/subjects").json() == []


def test_an_ineligible_patient_is_a_screen_failure_naming_the_criterion(api: Api) -> None:
    client, token = _browser(api, "coord1")
    data = _form("FAIL-1", birth_date="2015-01-01", csrf_token=token)  # a child: inclusion 1
    answer = client.post("/trials/scr-escc-01/screening/new", data=data, follow_redirects=False)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "ineligible" in page.text and "inclusion 1" in page.text
    subject = api.get("coord1", "/api/trials/scr-escc-01/subjects").json()[0]
    assert subject["status"] == "screen_failed" and "inc-1-age" in subject["status_reason"]
    log = client.get("/trials/scr-escc-01/screening-log").text
    assert "inc-1-age" in log


def test_service_errors_are_shown_beside_the_field_with_the_values_kept(api: Api) -> None:
    client, token = _browser(api, "coord1")
    data = _form("ERR-1", csrf_token=token, birth_date="2030-01-01", ecog="x")
    answer = client.post("/trials/scr-escc-01/screening/new", data=data)
    assert answer.status_code == 422
    assert 'id="ecog-error"' in answer.text and 'value="2030-01-01"' in answer.text
    data["ecog"] = "1"
    answer = client.post("/trials/scr-escc-01/screening/new", data=data)
    assert answer.status_code == 422 and 'id="birth_date-error"' in answer.text
    assert "after the screening date" in answer.text


def test_the_live_preview_is_a_fragment_of_statuses(api: Api) -> None:
    client, token = _browser(api, "coord1")
    answer = client.post(
        "/trials/scr-escc-01/screening/preview",
        data=_form("P-1", ecog="2"),
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert answer.status_code == 200 and "<html" not in answer.text
    assert 'id="status-inc-3-ecog" hx-swap-oob="true"' in answer.text and "Not met" in answer.text


def test_roles_and_sites(api: Api) -> None:
    screened = api.screen("scr-escc-01", "SITE-1")
    subject_id = screened.json()["id"]
    other, _ = _browser(api, "coord2")
    for suffix in ("eligibility", "enrol", "randomize"):
        answer = other.get(f"/trials/scr-escc-01/subjects/{subject_id}/{suffix}")
        assert answer.status_code == 404 and "Not found" in answer.text
    monitor, _ = _browser(api, "monitor")
    assert monitor.get("/trials/scr-escc-01/screening/new").status_code == 403
    assert monitor.get(f"/trials/scr-escc-01/subjects/{subject_id}/eligibility").status_code == 200
    coordinator, token = _browser(api, "coord1")
    page = coordinator.get(f"/trials/scr-escc-01/subjects/{subject_id}/eligibility").text
    assert "Record my answer" not in page  # only the site's investigator attests
    refused = coordinator.post(
        f"/trials/scr-escc-01/subjects/{subject_id}/enrol",
        data={"consent_date": "2026-04-13", "password": PASSWORD, "csrf_token": token},
    )
    assert refused.status_code == 403


def test_randomize_is_refused_with_the_reason_while_the_run_in_is_open(api: Api) -> None:
    subject_id = api.enrolled_subject("scr-escc-01", "RUN-1")
    client, token = _browser(api, "coord1")
    confirm = client.get(f"/trials/scr-escc-01/subjects/{subject_id}/randomize").text
    assert "ECOG performance status" in confirm and "S01" in confirm
    refused = client.post(
        f"/trials/scr-escc-01/subjects/{subject_id}/randomize",
        data={"csrf_token": token, "strata.ecog": "0"},  # a level sent by the browser is ignored
    )
    assert refused.status_code == 409 and "randomization is closed" in refused.text


def test_import_prefills_without_screening(api: Api) -> None:
    client, token = _browser(api, "coord1")
    content = json.dumps(patient("scr-escc-01", "IMP-1", keep_attestations=True)).encode()
    answer = client.post(
        "/trials/scr-escc-01/screening/import",
        data={"csrf_token": token},
        files={"record_file": ("p.json", content, "application/json")},
    )
    assert answer.status_code == 200 and 'value="IMP-1"' in answer.text
    assert "Proposed in the imported record" in answer.text
    assert api.get("coord1", "/api/trials/scr-escc-01/subjects").json() == []
    broken = client.post(
        "/trials/scr-escc-01/screening/import",
        data={"csrf_token": token},
        files={"record_file": ("p.json", b'{"resourceType": "Patient"}', "application/json")},
    )
    assert broken.status_code == 422 and 'id="record_file-error"' in broken.text


def test_a_fhir_bundle_prefills_the_form(api: Api) -> None:
    client, token = _browser(api, "coord1")
    bundle = (EXAMPLES / "scr-escc-01-eligible.fhir.json").read_bytes()
    answer = client.post(
        "/trials/scr-escc-01/screening/import",
        data={"csrf_token": token},
        files={"record_file": ("bundle.json", bundle, "application/fhir+json")},
    )
    assert answer.status_code == 200, answer.text
    assert 'value="SCR-0101"' in answer.text and 'value="1958-11-03"' in answer.text
    assert 'name="finding.pleural_metastasis" value="absent" checked' in answer.text


def test_changing_an_answer_needs_a_reason_and_rows_can_be_added(api: Api) -> None:
    subject_id = api.screen("scr-escc-01", "ATT-1").json()["id"]
    client, token = _browser(api, "inv1")
    url = f"/trials/scr-escc-01/subjects/{subject_id}/eligibility"
    first = {
        "csrf_token": token,
        "criterion_id": "inc-5-organ-function",
        "answer.inc-5-organ-function": "yes",
    }
    assert client.post(url, data=first, follow_redirects=False).status_code == 303
    changed = {**first, "answer.inc-5-organ-function": "no"}
    refused = client.post(url, data=changed)
    assert refused.status_code == 422 and 'id="reason-inc-5-organ-function-error"' in refused.text
    assert "needs the reason" in refused.text
    changed["reason.inc-5-organ-function"] = "new echocardiography result"
    assert client.post(url, data=changed, follow_redirects=False).status_code == 303

    coordinator, token = _browser(api, "coord1")
    form = coordinator.post(
        "/trials/scr-escc-01/screening/new",
        data=_form("ROWS-1", csrf_token=token, add_row="prior_therapies"),
    )
    assert form.status_code == 200 and 'name="prior_therapies.1.modality"' in form.text
    assert 'value="ROWS-1"' in form.text


def test_the_live_preview_in_chinese_translates_the_evidence_and_keeps_the_values(api: Api) -> None:
    client, token = _browser(api, "coord1")
    client.cookies.set("lang", "zh_CN")
    answer = client.post(
        "/trials/scr-escc-01/screening/preview",
        data=_form("P-2", ecog="2"),  # no birth date: the age criterion cannot be evaluated yet
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert "出生日期未记录" in answer.text and "birth date not recorded" not in answer.text
    assert "ECOG 2" in answer.text  # the value as entered, beside the Chinese words
    form = client.get("/trials/scr-escc-01/screening/new").text
    assert "入选标准 1" in form and "排除标准 1" in form and ">inclusion 1<" not in form
