"""Screening in a real Chromium: the form generated from the protocol with live criterion status,
import to prefill, ineligible and eligible patients, the screening log, attestation, enrolment with
the e-signature, another site's 404, randomization, the keyboard alone and the Chinese page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET
from tests.browser.screening_flow import ServerApi, patient_file, randomization_flow
from tests.integration.api_helpers import PASSWORD
from tests.support.server import AppServer

NEW = "/trials/scr-escc-01/screening/new"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("patient-files")


def test_screen_an_ineligible_and_an_eligible_patient(open_browser: BrowserFactory, files: Path) -> None:
    browser = open_browser()
    page = browser.page
    browser.sign_in("coord1", PASSWORD)
    browser.goto(NEW)
    expect(page.get_by_role("heading", name="Inclusion criteria")).to_be_visible()
    expect(page.get_by_role("heading", name="Exclusion criteria")).to_be_visible()
    browser.check("screening-new")

    page.get_by_label("Patient file").set_input_files(str(patient_file(files, "scr-escc-01", "WEB-001")))
    page.get_by_role("button", name="Prefill the form").click()
    expect(page.get_by_role("status").first).to_contain_text("filled from the file")
    expect(page.get_by_label("Screening number")).to_have_value("WEB-001")
    ecog = page.locator("#criterion-inc-3-ecog")
    expect(ecog.locator(".criterion-status")).to_contain_text("Met")
    page.get_by_role("spinbutton", name="ECOG performance status").fill("3")
    expect(ecog.locator(".criterion-status")).to_contain_text("Not met")  # live, through htmx
    expect(ecog.locator(".criterion-status")).to_contain_text("ECOG 3, not <= 1")
    expect(page.locator("#verdict")).to_contain_text("ineligible")
    page.get_by_role("button", name="Screen the patient").click()
    expect(page).to_have_url(re.compile(r"/subjects/\d+/eligibility"))
    expect(page.locator("section.verdict")).to_contain_text("ineligible")
    expect(page.locator("section.verdict")).to_contain_text("inclusion 3")
    expect(page.locator("dl.facts")).to_contain_text("screen failed")
    browser.check("eligibility-ineligible")

    browser.goto(NEW)
    page.get_by_label("Patient file").set_input_files(str(patient_file(files, "scr-escc-01", "WEB-002")))
    page.get_by_role("button", name="Prefill the form").click()
    expect(page.locator("#status-exc-2-curable-by-surgery")).to_contain_text(
        "Proposed in the imported record"
    )
    expect(page.locator("#verdict")).to_contain_text("incomplete")  # only the judgement items are open
    page.get_by_role("button", name="Screen the patient").click()
    expect(page.locator("section.verdict")).to_contain_text("incomplete")
    expect(page.locator("#criterion-exc-2-curable-by-surgery")).to_contain_text("a proposal only")

    browser.goto("/trials/scr-escc-01/screening-log")
    failures = page.get_by_role("table", name="Screen failures by criterion")
    expect(failures.get_by_role("row", name=re.compile("inc-3-ecog"))).to_contain_text("1")
    expect(page.get_by_role("table", name="Screened patients")).to_contain_text("WEB-002")
    browser.check("screening-log")


def test_screening_errors_keep_the_typed_values(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    page = browser.page
    browser.sign_in("coord1", PASSWORD)
    browser.goto(NEW)
    page.get_by_label("Screening number").fill("WEB-001")  # taken by the first test
    page.get_by_label("Birth date").fill("1960-02-03")
    page.get_by_role("button", name="Screen the patient").click()
    expect(page.locator(".field-error").first).to_contain_text("not available in this trial")
    expect(page.get_by_label("Birth date")).to_have_value("1960-02-03")

    page.get_by_label("Patient file").set_input_files(
        files={"name": "broken.json", "mimeType": "application/json", "buffer": b"{not json"}
    )
    page.get_by_role("button", name="Prefill the form").click()
    expect(page.locator("#record_file-error")).to_contain_text("not a JSON file")


def test_investigator_attests_and_enrols_with_a_signature(open_browser: BrowserFactory, files: Path) -> None:
    coordinator = open_browser()
    coordinator.sign_in("coord1", PASSWORD)
    page = coordinator.page
    coordinator.goto("/trials/ivo-shfrt-2l/screening/new")
    page.get_by_label("Patient file").set_input_files(str(patient_file(files, "ivo-shfrt-2l", "WEB-IVO-1")))
    page.get_by_role("button", name="Prefill the form").click()
    page.get_by_role("button", name="Screen the patient").click()
    expect(page).to_have_url(re.compile(r"/subjects/\d+/eligibility"))
    eligibility_url = page.url

    browser = open_browser()
    page = browser.page
    browser.sign_in("inv1", PASSWORD)
    page.goto(eligibility_url)
    for criterion_id, answer in (
        ("inc-g-compliance", "yes"),
        ("exc-a-organ-dysfunction", "no"),
        ("exc-e-great-vessel-invasion", "no"),
        ("exc-f-airway-invasion", "no"),
        ("exc-g-shfrt-unsuitable", "yes"),
    ):
        card = page.locator(f"#criterion-{criterion_id}")
        card.get_by_role("radio", name=answer, exact=True).check()
        card.get_by_role("button", name="Record my answer").click()
        expect(page.locator(f"#criterion-{criterion_id} .badge").first).to_have_text("Met")
    expect(page.locator("section.verdict")).to_contain_text("eligible")
    browser.check("eligibility-attested")

    page.get_by_role("link", name="Go to enrolment").click()
    expect(page.locator("blockquote")).to_contain_text(
        "I confirm this patient meets all eligibility criteria"
    )
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Sign and enrol").click()
    expect(page.locator("#password-error")).to_contain_text("the password is wrong")
    expect(page.get_by_label("Informed consent signed on")).not_to_have_value("")
    browser.check("enrol")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign and enrol").click()
    expect(page.locator("p.done")).to_contain_text("Enrolled in phase")

    other_site = open_browser()
    other_site.sign_in("coord2", PASSWORD)
    for suffix in ("eligibility", "enrol", "randomize"):
        response = other_site.page.goto(eligibility_url.replace("eligibility", suffix))
        assert response is not None and response.status == 404
        expect(other_site.page.get_by_role("heading", name="Not found")).to_be_visible()


def test_randomize_refused_during_the_run_in_then_the_arm(
    open_browser: BrowserFactory, web_server: AppServer
) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    randomization_flow(browser, ServerApi(web_server.url))


def test_the_screening_form_with_the_keyboard_alone(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    page = browser.page
    browser.sign_in("coord1", PASSWORD)
    browser.goto("/trials/ivo-shfrt-2l/screening/new")
    page.keyboard.press("Tab")  # skip link
    field = page.get_by_label("Screening number")
    for _ in range(40):
        page.keyboard.press("Tab")
        if field.evaluate("e => e === document.activeElement"):
            break
    page.keyboard.type("WEB-KEY-1")
    histology = page.get_by_role("combobox", name="Histology")
    for _ in range(20):  # site, the date inputs' parts, then the first criterion's field
        page.keyboard.press("Tab")
        if histology.evaluate("e => e === document.activeElement"):
            break
    expect(histology).to_be_focused()
    page.keyboard.type("adenocarcinoma")
    expect(page.locator("#status-inc-a-histology")).to_contain_text("Not met")
    page.keyboard.press("Escape")  # closes the suggestions list
    page.keyboard.press("Enter")  # submits the form
    expect(page).to_have_url(re.compile(r"/subjects/\d+/eligibility"))
    expect(page.locator("section.verdict")).to_contain_text("ineligible")
    expect(page.locator("section.verdict")).to_contain_text("inclusion a")


def test_the_screening_pages_in_chinese(open_browser: BrowserFactory) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    page = browser.page
    browser.sign_in("coord1", PASSWORD)
    browser.goto(NEW)
    expect(page.get_by_role("heading", name="入选标准", exact=True)).to_be_visible()
    expect(
        page.get_by_role("heading", name="入选标准 1 年龄 ≥ 18岁", exact=True)
    ).to_be_visible()  # the criterion's reference and its text, both in Chinese
    expect(page.get_by_label("出生日期")).to_be_visible()
    browser.check("screening-new")
    browser.goto("/trials/scr-escc-01/screening-log")
    expect(page.get_by_role("heading", name=re.compile("筛选日志"))).to_be_visible()
    browser.check("screening-log")
    page.get_by_role("link", name="WEB-001").click()
    browser.check("eligibility-ineligible")
    for suffix in ("enrol", "randomize"):
        page.goto(page.url.rsplit("/", 1)[0] + "/" + suffix)
        browser.check(suffix)
