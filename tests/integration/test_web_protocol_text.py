"""The protocol's own texts on Chinese pages: criteria, the investigator's questions, titles, phase names,
stopping rules, from the protocol's ``translations``; English pages unchanged; what the server stores
(the evaluation, the screen-failure reason) stays the protocol's English."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import Api, build_api
from tests.integration.web_helpers import csrf_token, signed_in


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)


def in_chinese(client: TestClient) -> TestClient:
    client.cookies.set("lang", "zh_CN")
    return client


def test_the_screening_form_log_and_verdict_read_the_criteria_in_chinese(api: Api) -> None:
    english = signed_in(api, "coord1").get("/trials/scr-escc-01/screening/new").text
    assert "Age &gt;= 18" in english and "年龄" not in english
    client = in_chinese(signed_in(api, "coord1"))
    form = client.get("/trials/scr-escc-01/screening/new").text
    assert "年龄 ≥ 18岁" in form and "经病理确诊的食管鳞状细胞癌" in form
    assert (
        "Age &gt;= 18" not in form and "Esophageal squamous cell carcinoma confirmed by pathology" not in form
    )
    assert "SCR-ESCC-01，LDRT + CFRT + 一线免疫化疗（IIa/IIb期）" in form  # the short title
    assert "胸膜转移" in form and "Pleural metastasis" not in form  # the vocabulary's findings
    assert "宫颈原位癌" in form and "Cervical carcinoma in situ" not in form  # and malignancy types
    assert "Pleural metastasis" in english and 'name="finding.pleural_metastasis"' in form  # same codes
    token = csrf_token(form)
    fields = {"screening_number": "ZH-1", "site_code": "S01", "screening_date": "2026-04-15"}
    preview = client.post(
        "/trials/scr-escc-01/screening/preview",
        data={**fields, "birth_date": "2015-01-01"},  # a child: inclusion 1 not met
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert preview.status_code == 200 and "年龄 ≥ 18岁" in preview.text and "Age &gt;= 18" not in preview.text
    assert "未记录：胸膜转移, 恶性胸腔积液, 心包积液" in preview.text  # the evidence names findings by label
    answer = client.post(
        "/trials/scr-escc-01/screening/new",
        data={**fields, "birth_date": "2015-01-01", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    log = client.get("/trials/scr-escc-01/screening-log").text
    assert "年龄 ≥ 18岁" in log and "inc-1-age" in log
    # stored as the protocol words it, whatever the language of the page that screened the patient
    subject = api.get("coord1", "/api/trials/scr-escc-01/subjects").json()[0]
    assert subject["status"] == "screen_failed" and "inc-1-age" in subject["status_reason"]
    assert "年龄" not in subject["status_reason"]


def test_the_evidence_names_findings_by_their_labels_in_english_too(api: Api) -> None:
    client = signed_in(api, "coord1")
    token = csrf_token(client.get("/trials/scr-escc-01/screening/new").text)
    fields = {"screening_number": "EN-1", "site_code": "S01", "screening_date": "2026-04-15"}
    preview = client.post(
        "/trials/scr-escc-01/screening/preview",
        data={**fields, "finding.pleural_metastasis": "absent"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert "not recorded: Malignant pleural effusion, Pericardial effusion" in preview.text
    assert "not recorded: malignant_pleural_effusion" not in preview.text


def test_the_investigator_reads_the_attestation_questions_in_chinese(api: Api) -> None:
    subject_id = api.screen("scr-escc-01", "ZH-2").json()["id"]
    url = f"/trials/scr-escc-01/subjects/{subject_id}/eligibility"
    english = signed_in(api, "inv1").get(url).text
    assert "Does the investigator assess the patient as potentially curable with surgery?" in english
    page = in_chinese(signed_in(api, "inv1")).get(url).text
    assert "研究者是否评估患者有可能通过手术治愈？" in page
    assert "经研究者评估有可能通过手术治愈" in page  # the criterion itself
    assert "potentially curable with surgery" not in page


def test_home_and_gate_pages_show_titles_phases_and_stopping_rules_in_chinese(api: Api) -> None:
    home = in_chinese(signed_in(api, "safety")).get("/").text
    assert "依沃西单抗 + SHFRT，二线食管鳞癌（II期）" in home
    assert "IIa期安全导入期（先导研究）" in home and "Phase IIa safety run-in" not in home
    gate = in_chinese(signed_in(api, "safety")).get("/trials/scr-escc-01/gate").text
    assert "当导入期患者中有2例或以上发生治疗相关死亡" in gate
    assert "Terminate the study, and never open phase IIb" not in gate
    english = signed_in(api, "safety").get("/trials/scr-escc-01/gate").text
    assert "Terminate the study, and never open phase IIb" in english


def test_the_randomization_step_names_the_stratification_factor_in_chinese(api: Api) -> None:
    subject_id = api.enrolled_subject("scr-escc-01", "ZH-R-1")
    url = f"/trials/scr-escc-01/subjects/{subject_id}/randomize"
    assert "ECOG performance status" in signed_in(api, "coord1").get(url).text
    page = in_chinese(signed_in(api, "coord1")).get(url).text
    assert "ECOG体能状态" in page and "ECOG performance status" not in page
